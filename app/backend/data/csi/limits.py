"""Memory bounds of the CSI readers, decided from a file's headers before any array is read.

A small file can declare a huge array (a 2 MB ``.npz`` of zeros unpacks to 2 GB, a 3 MB
compressed MATLAB file to gigabytes, a 21 MB Intel log of 1x1 packets to 60 M values in
csiread's 3x3 layout). Every reader therefore learns the shape first and refuses a file
whose CSI would hold more than :data:`MAX_CSI_VALUES` values (packets x subcarriers x rx x
tx; :data:`~app.backend.data.csi.framing.MAX_CSI_VALUES`, the bound of every reader) or whose
axes no supported format has (:data:`MAX_SUBCARRIERS`, :data:`MAX_ANTENNAS`):

- ``.npy`` / ``.npz``: the ``.npy`` header of each member (shape and dtype), read without
  its data (:func:`npy_header`, :func:`npz_headers`);
- MATLAB v5 ``.mat``: the dimensions of each variable, read from its tag, inflating at most
  a few hundred bytes of a compressed variable (:func:`mat5_shapes`; ``scipy.io.whosmat``
  inflates the whole variable);
- capture logs (Intel 5300 and the others): the number of records, counted while they are
  validated, times the values csiread allocates for each (:func:`.framing.check_csi_size`).

What :data:`MAX_CSI_VALUES` costs: reading keeps 8 bytes a value (float32 amplitude and
phase) plus, for Intel logs, csiread's 16-byte complex buffer while it converts; ``csi-inspect``
adds its repaired and sanitized copies and works one antenna pair at a time
(:mod:`.summary`), and refuses a recording whose single pair would not fit its budget.
"""

from __future__ import annotations

import math
import struct
import zipfile
import zlib
from typing import BinaryIO

import numpy as np

from app.backend.data.csi.framing import MAX_CSI_VALUES
from app.backend.errors import CsiFormatError

#: Most subcarriers and antennas (per side) of any supported capture format.
MAX_SUBCARRIERS = 4096
MAX_ANTENNAS = 16
#: Most values any other member of a CSI file (timestamps, antenna counts) may declare.
MAX_OTHER_VALUES = MAX_CSI_VALUES


def check_csi_shape(where: str, shape: tuple[int, ...], name: str = "CSI") -> None:
    """Refuse a (P, S, R[, T]) CSI shape past the bounds (CsiFormatError naming ``where``)."""
    values = math.prod(int(v) for v in shape)
    if values > MAX_CSI_VALUES:
        raise CsiFormatError(
            f"{where}: {name} of shape {tuple(shape)} holds {values:,} values, more than the {MAX_CSI_VALUES:,} "
            "read at once (about 0.4 GB); split the capture into shorter files"
        )
    if len(shape) >= 3 and (shape[1] > MAX_SUBCARRIERS or any(v > MAX_ANTENNAS for v in shape[2:4])):
        raise CsiFormatError(
            f"{where}: {name} of shape {tuple(shape)} has more than {MAX_SUBCARRIERS} subcarriers or "
            f"{MAX_ANTENNAS} antennas, which no supported capture has"
        )


def npy_header(f: BinaryIO, where: str) -> tuple[tuple[int, ...], np.dtype]:
    """(shape, dtype) from the header of the ``.npy`` stream ``f`` (its data is not read)."""
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise ValueError(f"unsupported .npy format version {version}")
    except (ValueError, OSError, EOFError, SyntaxError) as exc:
        raise CsiFormatError(f"{where}: malformed NumPy header ({' '.join(str(exc).split())[:120]})") from None
    return tuple(int(v) for v in shape), dtype


def npz_headers(path: str) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """{member name without .npy: (shape, dtype)} of every ``.npy`` member of an ``.npz`` archive."""
    out = {}
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                with zf.open(info) as f:
                    out[info.filename[:-4]] = npy_header(f, f"{path} member {info.filename!r:.60}")
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, EOFError, zlib.error) as exc:
        raise CsiFormatError(f"{path}: broken .npz (zip) archive: {' '.join(str(exc).split())[:120]}") from None
    return out


def check_declared_sizes(where: str, headers: dict[str, tuple[tuple[int, ...], np.dtype]]) -> None:
    """Refuse object arrays and members past the bounds, from their headers."""
    for name, (shape, dtype) in headers.items():
        if dtype.hasobject:
            raise CsiFormatError(f"{where}: array {name!r:.60} holds Python objects (pickled data), which are never loaded")
        if name in ("amplitude", "phase", "csi", ""):
            check_csi_shape(where, shape, repr(name) if name else "CSI")
        elif math.prod(shape) > MAX_OTHER_VALUES:
            raise CsiFormatError(f"{where}: array {name!r:.60} declares {math.prod(shape):,} values; not a CSI file")


# -- MATLAB v5 ---------------------------------------------------------------------------
_MI_INT8, _MI_INT32, _MI_UINT32, _MI_MATRIX, _MI_COMPRESSED = 1, 5, 6, 14, 15
_HEADER_BYTES = 128
_PEEK_BYTES = 4096  # a variable's dims and name lie within its first bytes


def mat5_shapes(path: str) -> dict[str, tuple[int, ...]]:
    """{variable name: dimensions} of a MATLAB v5 file, from each variable's tags only.

    Raises:
        CsiFormatError: the file is not a well-formed v5 file as far as its tags go.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(_HEADER_BYTES)
            if len(head) < _HEADER_BYTES:
                raise ValueError("shorter than the 128-byte header")
            endian = {b"IM": "<", b"MI": ">"}.get(head[126:128])
            if endian is None:
                raise ValueError("no endian indicator")
            shapes: dict[str, tuple[int, ...]] = {}
            while True:
                tag = f.read(8)
                if len(tag) < 8:
                    return shapes
                mdtype, nbytes = struct.unpack(endian + "II", tag)
                if mdtype >> 16:  # small data element: not a variable
                    continue
                if mdtype == _MI_COMPRESSED:
                    body = zlib.decompressobj().decompress(f.read(min(nbytes, 1 << 16)), _PEEK_BYTES)
                    f.seek(max(nbytes - min(nbytes, 1 << 16), 0), 1)
                    if len(body) < 8:
                        raise ValueError("compressed variable too short")
                    mdtype, _ = struct.unpack(endian + "II", body[:8])
                    body = body[8:]
                else:
                    body = f.read(min(nbytes, _PEEK_BYTES))
                    f.seek(nbytes - len(body) + (-nbytes % 8), 1)
                if mdtype == _MI_MATRIX:
                    name, dims = _matrix_name_dims(body, endian)
                    shapes[name] = dims
    except (OSError, ValueError, struct.error, zlib.error) as exc:
        raise CsiFormatError(f"{path}: malformed MATLAB file ({' '.join(str(exc).split())[:120]})") from None


def _subelement(body: bytes, pos: int, endian: str) -> tuple[int, bytes, int]:
    """(type, data, next position) of the sub-element at ``pos`` (small or normal format)."""
    first, second = struct.unpack_from(endian + "II", body, pos)
    if first >> 16:  # small element: type in the low half, size in the high half, data in 4 bytes
        size = first >> 16
        return first & 0xFFFF, body[pos + 4 : pos + 4 + size], pos + 8
    end = pos + 8 + second
    if end > len(body):
        raise ValueError("variable header cut short")
    return first, body[pos + 8 : end], end + (-second % 8)


def _matrix_name_dims(body: bytes, endian: str) -> tuple[str, tuple[int, ...]]:
    mdtype, _, pos = _subelement(body, 0, endian)  # array flags
    if mdtype != _MI_UINT32:
        raise ValueError("variable without array flags")
    mdtype, dims_raw, pos = _subelement(body, pos, endian)
    if mdtype != _MI_INT32 or len(dims_raw) % 4 or not dims_raw:
        raise ValueError("variable without dimensions")
    dims = struct.unpack(endian + f"{len(dims_raw) // 4}i", dims_raw)
    if min(dims) < 0:
        raise ValueError(f"negative dimensions {dims}")
    mdtype, name_raw, _ = _subelement(body, pos, endian)
    if mdtype != _MI_INT8:
        raise ValueError("variable without a name")
    return name_raw.decode("latin-1"), tuple(dims)

"""Read any supported CSI file into a :class:`CsiRecording`; write our own sample format.

The format is sniffed from the file's CONTENT (the extension is only used to word the
error message):

=====================  ===================================  ==========================================
magic / structure      format                               result (P, S, R, T)
=====================  ===================================  ==========================================
``PK\\x03\\x04``         ``.npz``: ours (``amplitude``,        as stored; ``(P, S, R)`` gets ``T = 1``
                       ``phase``, ``timestamps``, ``format``
                       = ``wifi-densepose-csi/1``) or a
                       complex ``csi`` array
``\\x93NUMPY``          ``.npy``: complex (P, S, R[, T])      as stored
``MATLAB 5.0``          MM-Fi ``.mat`` (``CSIamp``,           (3, 114, 10) = (R, S, P) -> (10, 114, 3, 1)
                       ``CSIphase``, float64 (R, S, P))
``MATLAB 7.3``/HDF5     MATLAB v7.3                          rejected: re-save with ``save(..., '-v7')``
0xBB/0xC1 records       Intel 5300 ``.dat``                  (P, 30, 3, 3), see :mod:`.intel5300`
Atheros status records  Atheros CSI Tool ``.dat``            (P, 52 | 108, 3, 3), see :mod:`.atheros`
``CSI_DATA,`` lines     ESP32-CSI-Tool ``.csv``              (P, 48, 1, 1), see :mod:`.esp32`
pcap magic              nexmon_csi ``.pcap``                 (P, 52 | 108 | 234, R, T), see :mod:`.nexmon`
0x20150315 frames       PicoScenes ``.csi``                  (P, S, R, T), see :mod:`.picoscenes`
=====================  ===================================  ==========================================

Safety: NumPy files are always opened with ``allow_pickle=False`` (object arrays are
refused), MATLAB files through ``scipy.io.loadmat`` (data only), capture-tool logs are
fully validated before csiread sees them (files over :data:`MAX_LOG_BYTES` are refused
before they are read; see :mod:`.framing` for the bound on what csiread allocates). NumPy and
MATLAB files are bounded the same way from their headers, before any array is read
(:mod:`.limits`). Every problem raises :class:`app.backend.errors.CsiFormatError` whose
message starts with the file path.

Synthetic timestamps (files that carry none: MM-Fi, ``.npy``, ``.npz`` without
``timestamps``): packet ``k`` at ``k / 100`` seconds (100 packets/s: MM-Fi stores 10
packets per 10-FPS video frame; the paper's Intel 5300 setup also sends 100 packets/s).
"""

from __future__ import annotations

import math
import os
import zipfile
from pathlib import Path

import numpy as np

from app.backend.atomic_write import atomic_write
from app.backend.data.csi.atheros import detect_atheros, read_atheros
from app.backend.data.csi.esp32 import looks_like_esp32, read_esp32
from app.backend.data.csi.intel5300 import looks_like_intel5300, read_intel5300
from app.backend.data.csi.limits import check_csi_shape, check_declared_sizes, mat5_shapes, npy_header, npz_headers
from app.backend.data.csi.nexmon import PCAPNG_MAGIC, looks_like_pcap, read_nexmon
from app.backend.data.csi.picoscenes import looks_like_picoscenes, read_picoscenes
from app.backend.data.csi.recording import CsiRecording
from app.backend.errors import CsiFormatError

#: The ``format`` string stored in our ``.npz`` CSI samples.
CSI_NPZ_FORMAT = "wifi-densepose-csi/1"
#: Packet rate assumed for files without timestamps.
SYNTHETIC_RATE_HZ = 100.0
#: Largest uncompressed ``.npz`` content accepted (guards against zip bombs).
MAX_NPZ_BYTES = 2 * 1024**3
#: Largest capture-tool log read (it is held in memory while it is validated).
MAX_LOG_BYTES = 512 * 1024**2

_HEAD_BYTES = 1024
#: How far a text file is searched for its first ESP32 CSI line.
TEXT_HEAD_BYTES = 64 * 1024


def read_csi(path: str | os.PathLike) -> CsiRecording:
    """Read a CSI file of any supported format (sniffed from content).

    Args:
        path: an Intel 5300 or Atheros ``.dat``, ESP32-CSI-Tool ``.csv``, nexmon_csi
            ``.pcap``, PicoScenes ``.csi``, MM-Fi ``.mat`` (v5/v7), ``.npy`` or ``.npz`` file.

    Returns:
        The recording: float32 amplitude and wrapped phase (P, S, R, T), timestamps (P,).

    Raises:
        CsiFormatError: missing, empty, truncated, foreign or malformed file; the message
            names the file and the reason.
    """
    p = str(path)
    if not os.path.exists(p):
        raise CsiFormatError(f"{p}: no such CSI file")
    if not os.path.isfile(p):
        raise CsiFormatError(f"{p}: not a file")
    head = _head(p, _HEAD_BYTES)
    if not head:
        raise CsiFormatError(f"{p}: empty file")
    kind = sniff_format(head)
    if kind == "unknown" and is_text(head):  # a serial log may start with a long boot message
        kind = detect_format(_head(p, TEXT_HEAD_BYTES))
    if kind == "npz":
        return _read_npz(p)
    if kind == "npy":
        return _read_npy(p)
    if kind == "mat5":
        return _read_mat(p)
    if kind == "mat73":
        raise CsiFormatError(
            f"{p}: MATLAB v7.3 (HDF5) files are not supported; re-save it in MATLAB with save(..., '-v7')"
        )
    if kind in _LOG_READERS:
        return _LOG_READERS[kind](p, _read_log(p))
    if kind == "atheros":
        layout = detect_atheros(head)
        assert layout is not None
        return read_atheros(p, _read_log(p), layout)
    ext = Path(p).suffix.lower()
    hint = _HINTS.get(ext, "unrecognised CSI format")
    raise CsiFormatError(f"{p}: {hint}")


#: File endings of every CSI format :func:`read_csi` reads (the content decides the format; these word
#: errors and file dialogs' filters).
CSI_FILE_EXTENSIONS = (".dat", ".csv", ".pcap", ".csi", ".mat", ".npz", ".npy")

_LOG_READERS = {"intel5300": read_intel5300, "esp32": read_esp32, "pcap": read_nexmon, "picoscenes": read_picoscenes}
_HINTS = {
    ".dat": "not a valid Intel 5300 or Atheros CSI Tool log",
    ".mat": "not a MATLAB v5/v7 file",
    ".npy": "not a NumPy .npy file",
    ".npz": "not a NumPy .npz archive",
    ".csv": "not an ESP32-CSI-Tool log (no CSI_DATA line in its first 64 KiB)",
    ".pcap": "not a pcap capture",
    ".csi": "not a PicoScenes .csi file (no frame header)",
}


def detect_format(head: bytes) -> str:
    """:func:`sniff_format` of a file's first bytes, where a text file whose first
    :data:`TEXT_HEAD_BYTES` (or fewer, as given) hold a ``CSI_DATA`` line start is an ESP32 log
    (its serial output may open with a long boot message)."""
    kind = sniff_format(head[:_HEAD_BYTES])
    if kind == "unknown" and is_text(head[:_HEAD_BYTES]) and b"\nCSI_DATA," in head[:TEXT_HEAD_BYTES]:
        return "esp32"
    return kind


def is_text(head: bytes) -> bool:
    """True when ``head`` holds only printable ASCII, tabs, line ends and ESC (coloured serial logs)."""
    return not head.translate(None, bytes(range(0x20, 0x7F)) + b"\t\r\n\x1b")  # ESC: coloured serial logs


def _head(p: str, size: int) -> bytes:
    try:
        with open(p, "rb") as f:
            return f.read(size)
    except OSError as exc:
        raise CsiFormatError(f"{p}: cannot read: {exc.strerror or exc}") from exc


def _read_log(p: str) -> bytes:
    """The whole content of a capture-tool log, refused above :data:`MAX_LOG_BYTES`."""
    try:
        size = os.path.getsize(p)
        if size > MAX_LOG_BYTES:
            raise CsiFormatError(
                f"{p}: {size} bytes, more than the {MAX_LOG_BYTES} a capture log may have here; split it into shorter files"
            )
        return Path(p).read_bytes()
    except OSError as exc:
        raise CsiFormatError(f"{p}: cannot read: {exc.strerror or exc}") from exc


def sniff_format(head: bytes) -> str:
    """Format from the first bytes: 'npz', 'npy', 'mat5', 'mat73', 'pcap', 'picoscenes', 'esp32',
    'atheros', 'intel5300' or 'unknown'.

    The Atheros check (lengths that add up, a plausible channel, tone and antenna counts)
    is stricter than the Intel one, so it runs first.
    """
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "npz"
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head.startswith(b"MATLAB 7.3") or head.startswith(b"\x89HDF\r\n\x1a\n") or head[512:520] == b"\x89HDF\r\n\x1a\n":
        return "mat73"
    if head.startswith(b"MATLAB 5.0"):
        return "mat5"
    if looks_like_pcap(head) or head.startswith(PCAPNG_MAGIC):
        return "pcap"
    if looks_like_picoscenes(head):
        return "picoscenes"
    if looks_like_esp32(head):
        return "esp32"
    if detect_atheros(head) is not None:
        return "atheros"
    if looks_like_intel5300(head):
        return "intel5300"
    return "unknown"


# -- NumPy --------------------------------------------------------------------------------
def _load_npy(p: str, source: object) -> np.ndarray:
    try:
        arr = np.load(source, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise CsiFormatError(f"{p}: holds Python objects (pickled data), which are never loaded") from exc
        raise CsiFormatError(f"{p}: malformed NumPy data: {exc}") from exc
    except Exception as exc:
        raise CsiFormatError(f"{p}: malformed NumPy data: {exc}") from exc
    return arr


def _read_npy(p: str) -> CsiRecording:
    with open(p, "rb") as f:
        check_declared_sizes(p, {"": npy_header(f, p)})
    arr = _load_npy(p, p)
    if not np.iscomplexobj(arr):
        raise CsiFormatError(f"{p}: a .npy CSI file must hold a complex (P, S, R[, T]) array, got dtype {arr.dtype}")
    csi = _as_4d(p, arr, "csi")
    with np.errstate(all="ignore"):
        amp, pha = np.abs(csi), np.angle(csi)
    return _finish(p, amp, pha, None, "npy", [])


def _read_npz(p: str) -> CsiRecording:
    try:
        with zipfile.ZipFile(p) as zf:
            total = sum(info.file_size for info in zf.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, EOFError) as exc:
        raise CsiFormatError(f"{p}: broken .npz (zip) archive: {exc}") from exc
    if total > MAX_NPZ_BYTES:
        raise CsiFormatError(f"{p}: .npz unpacks to {total} bytes, more than the {MAX_NPZ_BYTES} allowed")
    check_declared_sizes(p, npz_headers(p))
    try:
        with np.load(p, allow_pickle=False) as npz:
            keys = set(npz.files)
            arrays = {k: _load_member(p, npz, k) for k in keys}
    except CsiFormatError:
        raise
    except Exception as exc:
        raise CsiFormatError(f"{p}: malformed .npz archive: {exc}") from exc
    fmt = arrays.get("format")
    if fmt is not None:
        fmt_s = str(fmt.item()) if fmt.size == 1 and fmt.dtype.kind in "US" else repr(fmt)
        if fmt_s != CSI_NPZ_FORMAT:
            raise CsiFormatError(f"{p}: unsupported CSI format {fmt_s!r} (this version reads {CSI_NPZ_FORMAT!r})")
    ts = arrays.get("timestamps")
    nrx, ntx = arrays.get("nrx"), arrays.get("ntx")
    if "amplitude" in keys and "phase" in keys:
        amp = _as_4d(p, arrays["amplitude"], "amplitude")
        pha = _as_4d(p, arrays["phase"], "phase")
        if amp.shape != pha.shape:
            raise CsiFormatError(f"{p}: amplitude {amp.shape} and phase {pha.shape} differ in shape")
        if np.iscomplexobj(amp) or np.iscomplexobj(pha):
            raise CsiFormatError(f"{p}: amplitude and phase must be real arrays")
        source = CSI_NPZ_FORMAT if fmt is not None else "npz"
        return _finish(p, amp, pha, ts, source, [], nrx, ntx)
    if "csi" in keys:
        csi = arrays["csi"]
        if not np.iscomplexobj(csi):
            raise CsiFormatError(f"{p}: 'csi' must be a complex array, got dtype {csi.dtype}")
        csi = _as_4d(p, csi, "csi")
        with np.errstate(all="ignore"):
            amp, pha = np.abs(csi), np.angle(csi)
        return _finish(p, amp, pha, ts, "npz", [], nrx, ntx)
    raise CsiFormatError(
        f"{p}: .npz holds {sorted(keys)}; expected 'amplitude' + 'phase' (+ 'timestamps') or a complex 'csi'"
    )


def _load_member(p: str, npz: np.lib.npyio.NpzFile, key: str) -> np.ndarray:
    try:
        arr = npz[key]
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise CsiFormatError(f"{p}: array {key!r} holds Python objects (pickled data), which are never loaded") from exc
        raise CsiFormatError(f"{p}: array {key!r} is malformed: {exc}") from exc
    if not isinstance(arr, np.ndarray):  # NpzFile hands back raw bytes for non-.npy members
        raise CsiFormatError(f"{p}: member {key!r} is not a NumPy array")
    return arr


def _as_4d(p: str, arr: np.ndarray, name: str) -> np.ndarray:
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        raise CsiFormatError(f"{p}: {name!r} must be numeric, got dtype {arr.dtype}")
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.ndim != 4 or min(arr.shape) < 1:
        raise CsiFormatError(f"{p}: {name!r} has shape {arr.shape}; expected (packets, subcarriers, rx[, tx])")
    return arr


# -- MATLAB (MM-Fi) -----------------------------------------------------------------------
def _read_mat(p: str) -> CsiRecording:
    import scipy.io

    shapes = mat5_shapes(p)
    for name in ("CSIamp", "CSIphase"):
        if name in shapes:  # MM-Fi stores (rx, subcarriers, packets)
            dims = shapes[name]
            check_csi_shape(p, dims[::-1] if len(dims) == 3 else (math.prod(dims),), name)
    try:
        mat = scipy.io.loadmat(p, variable_names=["CSIamp", "CSIphase"])
    except Exception as exc:  # scipy raises many types on corrupt files
        raise CsiFormatError(f"{p}: malformed MATLAB file: {exc}") from exc
    missing = [k for k in ("CSIamp", "CSIphase") if k not in mat]
    if missing:
        raise CsiFormatError(f"{p}: MATLAB file has no {' and no '.join(missing)} (MM-Fi layout expected)")
    amp, pha = mat["CSIamp"], mat["CSIphase"]
    for name, arr in (("CSIamp", amp), ("CSIphase", pha)):
        if not isinstance(arr, np.ndarray) or arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
            raise CsiFormatError(f"{p}: {name} is not a numeric array")
        if np.iscomplexobj(arr):
            raise CsiFormatError(f"{p}: {name} must be real-valued")
        if arr.ndim != 3 or min(arr.shape) < 1:
            raise CsiFormatError(f"{p}: {name} has shape {arr.shape}; MM-Fi frames are (rx, subcarriers, packets)")
    if amp.shape != pha.shape:
        raise CsiFormatError(f"{p}: CSIamp {amp.shape} and CSIphase {pha.shape} differ in shape")
    # MM-Fi (R, S, P) -> (P, S, R, T=1)
    amp4 = np.transpose(amp, (2, 1, 0))[..., None]
    pha4 = np.transpose(pha, (2, 1, 0))[..., None]
    notes = [f"MM-Fi frame (rx, subcarriers, packets) = {amp.shape} read as (packets, subcarriers, rx, tx=1)"]
    return _finish(p, amp4, pha4, None, "mmfi-mat", notes)


# -- common -------------------------------------------------------------------------------
def _finish(
    p: str,
    amp: np.ndarray,
    pha: np.ndarray,
    ts: np.ndarray | None,
    source: str,
    notes: list[str],
    nrx: np.ndarray | None = None,
    ntx: np.ndarray | None = None,
) -> CsiRecording:
    n = amp.shape[0]
    if ts is None:
        ts = np.arange(n, dtype=np.float64) / SYNTHETIC_RATE_HZ
        notes = [*notes, f"no timestamps in the file: synthetic, {SYNTHETIC_RATE_HZ:g} packets/s from 0 s"]
    else:
        ts = np.asarray(ts)
        if ts.dtype.kind not in "iuf" or ts.reshape(-1).shape != (n,):
            raise CsiFormatError(f"{p}: 'timestamps' must be {n} numbers (one per packet), got {ts.shape} {ts.dtype}")
        ts = ts.reshape(-1).astype(np.float64)
        if ts.size > 1 and np.any(np.diff(ts) < 0):
            raise CsiFormatError(f"{p}: timestamps go backwards")
    for name, counts in (("nrx", nrx), ("ntx", ntx)):
        if counts is not None and counts.dtype.kind not in "iu":
            raise CsiFormatError(f"{p}: {name!r} must be integers")
    return CsiRecording(
        amplitude=amp, phase=pha, timestamps=ts, source_format=source, path=p, nrx=nrx, ntx=ntx, notes=notes
    )


def write_csi_npz(
    path: str | os.PathLike,
    amplitude: np.ndarray,
    phase: np.ndarray,
    timestamps: np.ndarray,
    *,
    nrx: np.ndarray | None = None,
    ntx: np.ndarray | None = None,
) -> Path:
    """Write one CSI sample in our format ``wifi-densepose-csi/1`` (atomic).

    Args:
        path: destination ``.npz`` (written with :func:`~app.backend.atomic_write.atomic_write`:
            readers never see a half-written file).
        amplitude: (P, S, R, T) real, stored as float32.
        phase: (P, S, R, T) raw phase in radians, stored as float32.
        timestamps: (P,) seconds, stored as float64, non-decreasing.
        nrx, ntx: optional per-packet antenna counts (P,), stored as int16.

    Returns:
        The written path. Raises ``ValueError`` on inconsistent arrays (a programming error).
    """
    amp = np.asarray(amplitude, dtype=np.float32)
    pha = np.asarray(phase, dtype=np.float32)
    ts = np.asarray(timestamps, dtype=np.float64).reshape(-1)
    if amp.ndim != 4 or pha.shape != amp.shape or ts.shape != (amp.shape[0],):
        raise ValueError(f"write_csi_npz: need amplitude/phase (P,S,R,T) and timestamps (P,), got {amp.shape}, {pha.shape}, {ts.shape}")
    arrays: dict[str, np.ndarray] = {
        "amplitude": amp,
        "phase": pha,
        "timestamps": ts,
        "format": np.array(CSI_NPZ_FORMAT),
    }
    for name, counts in (("nrx", nrx), ("ntx", ntx)):
        if counts is not None:
            arrays[name] = np.asarray(counts, dtype=np.int16).reshape(-1)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    # one file of a bulk write (an import, the demo): atomic, not fsync-ed (see atomic_write)
    return atomic_write(out, lambda f: np.savez(f, **arrays), durable=False)

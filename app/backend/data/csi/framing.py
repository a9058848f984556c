"""Record framing and memory bounds shared by the capture-tool readers (checked before csiread runs).

Every binary capture log is a chain of length-prefixed records. :func:`walk_records`
finds the complete records of a byte buffer without trusting any of them further than
their length field: it returns where each one starts and how long it is, and where the
complete part ends. A reader of a whole file treats bytes after ``end`` as a truncated
last record; a streaming reader (a file that is still being written) keeps them and
waits for the rest.

Memory: csiread allocates ``packets x subcarriers x rx x tx`` complex128 values up front,
from sizes it reads from the file. :func:`check_csi_size` refuses a file whose validated
headers would need more than :data:`MAX_CSI_VALUES` of them (about 0.8 GB in csiread,
another 0.4 GB for our float32 amplitude and phase, about 2 GB at the peak) before
anything is allocated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.backend.errors import CsiFormatError

#: Most complex CSI values one read holds (csiread's buffer + ours stay under ~2 GB).
MAX_CSI_VALUES = 50_000_000
#: Most records one log may hold (their offsets and headers stay under ~0.5 GB).
MAX_RECORDS = 5_000_000


@dataclass(frozen=True)
class Framing:
    """Complete records of a buffer.

    Attributes:
        offsets: int64 (N,) byte offset of each complete record (its length field).
        lengths: int64 (N,) total bytes of each record, length field included.
        end: offset just after the last complete record.
        tail: bytes after ``end`` (an incomplete record, or stray bytes); 0 for a whole,
            well-formed file.
    """

    offsets: np.ndarray
    lengths: np.ndarray
    end: int
    tail: int

    @property
    def count(self) -> int:
        return int(self.offsets.size)


def walk_records(
    buf: bytes, start: int, *, len_at: int, len_dtype: str, overhead: int, where: str = "<CSI>"
) -> Framing:
    """Complete length-prefixed records of ``buf`` from offset ``start``.

    A record at offset ``o`` is ``value(o + len_at) + overhead`` bytes long, ``value``
    being the integer of NumPy dtype ``len_dtype`` (e.g. ``"<u4"``, ``">u2"``) stored at
    ``o + len_at``. ``overhead`` must be positive, so a chain always advances. More than
    :data:`MAX_RECORDS` records raise :class:`CsiFormatError` (naming ``where``).

    Fast path: when every record has the first record's length (typical of logs with a
    fixed layout) all of them are checked at once with NumPy; otherwise the chain is
    followed record by record.
    """
    if overhead < 1:
        raise ValueError("walk_records: overhead must be >= 1")
    size = len(buf)
    dt = np.dtype(len_dtype)
    head = len_at + dt.itemsize  # bytes needed to read a record's length
    offsets: list[int] = []
    lengths: list[int] = []
    pos = start
    if size - start >= head:
        first = int(np.frombuffer(buf, dtype=dt, count=1, offset=start + len_at)[0]) + overhead
        n = (size - start) // first
        if n > MAX_RECORDS:
            raise _too_many(where)
        if n > 1 and first >= head:
            rows = np.frombuffer(buf, dtype=np.uint8, count=n * first, offset=start).reshape(n, first)
            values = np.ascontiguousarray(rows[:, len_at : len_at + dt.itemsize]).view(dt).reshape(-1)
            if np.all(values.astype(np.int64) + overhead == first):
                offsets = (start + np.arange(n, dtype=np.int64) * first).tolist()
                lengths = [first] * n
                pos = start + n * first  # records of other lengths may follow: walk on from here
    from_bytes = int.from_bytes
    order = "big" if dt.byteorder == ">" else "little"
    width = dt.itemsize
    while size - pos >= head:
        total = from_bytes(buf[pos + len_at : pos + len_at + width], order) + overhead
        if pos + total > size:
            break
        offsets.append(pos)
        lengths.append(total)
        pos += total
        if len(offsets) > MAX_RECORDS:
            raise _too_many(where)
    return _framing(np.asarray(offsets, np.int64), np.asarray(lengths, np.int64), pos, size)


def _too_many(where: str) -> CsiFormatError:
    return CsiFormatError(f"{where}: more than {MAX_RECORDS:,} records in one log; split the capture into shorter files")


def _framing(offsets: np.ndarray, lengths: np.ndarray, end: int, size: int) -> Framing:
    return Framing(offsets=offsets, lengths=lengths, end=int(end), tail=int(size - end))


def take_bytes(buf: bytes, at: np.ndarray, width: int) -> np.ndarray:
    """uint8 (N, width): the ``width`` bytes at each offset in ``at`` (e.g. every record's header).

    Evenly spaced offsets are sliced from a strided view; others are gathered column by
    column (memory stays at a few bytes per record, whatever their number).
    """
    at = np.asarray(at, dtype=np.int64)
    view = np.frombuffer(buf, dtype=np.uint8)
    n = at.size
    if n > 1 and width > 0:
        step = int(at[1] - at[0])
        if step >= width and at[-1] + width <= len(buf) and np.all(np.diff(at) == step):
            rows = np.lib.stride_tricks.as_strided(view[int(at[0]) :], shape=(n, width), strides=(step, 1))
            return rows.copy()
    out = np.empty((n, width), dtype=np.uint8)
    cols = np.arange(width, dtype=np.int64)
    chunk = max(1, 2**21 // max(width, 1))  # index arrays of at most 16 MB at a time
    for i in range(0, n, chunk):
        out[i : i + chunk] = view[at[i : i + chunk, None] + cols]
    return out


def field(block: np.ndarray, start: int, dtype: str) -> np.ndarray:
    """Column ``start`` of a :func:`take_bytes` block read as NumPy dtype ``dtype`` (one value per row)."""
    dt = np.dtype(dtype)
    return np.ascontiguousarray(block[:, start : start + dt.itemsize]).view(dt).reshape(-1)


def gather(buf: bytes, at: np.ndarray, dtype: str) -> np.ndarray:
    """The value of NumPy dtype ``dtype`` stored at each byte offset in ``at`` (vectorised)."""
    return field(take_bytes(buf, at, np.dtype(dtype).itemsize), 0, dtype)


def truncation_error(where: str, what: str, framing: Framing, unit: str = "packet") -> CsiFormatError:
    """The error for a file whose last record is cut off (or that ends in stray bytes)."""
    return CsiFormatError(
        f"{where}: truncated {what}: the last {framing.tail} byte(s) at offset {framing.end} are not a complete "
        f"record (read stopped there, after {framing.count} complete {unit}(s))"
    )


def check_csi_size(where: str, packets: int, per_packet: int, what: str = "CSI values") -> None:
    """Refuse a read that would hold more than :data:`MAX_CSI_VALUES` complex values.

    Args:
        packets: records the reader would allocate for (validated count).
        per_packet: complex values per record in csiread's buffer (subcarriers x rx x tx).
    """
    total = int(packets) * int(per_packet)
    if total > MAX_CSI_VALUES:
        raise CsiFormatError(
            f"{where}: {packets} packets x {per_packet} {what} = {total:,} values, more than the "
            f"{MAX_CSI_VALUES:,} read at once (about {total * 24 / 1e9:.1f} GB in memory); split the capture "
            "into shorter files"
        )

"""Bytes of a capture-tool log, fed as they arrive -> recordings of its complete records, in order.

:class:`RecordStream` keeps what it has not read yet (a cut-off record waits for the rest; a
half-written record is never read). Each :meth:`~RecordStream.feed` reads every complete record
it holds with the format's whole-file reader (through a small temporary file: csiread reads
files), so a packet is validated and converted exactly as ``read_csi`` does it, and no packet is
returned twice.

Corrupted input does not stop the stream. When the complete records of a feed fail to read, they
are checked one by one: records that read alone are kept (and read together, so that e.g. the
packets of one nexmon frame stay one packet), each corrupted stretch is counted once and skipped:
by its declared length when a record plausibly starts there, else up to the next offset where one
plausibly starts (:meth:`LogCodec.plausible`). A declared length over the format's maximum, or a
tail where no record can start, is corruption too, so the stream never waits for bytes that
cannot complete a record.

Clock: each feed's packets are unwrapped by the reader on their own; their seconds are then made
to continue the previous feed's across a counter wrap (:func:`~app.backend.data.csi.clock.continue_counter`).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.backend.data.csi.clock import continue_counter
from app.backend.data.csi.recording import CsiRecording
from app.backend.errors import CsiFormatError
from app.backend.live.log_codecs import LogCodec, Records


@dataclass
class Chunk:
    """What one feed gave: the new packets (None when no complete CSI record arrived), and the
    corrupted stretches skipped (``bad``) with one message each."""

    recording: CsiRecording | None = None
    bad: int = 0
    messages: list[str] = field(default_factory=list)


class RecordStream:
    """Complete records of one log's bytes, read as they arrive.

    Args:
        codec: the log's format (:func:`~app.backend.live.log_codecs.codec_for`).
        where: names the log in messages (a path, ``udp://HOST:PORT``).

    Call :meth:`close` when done (removes the temporary folder).
    """

    def __init__(self, codec: LogCodec, where: str) -> None:
        self.codec = codec
        self.where = where
        self._dir = Path(tempfile.mkdtemp(prefix="wds-live-"))
        self._tmp = str(self._dir / f"records.{codec.kind}")
        self._header: bytes | None = None
        self._pending = b""
        self._offset = 0  # bytes of the log consumed before _pending
        self._search: int | None = None  # after corruption: where in _pending to look for the next record
        self._in_stretch = False  # inside a corrupted stretch already counted
        self._last_time: float | None = None

    @property
    def pending_bytes(self) -> int:
        """Bytes held back (a cut-off record, or the file header before any record)."""
        return len(self._pending)

    def feed(self, data: bytes, final: bool = False) -> Chunk:
        """Add ``data`` (the next bytes of the log) and read every complete record held.

        ``final``: no more bytes will come (records held back for a possible continuation, such as
        the last nexmon frame, are read too). Raises CsiFormatError only for a file header of the
        wrong kind (pcapng, another link type): a log that can never be read.
        """
        buf = self._pending + data
        if self._header is None:
            n = self.codec.header_length(buf)
            if n is None:
                self._pending = buf
                return Chunk()
            self._header, buf = buf[:n], buf[n:]
            self._offset += n
        chunk = Chunk()
        if self._search is None:
            used = self._read_complete(buf, final, chunk)
            if used is not None:
                self._consume(buf, used)
                return chunk
        used, good = self._salvage(buf, chunk)
        held: list[bytes] = []
        if good and not final:  # as above: a frame that may still get packets waits
            n = self._complete_count(good)
            good, held = good[:n], good[n:]
        if good:
            try:
                chunk.recording = self._read(b"".join(good))
            except CsiFormatError as exc:  # each read alone, but not together (e.g. mixed layouts)
                chunk.bad += len(good)
                chunk.messages.append(self._word(exc))
        self._consume(buf, used, b"".join(held))
        return chunk

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)

    # -- the usual case: every complete record reads ------------------------------------------
    def _read_complete(self, buf: bytes, final: bool, chunk: Chunk) -> int | None:
        """Read the complete records of ``buf``; the bytes used, or None when they must be salvaged."""
        codec = self.codec
        try:
            recs = codec.frame(buf, 0)
            if recs.end < len(buf) and not self._may_continue(buf, recs.end):
                return None
            if recs.count == 0:
                return 0
            if not final:
                n = self._complete_count([buf[: recs.end]], recs)
                recs = Records(recs.offsets[:n], recs.lengths[:n], int(recs.offsets[n]) if n < recs.count else recs.end)
            if recs.count and codec.csi_mask(buf, recs).any():
                chunk.recording = self._read(buf[: recs.end])
        except CsiFormatError:
            return None
        if recs.count:
            self._in_stretch = False
        return recs.end

    def _complete_count(self, parts: list[bytes], recs: Records | None = None) -> int:
        """How many records of ``parts`` (one record each, or one part framed as ``recs``) can be read now."""
        h = len(self._header or b"")
        if recs is None:
            lengths = np.asarray([len(p) for p in parts], np.int64)
            recs = Records(np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64), lengths, int(lengths.sum()))
        shifted = Records(recs.offsets + h, recs.lengths, recs.end + h)
        return self.codec.complete_until((self._header or b"") + b"".join(parts), shifted)

    def _may_continue(self, buf: bytes, at: int) -> bool:
        """True when the bytes at ``at`` can be the start of a record still being written."""
        ok = self.codec.plausible(buf, at)
        return ok is None or (ok and self.codec.length_at(buf, at) <= self.codec.max_record)

    # -- corrupted input ---------------------------------------------------------------------------
    def _salvage(self, buf: bytes, chunk: Chunk) -> tuple[int, list[bytes]]:
        """Walk ``buf`` record by record, keeping those that read alone; returns (bytes used, good records)."""
        codec = self.codec
        good: list[bytes] = []
        pos = 0
        while pos < len(buf):
            if self._search is not None:
                found, at = codec.next_start(buf, self._search)
                if not found:  # no record starts before `at`: drop those bytes, look on from `at` next time
                    self._search = 0
                    return at, good
                pos, self._search = at, None
            ok = codec.plausible(buf, pos)
            if ok is None:
                break
            n = codec.length_at(buf, pos) if ok else 0
            if ok and n <= codec.max_record:
                if pos + n > len(buf):
                    break  # wait for the rest of it
                record = buf[pos : pos + n]
                problem = self._check_alone(record)
                if problem is None:
                    good.append(record)
                    self._in_stretch = False
                    pos += n
                    continue
                self._report(chunk, pos, problem)
                if codec.plausible(buf, pos + n) is not False:  # the next record starts where it said
                    pos += n
                    continue
            else:
                self._report(chunk, pos, "no record can start here")
            self._search = pos + 1
        return pos, good

    def _check_alone(self, record: bytes) -> str | None:
        """None when ``record`` reads on its own (or carries no CSI), else why not."""
        codec = self.codec
        try:
            recs = codec.frame(record, 0)
            if recs.count != 1 or recs.end != len(record):
                return "its length does not match the record"
            if codec.csi_mask(record, recs).any():
                self._read(record, keep_clock=False)
        except CsiFormatError as exc:
            return self._word(exc)
        return None

    def _report(self, chunk: Chunk, pos: int, problem: str) -> None:
        """Count a corrupted stretch once: a false start found inside it while looking for the next
        record is part of it (the stretch ends at the next record that reads)."""
        if self._in_stretch:
            return
        self._in_stretch = True
        chunk.bad += 1
        chunk.messages.append(f"{self.where}: corrupted record at byte {self._offset + pos} skipped: {problem}")

    # -- reading -------------------------------------------------------------------------------------
    def _read(self, records: bytes, keep_clock: bool = True) -> CsiRecording:
        data = (self._header or b"") + records
        with open(self._tmp, "wb") as f:
            f.write(data)
        rec = self.codec.read(self._tmp, data)
        rec.path = self.where
        if keep_clock:
            rec.timestamps = continue_counter(rec.timestamps, self._last_time, rec.meta.get("clock"))
            self._last_time = float(rec.timestamps[-1])
        return rec

    def _word(self, exc: CsiFormatError) -> str:
        """The reader's reason, without its file name (a temporary file's)."""
        return str(exc).removeprefix(f"{self._tmp}: ").replace(self._tmp, self.where)

    def _consume(self, buf: bytes, used: int, held: bytes = b"") -> None:
        """Drop the ``used`` bytes of ``buf``; ``held`` (whole records taken from them) is read again next time."""
        self._offset += used - len(held)
        self._pending = held + buf[used:]
        if held and self._search is not None:
            self._search += len(held)

"""Follow a capture-tool log while the tool writes it (``tail -F`` for CSI logs).

:class:`LogFollower` reads what was appended since the last poll and hands it to a
:class:`~app.backend.live.record_stream.RecordStream`, which returns the packets of every complete
record. The format is recognised from the file's first bytes, as ``read_csi`` does.

The file is watched on every poll (one ``stat`` and one 32-byte read):

* **replaced** (another file now has the name: a new capture, a rotated log) or **truncated**
  (shorter than what was read, or the bytes last read have changed: truncated and written
  again): reported, and the new content is followed from its start (a restart: packets of the
  old and the new content never share a window);
* **removed**: reported once; what is still written to the open file is read until a file with
  the name appears again.

Each poll reads at most :data:`MAX_READ_BYTES`, so catching up with a long log holds little
memory; a poll that read nothing sleeps for the poll interval.
"""

from __future__ import annotations

import os
import time

from app.backend.data.csi.readers import TEXT_HEAD_BYTES, detect_format, is_text
from app.backend.errors import LiveSourceError
from app.backend.live.log_codecs import STREAMABLE, codec_for
from app.backend.live.record_stream import RecordStream
from app.backend.live.source import SourceBatch, StreamEvent

#: Most bytes read in one poll.
MAX_READ_BYTES = 4 * 1024**2
#: Bytes before the read position compared on every poll (a truncated and rewritten file differs there).
FINGERPRINT_BYTES = 32
#: Bytes a binary log needs before its format is decided.
_SNIFF_BYTES = 64


class LogFollower:
    """A capture-tool log (Intel 5300, Atheros, ESP32, nexmon_csi pcap, PicoScenes) followed as it grows.

    Args:
        path: the log; it must exist (it may be empty).
        poll_s: how long a poll that found nothing new waits.

    Raises:
        LiveSourceError: the file cannot be opened, or it is no capture-tool log (e.g. ``.npz``).
    """

    def __init__(self, path: str | os.PathLike, poll_s: float = 0.02) -> None:
        self.path = str(path)
        self.name = self.path
        self.poll_s = float(poll_s)
        self.kind = ""
        self._fd: int | None = None
        self._ident: tuple[int, int] | None = None
        self._pos = 0
        self._head = b""
        self._tail = b""  # the last bytes read (up to FINGERPRINT_BYTES)
        self._stream: RecordStream | None = None
        self._removed = False
        self._open()
        self._head = os.pread(self._fd, TEXT_HEAD_BYTES, 0) if self._fd is not None else b""
        self._detect(final=False)  # refuse a file of another kind now, not on the first poll
        self._head = b""

    def poll(self) -> SourceBatch:
        """New packets since the last poll, and what happened to the file."""
        batch = SourceBatch()
        self._watch(batch)
        data = os.pread(self._fd, MAX_READ_BYTES, self._pos) if self._fd is not None else b""
        batch.read_time = time.time()
        if not data:
            time.sleep(self.poll_s)
            return batch
        self._pos += len(data)
        self._tail = (self._tail + data)[-FINGERPRINT_BYTES:]
        if self._stream is None:
            self._head += data
            if not self._detect(final=False):
                return batch
            data, self._head = self._head, b""
        chunk = self._stream.feed(data)
        batch.recording = chunk.recording
        if chunk.bad:
            batch.events.append(StreamEvent("bad_record", "; ".join(chunk.messages[:3]), chunk.bad))
        return batch

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # -- the file ------------------------------------------------------------------------------
    def _open(self) -> None:
        try:
            self._fd = os.open(self.path, os.O_RDONLY)
        except OSError as exc:
            raise LiveSourceError(f"{self.path}: cannot open: {exc.strerror or exc}") from exc
        st = os.fstat(self._fd)
        self._ident = (st.st_dev, st.st_ino)

    def _watch(self, batch: SourceBatch) -> None:
        """Report and restart on a replaced, truncated or rewritten file; note a removed one."""
        try:
            st = os.stat(self.path)
        except OSError:
            if not self._removed:
                self._removed = True
                batch.events.append(StreamEvent("removed", f"{self.path} was removed; waiting for it to appear again"))
            return
        if (st.st_dev, st.st_ino) != self._ident:
            self._removed = False
            batch.events.append(StreamEvent("replaced", f"{self.path} was replaced by a new file: following it from its start"))
            self._restart(batch, reopen=True)
        elif self._fd is not None and (st.st_size < self._pos or (self._pos and self._fingerprint_changed())):
            batch.events.append(StreamEvent("truncated", f"{self.path} was truncated: following it again from its start"))
            self._restart(batch, reopen=False)

    def _fingerprint_changed(self) -> bool:
        n = len(self._tail)
        return os.pread(self._fd, n, self._pos - n) != self._tail

    def _restart(self, batch: SourceBatch, *, reopen: bool) -> None:
        batch.restart = True
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        if reopen:
            if self._fd is not None:
                os.close(self._fd)
            self._fd = None
            try:
                self._open()
            except LiveSourceError as exc:
                batch.events.append(StreamEvent("removed", str(exc)))
        self._pos, self._head, self._tail, self.kind = 0, b"", b"", ""

    # -- the format ----------------------------------------------------------------------------
    def _detect(self, final: bool) -> bool:
        """Decide the format from ``self._head`` (True when decided); LiveSourceError for another kind."""
        head = self._head
        kind = detect_format(head) if len(head) >= _SNIFF_BYTES or b"\n" in head else "unknown"
        if kind == "unknown":
            if (is_text(head[:1024]) and len(head) < TEXT_HEAD_BYTES) or len(head) < _SNIFF_BYTES:
                return False  # a serial log still printing its boot message, or too few bytes yet
            raise LiveSourceError(f"{self.path}: not a capture-tool log (Intel 5300, Atheros, ESP32, nexmon_csi pcap, PicoScenes)")
        if kind not in STREAMABLE:
            raise LiveSourceError(f"{self.path}: a {kind} file is a finished recording, not a log being written: replay it")
        self.kind = kind
        self._stream = RecordStream(codec_for(kind), self.path)
        return True

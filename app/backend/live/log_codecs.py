"""What a streaming reader needs to know of each capture tool's log, on top of its whole-file reader.

Every capture-tool log is a chain of records (length-prefixed binary records, or text lines for
the ESP32). A :class:`LogCodec` says, for one format, where a file's header ends, where the
complete records of a buffer are, whether a record can start at a byte offset (to find the next
record after a corrupted one), which records carry CSI, and how to read complete records: with
the format's own whole-file reader (:mod:`app.backend.data.csi`), which validates every record
and decodes it with csiread. Nothing here parses CSI itself.

Formats: ``intel5300``, ``atheros``, ``esp32``, ``pcap`` (nexmon_csi), ``picoscenes`` (the names of
:func:`app.backend.data.csi.readers.sniff_format`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from app.backend.data.csi.atheros import AtherosLayout, detect_atheros, read_atheros
from app.backend.data.csi.esp32 import read_esp32
from app.backend.data.csi.framing import gather, walk_records
from app.backend.data.csi.intel5300 import CODE_BFEE, looks_like_intel5300, read_intel5300
from app.backend.data.csi.nexmon import PCAP_MAGIC, group_frames, read_nexmon, scan_nexmon
from app.backend.data.csi.picoscenes import looks_like_picoscenes, read_picoscenes, scan_picoscenes
from app.backend.data.csi.recording import CsiRecording
from app.backend.errors import CsiFormatError

#: Formats a log can be followed in (``sniff_format`` names).
STREAMABLE = ("intel5300", "atheros", "esp32", "pcap", "picoscenes")
#: Longest ESP32 line accepted (1024 CSI numbers and 25 fields fit in well under this).
MAX_LINE_BYTES = 16 * 1024
_NEXMON_MAC = b"NEXMON"


@dataclass(frozen=True)
class Records:
    """Complete records of a buffer from a start offset: int64 ``offsets`` and ``lengths`` (N,), ``end``."""

    offsets: np.ndarray
    lengths: np.ndarray
    end: int

    @property
    def count(self) -> int:
        return int(self.offsets.size)


class LogCodec(ABC):
    """One format's record structure (see the module docstring). Subclasses set the class attributes
    and implement the abstract methods.

    Attributes:
        kind: the format name.
        head_bytes: bytes :meth:`plausible` needs at an offset to decide.
        max_record: the longest record the format allows (a longer declared length is corruption).
    """

    kind = ""
    head_bytes = 1
    max_record = 1

    def header_length(self, buf: bytes) -> int | None:
        """Bytes of file header before the first record (None: not enough bytes yet)."""
        return 0

    @abstractmethod
    def frame(self, buf: bytes, start: int) -> Records:
        """The complete records of ``buf`` from ``start`` (a record cut off at the end is left out)."""

    @abstractmethod
    def length_at(self, buf: bytes, at: int) -> int:
        """The length the record at ``at`` declares (``plausible`` was True there)."""

    @abstractmethod
    def plausible(self, buf: bytes, at: int) -> bool | None:
        """Can a record start at ``at``? None when fewer than ``head_bytes`` bytes are there yet."""

    def next_start(self, buf: bytes, start: int) -> tuple[bool, int]:
        """After corruption: (True, offset) of the first record start from ``start``, else (False, the
        first offset that cannot be decided yet, or the buffer's end).

        A start counts when a record can start there and another can start where it ends (or its
        end is not written yet): bytes inside a corrupted record rarely pass both.
        """
        for at in range(start, len(buf)):
            ok = self.plausible(buf, at)
            if ok is None:
                return False, at
            if ok and (n := self.length_at(buf, at)) <= self.max_record and self.plausible(buf, at + n) is not False:
                return True, at
        return False, len(buf)

    @abstractmethod
    def csi_mask(self, buf: bytes, recs: Records) -> np.ndarray:
        """bool (N,): which records carry CSI (the others are skipped, as the whole-file readers do)."""

    def complete_until(self, data: bytes, recs: Records) -> int:
        """How many of ``recs`` (records of ``data``) can be read now; later ones wait for more."""
        return recs.count

    @abstractmethod
    def read(self, path: str, data: bytes) -> CsiRecording:
        """Read ``data`` (file header + complete records, also written to ``path``) with the format's reader."""


class Intel5300Codec(LogCodec):
    kind, head_bytes, max_record = "intel5300", 13, 2 + 1025

    def frame(self, buf: bytes, start: int) -> Records:
        return _records(walk_records(buf, start, len_at=0, len_dtype=">u2", overhead=2))

    def length_at(self, buf: bytes, at: int) -> int:
        return int.from_bytes(buf[at : at + 2], "big") + 2

    def plausible(self, buf: bytes, at: int) -> bool | None:
        if len(buf) - at < self.head_bytes:
            return None
        return looks_like_intel5300(buf[at : at + self.head_bytes])

    def csi_mask(self, buf: bytes, recs: Records) -> np.ndarray:
        return gather(buf, recs.offsets + 2, "u1") == CODE_BFEE

    def read(self, path: str, data: bytes) -> CsiRecording:
        return read_intel5300(path, data)


class AtherosCodec(LogCodec):
    kind, head_bytes, max_record = "atheros", 27, 2 + 25 + 2 * 4096

    def __init__(self) -> None:
        self.layout: AtherosLayout | None = None

    def header_length(self, buf: bytes) -> int | None:
        if self.layout is None:
            if len(buf) < 28:
                return None
            self.layout = detect_atheros(buf[:28])
            if self.layout is None:
                raise CsiFormatError("no Atheros CSI Tool record at the start of the log")
        return self.layout.start

    def frame(self, buf: bytes, start: int) -> Records:
        assert self.layout is not None
        return _records(walk_records(buf, start, len_at=0, len_dtype=self.layout.prefix + "u2", overhead=2))

    def length_at(self, buf: bytes, at: int) -> int:
        assert self.layout is not None
        return int.from_bytes(buf[at : at + 2], self.layout.endian) + 2

    def plausible(self, buf: bytes, at: int) -> bool | None:
        if len(buf) - at < self.head_bytes:
            return None
        assert self.layout is not None
        return detect_atheros(buf[at : at + self.head_bytes]) == AtherosLayout(0, self.layout.endian)

    def csi_mask(self, buf: bytes, recs: Records) -> np.ndarray:
        assert self.layout is not None
        return gather(buf, recs.offsets + 2 + 8, self.layout.prefix + "u2") > 0

    def read(self, path: str, data: bytes) -> CsiRecording:
        assert self.layout is not None
        return read_atheros(path, data, self.layout)


class NexmonPcapCodec(LogCodec):
    """tcpdump's pcap of nexmon_csi's UDP packets (also what :mod:`.udp` builds from datagrams)."""

    kind, head_bytes, max_record = "pcap", 16, 16 + 262_144

    def __init__(self) -> None:
        self.order = "<"
        self.nano = False

    def header_length(self, buf: bytes) -> int | None:
        if len(buf) < 24:
            return None
        scan_nexmon(buf[:24], "pcap header")  # pcapng, other magic, link type: one clear error
        self.order, self.nano = PCAP_MAGIC[buf[:4]]
        return 24

    def frame(self, buf: bytes, start: int) -> Records:
        return _records(walk_records(buf, start, len_at=8, len_dtype=self.order + "u4", overhead=16))

    def length_at(self, buf: bytes, at: int) -> int:
        return int(np.frombuffer(buf, self.order + "u4", count=1, offset=at + 8)[0]) + 16

    def plausible(self, buf: bytes, at: int) -> bool | None:
        if len(buf) - at < self.head_bytes:
            return None
        _, frac, caplen, wirelen = np.frombuffer(buf, self.order + "u4", count=4, offset=at).tolist()
        return frac < (10**9 if self.nano else 10**6) and 42 <= caplen <= wirelen and caplen + 16 <= self.max_record

    def csi_mask(self, buf: bytes, recs: Records) -> np.ndarray:
        if not recs.count:
            return np.zeros(0, bool)
        at = recs.offsets + 16 + 6
        mac = np.stack([gather(buf, at + k, "u1") for k in range(6)], axis=1)
        return np.all(mac == np.frombuffer(_NEXMON_MAC, np.uint8), axis=1) & (recs.lengths >= 16 + 42)

    def complete_until(self, data: bytes, recs: Records) -> int:
        """Records up to the last frame that may still get packets (another core or stream of it)."""
        scan = scan_nexmon(data, "pcap")
        if scan.count == 0:
            return recs.count
        frame = group_frames(scan.seq, scan.src, scan.core, scan.spatial)
        last = frame == frame[-1]
        _, rx, tx = scan.chip
        if int(last.sum()) >= rx * tx:
            return recs.count
        first_of_last = int(scan.framing.offsets[np.flatnonzero(scan.nexmon)[np.flatnonzero(last)[0]]])
        return int(np.searchsorted(recs.offsets, first_of_last))

    def read(self, path: str, data: bytes) -> CsiRecording:
        return read_nexmon(path, data)


class PicoScenesCodec(LogCodec):
    kind, head_bytes, max_record = "picoscenes", 11, 64 * 1024**2

    def frame(self, buf: bytes, start: int) -> Records:
        return _records(walk_records(buf, start, len_at=0, len_dtype="<u4", overhead=4))

    def length_at(self, buf: bytes, at: int) -> int:
        return int.from_bytes(buf[at : at + 4], "little") + 4

    def plausible(self, buf: bytes, at: int) -> bool | None:
        if len(buf) - at < self.head_bytes:
            return None
        return looks_like_picoscenes(buf[at : at + 11]) and 11 <= self.length_at(buf, at) <= self.max_record

    def csi_mask(self, buf: bytes, recs: Records) -> np.ndarray:
        if not recs.count:
            return np.zeros(0, bool)
        start, end = int(recs.offsets[0]), int(recs.offsets[-1] + recs.lengths[-1])
        return scan_picoscenes(buf[start:end], "PicoScenes frames").device != -1

    def read(self, path: str, data: bytes) -> CsiRecording:
        return read_picoscenes(path, data)


class Esp32Codec(LogCodec):
    """ESP32-CSI-Tool serial output: one record per line (header and boot lines carry no CSI)."""

    kind, head_bytes, max_record = "esp32", 1, MAX_LINE_BYTES

    def frame(self, buf: bytes, start: int) -> Records:
        end = buf.rfind(b"\n", start) + 1
        if end <= start:
            return Records(np.zeros(0, np.int64), np.zeros(0, np.int64), start)
        ends = np.flatnonzero(np.frombuffer(buf, np.uint8, count=end - start, offset=start) == 0x0A) + start + 1
        offsets = np.concatenate([[start], ends[:-1]]).astype(np.int64)
        return Records(offsets, (ends - offsets).astype(np.int64), end)

    def length_at(self, buf: bytes, at: int) -> int:
        nl = buf.find(b"\n", at, at + self.max_record)
        if nl >= 0:
            return nl + 1 - at
        have = len(buf) - at  # a line still being written: at least one byte more, unless it is too long already
        return have + 1 if have < self.max_record else self.max_record + 1

    def plausible(self, buf: bytes, at: int) -> bool | None:
        return at == 0 or buf[at - 1 : at] == b"\n"  # a line starts after a line end; its length decides the rest

    def next_start(self, buf: bytes, start: int) -> tuple[bool, int]:
        # offset 0 after corruption is inside a line (the skipped bytes held no line end)
        nl = buf.find(b"\n", max(start - 1, 0))
        return (True, nl + 1) if nl >= 0 else (False, len(buf))

    def csi_mask(self, buf: bytes, recs: Records) -> np.ndarray:
        return np.asarray([buf.startswith(b"CSI_DATA", int(o)) for o in recs.offsets], bool)  # as scan_esp32 tells them

    def read(self, path: str, data: bytes) -> CsiRecording:
        return read_esp32(path, data)


def _records(fr: object) -> Records:
    return Records(fr.offsets, fr.lengths, fr.end)  # type: ignore[attr-defined]


def codec_for(kind: str) -> LogCodec:
    """A fresh codec for a ``sniff_format`` name; CsiFormatError for formats that cannot be followed."""
    codecs = {"intel5300": Intel5300Codec, "atheros": AtherosCodec, "esp32": Esp32Codec, "pcap": NexmonPcapCodec,
              "picoscenes": PicoScenesCodec}
    if kind not in codecs:
        raise CsiFormatError(f"a {kind} file is not a capture-tool log that grows; replay it instead (--replay-rate)")
    return codecs[kind]()

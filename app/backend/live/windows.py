"""The packet stream cut into model windows, and the one-place hand-over where the newest window wins.

:class:`WindowMaker` turns arriving packets into windows of ``size`` packets (the config's
``INPUT.CSI.PACKETS_PER_SAMPLE``), one every ``hop`` packets: window ``k`` holds packets
``k * hop .. k * hop + size - 1`` counted from the start (or the last restart). Of the windows
one batch of packets completes, only the newest is built; the others are counted.

:class:`LatestSlot` holds at most one window between the reader and the model: a window put
while another waits replaces it (the old one is dropped and counted), so the model always
takes the newest window and latency stays bounded however slow the model is. Nothing queues.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from app.backend.data.csi.recording import CsiRecording


@dataclass
class LiveWindow:
    """One window of the stream.

    Attributes:
        index: window number since the pipeline started (windows of a restarted stream go on counting).
        first_packet: packet number (since the start) of its first packet.
        recording: its packets, (size, S, R, T), with the capture's timestamps and tone indices.
        packet_time: capture time of its last packet (seconds on the log's clock).
        read_time: host time (``time.time()``) its last packet was read.
    """

    index: int
    first_packet: int
    recording: CsiRecording
    packet_time: float
    read_time: float


class WindowMaker:
    """Windows of ``size`` packets every ``hop`` packets (see the module docstring)."""

    def __init__(self, size: int, hop: int) -> None:
        if size < 1 or hop < 1:
            raise ValueError(f"window size and hop must be >= 1, got {size} and {hop}")
        self.size, self.hop = int(size), int(hop)
        self.windows = 0  # windows completed since the start (the next window's index)
        self.packets = 0  # packets since the start
        self.layout_changes = 0
        self.reset()

    def reset(self) -> None:
        """Start over (a restarted stream): no window spans the packets before and after."""
        self._count = 0  # packets since the (re)start
        self._keep: CsiRecording | None = None  # the newest packets, at most size + hop - 1
        self._read = np.zeros(0, np.float64)  # read time of each kept packet

    def push(self, rec: CsiRecording, read_time: float) -> tuple[LiveWindow | None, int]:
        """Add the packets of ``rec`` (read at ``read_time``); returns (the newest window they
        complete or None, how many windows they complete in all)."""
        if self._keep is not None and (rec.shape[1:] != self._keep.shape[1:] or _tones(rec) != _tones(self._keep)):
            self.layout_changes += 1  # another subcarrier or antenna layout: windows cannot span it
            self.reset()
        n0, n1 = self._count, self._count + rec.num_packets
        need = self.size + self.hop - 1  # the newest window lies in the last `need` packets
        if rec.num_packets >= need or self._keep is None:
            joined = rec.slice_packets(max(0, rec.num_packets - need), rec.num_packets)
            reads_all = np.full(joined.num_packets, read_time, np.float64)
        else:
            joined = _join(self._keep, rec)
            reads_all = np.concatenate([self._read, np.full(rec.num_packets, read_time, np.float64)])
        first_end = self.size - 1
        lo = max(0, -(-(n0 - first_end) // self.hop))  # first window ending at packet >= n0
        hi = (n1 - 1 - first_end) // self.hop if n1 - 1 >= first_end else -1
        made = max(0, hi - lo + 1)
        window = None
        if made:
            end = first_end + hi * self.hop  # stream packet number of the newest window's last packet
            at = end - (n1 - joined.num_packets)  # its row in `joined`
            win = joined.slice_packets(at - self.size + 1, at + 1)
            first = self.packets - n0 + end - self.size + 1  # counted since the start, not the restart
            window = LiveWindow(self.windows + made - 1, first, win, float(win.timestamps[-1]), float(reads_all[at]))
        keep = min(joined.num_packets, need)
        self._keep = joined.slice_packets(joined.num_packets - keep, joined.num_packets)
        self._read = reads_all[-keep:]
        self._count = n1
        self.packets += rec.num_packets
        self.windows += made
        return window, made


def _tones(rec: CsiRecording) -> list:
    return list(rec.meta.get("subcarrier_index", []))


def _join(a: CsiRecording, b: CsiRecording) -> CsiRecording:
    """Packets of ``a`` then ``b`` (same layout) as one recording; meta and notes of ``b``."""
    return CsiRecording(
        amplitude=np.concatenate([a.amplitude, b.amplitude]),
        phase=np.concatenate([a.phase, b.phase]),
        timestamps=np.concatenate([a.timestamps, b.timestamps]),
        source_format=b.source_format,
        path=b.path,
        nrx=np.concatenate([a.nrx, b.nrx]),
        ntx=np.concatenate([a.ntx, b.ntx]),
        meta={"subcarrier_index": b.meta["subcarrier_index"]} if "subcarrier_index" in b.meta else {},
    )


class LatestSlot:
    """At most one waiting window, handed from the reader thread to the model (thread-safe).

    ``put`` replaces a waiting window (returns True: one dropped); ``take`` waits for one and returns
    ``(window, newest)``, ``newest`` being the index of the newest window ever put (equal to the
    window's own index: nothing newer was waiting). After ``close`` a waiting window is still taken,
    then ``take`` returns None at once.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: LiveWindow | None = None
        self._newest = -1
        self.closed = False

    def put(self, window: LiveWindow) -> bool:
        with self._cond:
            replaced = self._item is not None
            self._item = window
            self._newest = max(self._newest, window.index)
            self._cond.notify()
            return replaced

    def take(self, timeout: float) -> tuple[LiveWindow, int] | None:
        with self._cond:
            if self._item is None and not self.closed:
                self._cond.wait(timeout)
            item, self._item = self._item, None
            return None if item is None else (item, self._newest)

    def discard(self) -> bool:
        """Drop the waiting window, if any (True when there was one)."""
        with self._cond:
            had, self._item = self._item is not None, None
            return had

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

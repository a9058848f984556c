"""Play a finished recording as if it arrived live: demos and tests without hardware.

:func:`load_replay` reads any file ``read_csi`` reads, or a dataset JSON (COCO-DensePose with
``csi_file``: its samples' CSI one after the other, e.g. the demo dataset's ``val.json``).
:class:`ReplaySource` releases its packets on a schedule: ``rate`` packets per second, or as
recorded (packet ``k`` at ``timestamps[k] - timestamps[0]`` seconds; steps back in time wait for
nothing). A batch's ``read_time`` is the host time its last packet was due, so a pipeline that
falls behind shows it in its latency.
"""

from __future__ import annotations

import os
import time

import numpy as np

from app.backend.data.csi import read_csi
from app.backend.data.csi.recording import CsiRecording
from app.backend.errors import CsiFormatError, LiveSourceError
from app.backend.live.source import SourceBatch, StreamEvent

#: Most packets a dataset replay joins (about 1.5 GB of float32 at 30 x 3 x 3).
MAX_REPLAY_PACKETS = 2_000_000


def load_replay(path: str | os.PathLike) -> CsiRecording:
    """The recording to replay: a CSI file, or the samples of a dataset JSON joined in order.

    Raises:
        CsiFormatError: an unreadable file, or samples whose CSI layouts differ.
        DatasetError: a malformed dataset JSON.
    """
    p = str(path)
    if not p.lower().endswith(".json"):
        return read_csi(p)
    from app.backend.data.dataset import load_coco_densepose_json  # pycocotools: only for a dataset replay

    files = [r["csi_file"] for r in load_coco_densepose_json(p) if r.get("csi_file")]
    if not files:
        raise LiveSourceError(f"{p}: the dataset has no samples with a csi_file to replay")
    return join_recordings([read_csi(f) for f in files], p)


def join_recordings(recs: list[CsiRecording], name: str) -> CsiRecording:
    """One recording of ``recs`` one after the other (same (S, R, T)); times made to increase.

    A recording whose first packet is not after the previous one's last is moved to follow it
    one median packet interval later (demo samples each start at their own time).
    """
    shape = recs[0].shape[1:]
    bad = [r.name for r in recs if r.shape[1:] != shape]
    if bad:
        raise CsiFormatError(f"{name}: samples of different CSI layouts cannot be replayed as one stream ({bad[0]})")
    total = sum(r.num_packets for r in recs)
    if total > MAX_REPLAY_PACKETS:
        raise CsiFormatError(f"{name}: {total:,} packets, more than the {MAX_REPLAY_PACKETS:,} a replay holds")
    steps = [np.diff(r.timestamps) for r in recs if r.num_packets > 1]
    gap = float(np.median(np.concatenate(steps))) if steps else 0.01
    times, last = [], None
    for r in recs:
        ts = r.timestamps
        if last is not None and ts[0] <= last:
            ts = ts - ts[0] + last + gap
        times.append(ts)
        last = float(ts[-1])
    return CsiRecording(
        amplitude=np.concatenate([r.amplitude for r in recs]),
        phase=np.concatenate([r.phase for r in recs]),
        timestamps=np.concatenate(times),
        source_format=recs[0].source_format,
        path=name,
        nrx=np.concatenate([r.nrx for r in recs]),
        ntx=np.concatenate([r.ntx for r in recs]),
        notes=[f"{len(recs)} recordings joined for a replay"],
        meta=recs[0].meta,
    )


class ReplaySource:
    """Releases a recording's packets on a schedule.

    Args:
        recording: what to play.
        rate: packets per second; None plays it as recorded.
        loop: start over at the end (timestamps keep increasing); else the stream finishes.
        poll_s: longest wait of one poll.
    """

    def __init__(self, recording: CsiRecording, rate: float | None = None, loop: bool = False, poll_s: float = 0.02) -> None:
        if rate is not None and not rate > 0:
            raise LiveSourceError(f"replay rate must be a positive number of packets per second, got {rate}")
        self.recording = recording
        self.name = recording.name
        self.rate = rate
        self.loop = loop
        self.poll_s = float(poll_s)
        n = recording.num_packets
        ts = recording.timestamps
        step = float(np.median(np.diff(ts))) if n > 1 else 0.01
        self._span = float(ts[-1] - ts[0]) + step  # recording seconds of one round (a loop adds it)
        if rate is not None:
            self.schedule = np.arange(n, dtype=np.float64) / rate
            self._period = n / rate
        else:
            self.schedule = np.maximum.accumulate(ts - ts[0])
            self._period = self._span
        self._period = max(self._period, 1e-3)  # wall seconds of one round
        self._t0: float | None = None  # wall time of packet 0 of round 0
        self._next = 0
        self._round = 0

    def poll(self) -> SourceBatch:
        now = time.time()
        if self._t0 is None:
            self._t0 = now
        batch = SourceBatch()
        n = self.recording.num_packets
        start = self._t0 + self._round * self._period  # wall time of this round's packet 0
        if self._next >= n:
            if not self.loop:
                batch.finished = True
                return batch
            if now < start + self._period:
                time.sleep(min(self.poll_s, start + self._period - now))
                return batch
            self._round, self._next = self._round + 1, 0
            batch.events.append(StreamEvent("info", f"replay of {self.name} started over (round {self._round + 1})"))
            return batch
        due = int(np.searchsorted(self.schedule, now - start, side="right"))
        if due <= self._next:
            time.sleep(float(np.clip(self.schedule[self._next] - (now - start), 0.0, self.poll_s)))
            return batch
        rec = self.recording.slice_packets(self._next, due)
        if self._round:
            rec.timestamps = rec.timestamps + self._round * self._span
        batch.recording = rec
        batch.read_time = start + float(self.schedule[due - 1])
        self._next = due
        batch.finished = due >= n and not self.loop
        return batch

    def close(self) -> None:
        pass

"""What every live source hands the pipeline, and how a source is chosen.

A source is polled from one thread: ``poll()`` waits a little (at most its poll interval) and
returns a :class:`SourceBatch` with the packets that arrived since the last call, what happened
to the input (:class:`StreamEvent`) and whether the stream has ended. ``close()`` releases it.

Sources: :class:`~app.backend.live.follower.LogFollower` (a capture-tool log as it is written),
:class:`~app.backend.live.replay.ReplaySource` (a finished recording played at a packet rate or
as recorded), :class:`~app.backend.live.udp.NexmonUdpSource` (nexmon_csi's UDP packets).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Protocol

from app.backend.data.csi.recording import CsiRecording
from app.backend.errors import LiveSourceError


@dataclass(frozen=True)
class StreamEvent:
    """Something that happened to the input.

    Attributes:
        kind: ``"bad_record"`` (corrupted records skipped; ``count`` of them), ``"bad_window"``
            (a window the model input refused), ``"truncated"``, ``"replaced"`` or ``"removed"``
            (the followed file; it is followed again from its start), ``"info"`` (e.g. a replay
            started over).
        message: one line for the user.
        count: how many bad records or windows the event stands for.
    """

    kind: str
    message: str
    count: int = 1

    @property
    def is_bad_input(self) -> bool:
        return self.kind in ("bad_record", "bad_window", "truncated", "replaced", "removed")


@dataclass
class SourceBatch:
    """One poll's worth of input.

    Attributes:
        recording: the new packets (P, S, R, T) in arrival order, or None.
        read_time: host time (``time.time()`` seconds) when they were read; a replay gives
            the time its last packet was due.
        events: what happened to the input since the last poll.
        restart: the stream starts over (a file truncated or replaced): packets before this
            batch must not share a window with it.
        finished: no more packets will come.
    """

    recording: CsiRecording | None = None
    read_time: float = 0.0
    events: list[StreamEvent] = field(default_factory=list)
    restart: bool = False
    finished: bool = False


class Source(Protocol):
    name: str

    def poll(self) -> SourceBatch: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class SourceSpec:
    """Where packets come from.

    Attributes:
        kind: ``"follow"`` (a log being written), ``"replay"`` (a finished recording) or ``"udp"``.
        path: the file (follow, replay): any capture-tool log; a replay also takes every file
            ``read_csi`` reads and a dataset JSON (its samples' CSI in order).
        rate: replay pace in packets per second; None plays it as recorded (its timestamps).
        address: ``HOST:PORT`` to bind (udp).
        loop: a replay starts over when it ends.
    """

    kind: str
    path: str = ""
    rate: float | None = None
    address: str = ""
    loop: bool = False

    def describe(self) -> str:
        if self.kind == "udp":
            return f"udp://{self.address}"
        if self.kind == "replay":
            pace = "as recorded" if self.rate is None else f"at {self.rate:g} packets/s"
            return f"replay of {self.path} {pace}"
        return f"follow {self.path}"


def parse_address(text: str) -> tuple[str, int]:
    """``"HOST:PORT"`` -> (host, port); LiveSourceError for anything else."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise LiveSourceError(f"--udp {text!r}: expected HOST:PORT, e.g. 0.0.0.0:5500 (nexmon_csi's port)")
    return host.strip("[]"), int(port)


def open_source(spec: SourceSpec) -> Source:
    """The source ``spec`` describes, opened (a UDP socket is bound, a replay is read).

    Raises:
        LiveSourceError: no such file, an address that cannot be bound, an unknown kind.
        CsiFormatError (replay): the recording cannot be read.
    """
    # each source imports what only it needs (csiread, the dataset loader, sockets)
    if spec.kind == "udp":
        from app.backend.live.udp import NexmonUdpSource

        host, port = parse_address(spec.address)
        return NexmonUdpSource(host, port)
    if spec.kind not in ("follow", "replay"):
        raise LiveSourceError(f"unknown live source {spec.kind!r} (follow, replay or udp)")
    if not os.path.isfile(spec.path):
        raise LiveSourceError(f"{spec.path}: no such file (start the capture first, or check the path)")
    if spec.kind == "follow":
        from app.backend.live.follower import LogFollower

        return LogFollower(spec.path)
    from app.backend.live.replay import ReplaySource, load_replay

    return ReplaySource(load_replay(spec.path), rate=spec.rate, loop=spec.loop)

"""The live pipeline: source -> windows -> model input -> Predictor -> one LiveResult per window.

Two threads. A reader thread polls the source, cuts windows (:class:`~.windows.WindowMaker`)
and puts the newest one into a one-window slot (:class:`~.windows.LatestSlot`). The caller's
thread (:meth:`LivePipeline.run`) takes windows from the slot and predicts them: the window's
packets become the model input exactly as for a file (``window_to_input``: non-finite repair,
phase sanitization, subcarrier resampling, antenna fit), and the :class:`Predictor` turns it into
a ``FramePrediction``, the MTN output and the overlay. When the model is slower than the packets,
windows that were never taken are dropped and counted; none waits in a queue, so the latency
stays about one model call (the wait for the current call to end, plus its own call).

The caller owns the pipeline: ``run`` returns when the stream ends (a replay played to its end),
``max_windows`` were predicted, or ``should_stop()`` says so (Ctrl+C, the view's Stop); the source
is closed then. Bad input never ends a run: corrupted records, a refused window, a file truncated
under the reader are counted and reported through ``on_event``. Only a source that can no longer
be read at all (e.g. a followed file replaced by a file of another kind) raises from ``run``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.backend.data.csi import CsiInputParams
from app.backend.data.csi.window import window_to_input
from app.backend.errors import CsiFormatError
from app.backend.live.source import Source, StreamEvent
from app.backend.live.stats import LiveStats
from app.backend.live.windows import LatestSlot, LiveWindow, WindowMaker
from app.backend.structures import FramePrediction

#: Seconds between two amplitude traces handed to ``on_packets``.
TRACE_INTERVAL_S = 0.1
#: Most packets one trace carries (a long catch-up read shows its newest packets).
MAX_TRACE_PACKETS = 4096


@dataclass
class LiveResult:
    """One predicted window.

    Attributes:
        index, first_packet: the window's number and its first packet's number since the start.
        packet_time: capture time (s, the log's clock) of the window's last packet.
        read_time: host time (``time.time()``) its last packet was read.
        start_time, ready_time: host times the model took the window and its prediction was ready.
        newest: the newest window made when the model took this one (equal to ``index``: newer
            windows replace older ones, they never wait behind them).
        dropped: windows dropped so far in the run.
        prediction: the people found (all scores; ``people`` counts those >= the score threshold),
            coordinates in the MTN output's (height, width).
        people: detections with score >= the pipeline's ``score_threshold``.
        overlay: BGR uint8 (H, W, 3), the prediction drawn on the MTN output.
        mtn_image: BGR uint8 (H, W, 3), the MTN output.
        notes: what the model input changed (resampled subcarriers, zero-filled antennas, ...).
    """

    index: int
    first_packet: int
    packet_time: float
    read_time: float
    start_time: float
    ready_time: float
    newest: int
    dropped: int
    prediction: FramePrediction
    people: int
    overlay: np.ndarray
    mtn_image: np.ndarray | None
    notes: list[str]

    @property
    def latency_s(self) -> float:
        """End to end on the host: packet read -> prediction ready."""
        return self.ready_time - self.read_time


@dataclass
class PacketTrace:
    """Amplitude of the packets that arrived, for a strip chart.

    Attributes:
        times: float64 (n,), capture time of each packet (s, the log's clock).
        amplitude: float32 (n, R*T), each packet's mean amplitude over subcarriers per antenna pair.
        pairs: ``"rx{r} tx{t}"`` label of each column (pairs no packet carried are left out).
        restart: the stream started over before these packets.
    """

    times: np.ndarray
    amplitude: np.ndarray
    pairs: list[str]
    restart: bool = False


class LivePipeline:
    """Predicts the newest window of ``source`` with ``predictor`` (a :class:`~app.backend.engine.predictor.Predictor`).

    Args:
        source: an open source (:func:`~app.backend.live.source.open_source`); closed by :meth:`run`.
        predictor: anything with the Predictor's ``cfg`` and ``predict_csi(x, options=...)``.
        hop: packets between the starts of two windows; default the window length
            (``INPUT.CSI.PACKETS_PER_SAMPLE``: windows side by side).
        score_threshold: detections counted as people (and written by :mod:`.output`).
        options: :class:`~app.backend.vis.OverlayOptions` of the overlays.
    """

    def __init__(self, source: Source, predictor: Any, *, hop: int | None = None, score_threshold: float = 0.5,
                 options: Any = None) -> None:
        self.source = source
        self.predictor = predictor
        self.params = CsiInputParams.from_cfg(predictor.cfg)
        self.hop = int(hop or self.params.packets_per_sample)
        if self.hop < 1:
            raise ValueError(f"hop must be >= 1, got {hop}")
        self.score_threshold = float(score_threshold)
        self.options = options
        self.stats = LiveStats()
        self.maker = WindowMaker(self.params.packets_per_sample, self.hop)
        self.slot = LatestSlot()
        self._paused = threading.Event()
        self._halt = threading.Event()
        self._error: BaseException | None = None
        self._on_event: Callable[[StreamEvent], None] | None = None
        self._on_packets: Callable[[PacketTrace], None] | None = None

    # -- control (any thread) ---------------------------------------------------------------------
    def pause(self) -> None:
        """Stop predicting; windows made meanwhile are skipped (counted as ``paused``), reading goes on."""
        self._paused.set()
        if self.slot.discard():
            self.stats.add(paused=1)

    def resume(self) -> None:
        self._paused.clear()

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    # -- the run ------------------------------------------------------------------------------------
    def run(
        self,
        on_result: Callable[[LiveResult], None],
        *,
        should_stop: Callable[[], bool] | None = None,
        max_windows: int | None = None,
        on_event: Callable[[StreamEvent], None] | None = None,
        on_packets: Callable[[PacketTrace], None] | None = None,
    ) -> dict:
        """Predict until the stream ends, ``max_windows`` results, or ``should_stop()``; the summary.

        ``on_result`` is called on this thread; ``on_event`` and ``on_packets`` on the reader thread.
        Returns :meth:`LiveStats.summary`. Raises what made the source unreadable (LiveSourceError,
        CsiFormatError, OSError), after the reader thread has ended.
        """
        self._on_event, self._on_packets = on_event, on_packets
        self.stats.started = time.time()
        reader = threading.Thread(target=self._read_loop, name="live-reader", daemon=True)
        reader.start()
        done = 0
        try:
            while not (should_stop is not None and should_stop()):
                item = self.slot.take(timeout=0.1)
                if item is None:
                    if self.slot.closed:
                        break
                    continue
                result = self._predict(*item)
                if result is not None:
                    on_result(result)
                    done += 1
                    if max_windows is not None and done >= max_windows:
                        break
        finally:
            self._halt.set()
            reader.join()
            if self.slot.discard():
                self.stats.add(dropped=1)  # made while the last one was predicted, never taken
            self.source.close()
        if self._error is not None:
            raise self._error
        return self.stats.summary()

    def _predict(self, window: LiveWindow, newest: int) -> LiveResult | None:
        start = time.time()
        try:
            x, notes = window_to_input(window.recording, self.params)
        except CsiFormatError as exc:
            self.stats.add(bad_windows=1)
            self._event(StreamEvent("bad_window", f"window {window.index} refused: {exc}"))
            return None
        out = self.predictor.predict_csi(x, options=self.options)
        ready = time.time()
        people = int(np.count_nonzero(out.prediction.scores >= self.score_threshold))
        self.stats.add_result(ready, ready - window.read_time, people)
        return LiveResult(window.index, window.first_packet, window.packet_time, window.read_time, start, ready, newest,
                          self.stats.dropped, out.prediction, people, out.overlay, out.mtn_image, notes)

    # -- the reader thread --------------------------------------------------------------------------
    def _read_loop(self) -> None:
        trace: list[PacketTrace] = []
        last_trace = 0.0
        try:
            while not self._halt.is_set():
                batch = self.source.poll()
                for event in batch.events:
                    if event.kind == "bad_record":
                        self.stats.add(bad_records=event.count)
                    elif event.kind in ("truncated", "replaced"):
                        self.stats.add(restarts=1)
                    self._event(event)
                if batch.restart:
                    self.maker.reset()
                rec = batch.recording
                if rec is not None:
                    self._take_packets(rec, batch.read_time)
                    if self._on_packets is not None:
                        trace.append(_trace(rec, batch.restart))
                if trace and (batch.finished or time.monotonic() - last_trace >= TRACE_INTERVAL_S):
                    self._on_packets(_merge(trace))  # type: ignore[misc]
                    trace, last_trace = [], time.monotonic()
                if batch.finished:
                    break
        except BaseException as exc:  # handed to run(), which raises it on the caller's thread
            self._error = exc
        finally:
            self.slot.close()

    def _take_packets(self, rec: Any, read_time: float) -> None:
        changes = self.maker.layout_changes
        window, made = self.maker.push(rec, read_time)
        if self.maker.layout_changes != changes:
            self._event(StreamEvent("info", f"the CSI layout changed to {rec.shape[1:]} (S, R, T): windows start over"))
        self.stats.add(packets=rec.num_packets, windows_made=made)
        if window is None:
            return
        if self._paused.is_set():
            self.stats.add(paused=made)
        else:
            self.stats.add(dropped=made - 1 + int(self.slot.put(window)))

    def _event(self, event: StreamEvent) -> None:
        if self._on_event is not None:
            self._on_event(event)


def _trace(rec: Any, restart: bool) -> PacketTrace:
    n = min(rec.num_packets, MAX_TRACE_PACKETS)
    amp = rec.amplitude[-n:]
    p, _, r, t = amp.shape
    valid = rec.valid_pairs().reshape(-1)
    finite = np.isfinite(amp)
    with np.errstate(invalid="ignore", divide="ignore"):  # a pair with no finite value is NaN (a gap in the chart)
        mean = (np.where(finite, amp, 0).sum(axis=1) / finite.sum(axis=1)).reshape(p, r * t)[:, valid]
    pairs = [f"rx{i // t + 1} tx{i % t + 1}" for i in np.flatnonzero(valid).tolist()]
    return PacketTrace(rec.timestamps[-n:].copy(), mean.astype(np.float32), pairs, restart)


def _merge(traces: list[PacketTrace]) -> PacketTrace:
    """One trace of consecutive traces (a layout change keeps only the newest layout's)."""
    pairs = traces[-1].pairs
    same = [t for t in traces if t.pairs == pairs]
    restart = any(t.restart for t in traces) or len(same) < len(traces)
    times = np.concatenate([t.times for t in same])[-MAX_TRACE_PACKETS:]
    amplitude = np.concatenate([t.amplitude for t in same])[-MAX_TRACE_PACKETS:]
    return PacketTrace(times, amplitude, pairs, restart)

"""The Live view's background job and the handle the view steers it with.

:func:`run_live` is a job for the view's :class:`~app.widgets.job_runner.JobRunner`: it loads
the model through the view's :class:`~app.ui.common.model_cache.ModelCache`, opens the source and
runs the backend's :class:`~app.backend.live.pipeline.LivePipeline` until the view cancels it.
Every predicted window, every packet trace and every input event goes to the view as a partial
result (plain dataclasses of numpy arrays); its return value is the run's summary.

:class:`LiveControl` is shared by the view (GUI thread) and the job (its thread): pause, resume,
and the prediction log being recorded, all thread-safe.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from app.backend.errors import UserFacingError, WriteError
from app.widgets.job_runner import TaskState


class LiveControl:
    """Pause/resume and recording of one run, from any thread."""

    def __init__(self, score_threshold: float = 0.5) -> None:
        self.score_threshold = score_threshold
        self._lock = threading.Lock()
        self._pipeline: Any = None
        self._paused = False
        self._log: Any = None
        self.record_error = ""  # the last failure to write the recording (it stops then)

    def attach(self, pipeline: Any) -> None:
        """The job's pipeline (a pause asked for before it existed applies now)."""
        with self._lock:
            self._pipeline = pipeline
            if self._paused:
                pipeline.pause()

    @property
    def pipeline(self) -> Any:
        return self._pipeline

    def set_paused(self, paused: bool) -> None:
        with self._lock:
            self._paused = paused
            if self._pipeline is not None:
                (self._pipeline.pause if paused else self._pipeline.resume)()

    def start_recording(self, path: str | Path, source: str) -> None:
        """Append every next prediction to ``path`` (JSON lines of ``live``); WriteError if it cannot be opened."""
        from app.backend.live.output import PredictionLog

        log = PredictionLog(path, source, self.score_threshold)
        with self._lock:
            old, self._log, self.record_error = self._log, log, ""
        if old is not None:
            old.close()

    def stop_recording(self) -> int:
        """Close the recording; the number of lines it got."""
        with self._lock:
            log, self._log = self._log, None
        if log is None:
            return 0
        log.close()
        return log.lines

    @property
    def recording(self) -> bool:
        return self._log is not None

    def record(self, result: Any) -> None:
        """Job thread: write ``result`` to the recording, if any (a failed write stops the recording)."""
        with self._lock:
            log = self._log
            if log is None:
                return
            try:
                log.write(result)
            except WriteError as exc:
                self.record_error = str(exc)
                self._log = None
                log.close()


def run_live(state: TaskState, cache: Any, cfg: Any, weights: str, spec: Any, hop: int | None,
             control: LiveControl) -> dict:
    """Job: predict ``spec``'s packets with the model of ``cfg`` and ``weights`` until cancelled.

    Partial results: :class:`~app.backend.live.pipeline.LiveResult`,
    :class:`~app.backend.live.pipeline.PacketTrace` and
    :class:`~app.backend.live.source.StreamEvent`. Returns the run's summary dict.
    """
    from app.backend.live.pipeline import LivePipeline
    from app.backend.live.source import open_source

    if cfg.INPUT.MODALITY != "csi":
        raise UserFacingError("the Live view predicts from CSI: this config's INPUT.MODALITY is 'image'")
    source = open_source(spec)
    try:
        predictor = cache.get(cfg, weights)
    except BaseException:
        source.close()
        raise
    pipeline = LivePipeline(source, predictor, hop=hop, score_threshold=control.score_threshold)
    control.attach(pipeline)

    def on_result(result: Any) -> None:
        control.record(result)
        state.set_partial_result(result)

    summary = pipeline.run(on_result, should_stop=lambda: state.cancelled, on_event=state.set_partial_result,
                           on_packets=state.set_partial_result)
    summary["source"] = source.name
    return summary

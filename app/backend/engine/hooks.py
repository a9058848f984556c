"""Qt-free training hooks that hand plain Python values to a callback, and the stop/pause control.

The callback receives one dict per event (never tensors, the model or the
``EventStorage``; values are copied inside the hook because detectron2's storage is a
module-level stack shared by all threads):

- ``{"kind": "progress", "phase", "done", "total", "text"}`` from every phase of a run, in this
  order: ``"stats"`` (the CSI normalisation pass over the training set), ``"read"`` (reading the
  training samples for MTN pretraining, or opening their cache), ``"pretrain"`` (MTN pretraining
  steps), then ``"train"`` (iterations of the main loop) with an ``"eval"`` (images evaluated,
  plus one last unit for the COCO scoring) every ``TEST.EVAL_PERIOD`` and after the last
  iteration. ``done`` and ``total`` are ints, ``text`` one line for
  a progress bar. A phase reports at least once a second while it runs (more precisely: after
  each unit of work, at most every :data:`PROGRESS_INTERVAL_S`, so as often as its units allow:
  a sample, a file, a step, an image) and exactly once with ``done == total`` when it ends. Phases
  that do not run (no pretraining, a resumed run) send nothing;
- ``{"kind": "metrics", "phase": "pretrain", "iteration": k, "max_iter": K, "losses":
  {"loss_mtn_parts": x}, "lr": lr, "time": s}`` after MTN pretraining steps (``k`` counts
  pretraining steps from 0, apart from the main loop's iterations), from the first step on;
- ``{"kind": "metrics", "iteration", "max_iter", "total_loss", "loss_*"..., "lr", "time",
  "data_time", "eta_seconds", "it_per_s"}`` from :class:`MetricsHook` (the main loop);
- ``{"kind": "preview", "iteration", "images": [BGR uint8 (H, W, 3)], "predictions":
  [FramePrediction]}`` from :class:`PreviewHook`;
- ``{"kind": "eval", "iteration", "results": {dataset/task/metric: float}}`` from
  :class:`EvalResultsHook`;
- ``{"kind": "state", "state": "paused" | "running" | "stopping", "iteration"}`` and
  ``{"kind": "log", "text"}`` from :class:`ControlHook` and the phases.

A :class:`TrainControl` is obeyed in every phase (between two units of work): pause blocks, stop
ends the run within about a unit of work with :class:`TrainingStopped`, whose ``phase`` says
where; in ``"train"`` and ``"eval"`` a checkpoint of the current iteration is saved first, in
the earlier phases nothing exists to save.

The callback runs on the training thread: it should only enqueue (e.g. emit a queued Qt
signal) and return.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from detectron2.engine import HookBase
from detectron2.evaluation.testing import flatten_results_dict

from app.backend.data.skipped import SkippedRecords, is_bad_record
from app.backend.engine.predictor import InferenceRunner

Callback = Callable[[dict[str, Any]], None]

logger = logging.getLogger(__name__)


#: Phases of a run, in order (the ``phase`` of progress events and of :class:`TrainingStopped`).
PHASES = ("read", "stats", "pretrain", "train", "eval")

#: Least time between two progress events of one phase (the last one, done == total, always goes out).
PROGRESS_INTERVAL_S = 0.25


class TrainingStopped(Exception):
    """Raised when a requested stop ends a run; caught by ``run_training``.

    Attributes:
        iteration: the last completed iteration of the main loop (0-based; -1 before the first).
        checkpoint: path of the checkpoint saved before stopping ("" if none was saved).
        phase: the phase the stop came in (one of :data:`PHASES`).
    """

    def __init__(self, iteration: int, checkpoint: str = "", phase: str = "train") -> None:
        super().__init__(f"training stopped by request in phase {phase!r} after iteration {iteration}")
        self.iteration = iteration
        self.checkpoint = checkpoint
        self.phase = phase


class _QuietStopFilter(logging.Filter):
    """Drop detectron2's "Exception during training" traceback for a requested stop."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, TrainingStopped)


logging.getLogger("detectron2.engine.train_loop").addFilter(_QuietStopFilter())


class MetricsHook(HookBase):
    """Every ``period`` iterations (and at the last one) hand the latest scalars to ``callback``;
    after every iteration the ``"train"`` phase's progress (rate-limited, see :class:`PhaseProgress`)."""

    def __init__(self, callback: Callback, period: int = 5) -> None:
        self._callback = callback
        self._period = max(1, int(period))
        self._progress: PhaseProgress | None = None

    def before_train(self) -> None:
        self._progress = PhaseProgress("train", int(self.trainer.max_iter), self._callback)

    def after_step(self) -> None:
        it = self.trainer.iter
        max_iter = self.trainer.max_iter
        if (it + 1) % self._period == 0 or it == max_iter - 1:
            self._callback(self.snapshot())
        if self._progress is not None:
            text = f"iteration {it + 1}/{max_iter}"
            if it == max_iter - 1:
                self._progress.finish(text)
            else:
                self._progress.update(it + 1, text)

    def snapshot(self) -> dict[str, Any]:
        """The current metrics as a plain dict of floats/ints."""
        storage = self.trainer.storage
        it = self.trainer.iter
        max_iter = self.trainer.max_iter
        out: dict[str, Any] = {"kind": "metrics", "iteration": int(it), "max_iter": int(max_iter)}
        for name, (value, _) in storage.latest().items():
            if name.startswith("loss") or name in ("total_loss", "lr", "data_time"):
                out[name] = float(value)
        try:
            step_time = float(storage.history("time").median(20))  # IterationTimer's, after warm-up
        except KeyError:
            step_time = math.nan
        out["time"] = step_time
        if step_time > 0 and math.isfinite(step_time):
            out["it_per_s"] = 1.0 / step_time
            out["eta_seconds"] = step_time * max(0, max_iter - it - 1)
        else:
            out["it_per_s"] = math.nan
            out["eta_seconds"] = math.nan
        return out


class TrainControl:
    """Thread-safe pause/resume/stop requests shared by a UI thread and the training loop."""

    def __init__(self) -> None:
        self._running = threading.Event()
        self._running.set()
        self._stop = threading.Event()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def stop(self) -> None:
        """Request a stop: the loop saves a checkpoint and ends (also wakes a paused loop)."""
        self._stop.set()
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set() and not self._stop.is_set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def wait_while_paused(self, poll_s: float = 0.1) -> None:
        """Block while paused; return at once when running or when a stop is requested."""
        while not self._running.wait(poll_s):
            if self._stop.is_set():
                return


class PhaseProgress:
    """Progress events of one phase, and the pause/stop checks between its units of work.

    Args:
        phase: one of :data:`PHASES`.
        total: units of work in the phase (samples, files, steps, images).
        callback: receives the ``{"kind": "progress"}`` dicts (None: none are sent).
        control: a :class:`TrainControl` to obey (None: nothing to obey).
        iteration: the main loop's last completed iteration, for :class:`TrainingStopped`.
    """

    def __init__(
        self, phase: str, total: int, callback: Callback | None = None, control: TrainControl | None = None, iteration: int = -1
    ) -> None:
        if phase not in PHASES:
            raise ValueError(f"unknown phase {phase!r}; expected one of {PHASES}")
        self.phase, self.total = phase, max(0, int(total))
        self.callback, self.control, self.iteration = callback, control, iteration
        self._last = -math.inf

    def update(self, done: int, text: str = "") -> None:
        """Report ``done`` of ``total`` (at most every :data:`PROGRESS_INTERVAL_S`; done == total is
        left to :meth:`finish`), then obey the control."""
        now = time.monotonic()
        if self.callback is not None and done < self.total and now - self._last >= PROGRESS_INTERVAL_S:
            self._last = now
            self.callback({"kind": "progress", "phase": self.phase, "done": int(done), "total": self.total, "text": text})
        self.check()

    def finish(self, text: str = "") -> None:
        """The phase's last event: done == total."""
        if self.callback is not None:
            self.callback({"kind": "progress", "phase": self.phase, "done": self.total, "total": self.total, "text": text})

    def check(self) -> None:
        """Block while paused; raise :class:`TrainingStopped` (nothing saved) when a stop is requested."""
        if self.control is None:
            return
        if self.control.paused:
            self.control.wait_while_paused()
        if self.control.stop_requested:
            raise TrainingStopped(self.iteration, "", self.phase)


class ControlHook(HookBase):
    """Obey a :class:`TrainControl` between iterations.

    Pause blocks in ``after_step`` (checking for stop while blocked). Stop saves
    ``model_{iter:07d}.pth`` through the trainer's checkpointer (which also tags
    ``last_checkpoint``), then raises :class:`TrainingStopped`; detectron2 runs every
    hook's ``after_train`` (writers flush), and ``run_training`` reports the stop.
    Register it last, so the saved state includes this iteration's LR-scheduler step.
    Single-process training only (the GUI's worker thread).
    """

    def __init__(self, control: TrainControl, callback: Callback | None = None) -> None:
        self._control = control
        self._callback = callback

    def _emit(self, event: dict[str, Any]) -> None:
        if self._callback is not None:
            self._callback(event)

    def before_train(self) -> None:
        self._obey(save=False)  # a stop before the first step: nothing to save

    def after_step(self) -> None:
        self._obey(save=True)

    def _obey(self, save: bool) -> None:
        it = int(self.trainer.iter) if save else int(self.trainer.start_iter) - 1
        if self._control.paused:
            self._emit({"kind": "state", "state": "paused", "iteration": it})
            self._control.wait_while_paused()
            if not self._control.stop_requested:
                self._emit({"kind": "state", "state": "running", "iteration": it})
        if not self._control.stop_requested:
            return
        self._emit({"kind": "state", "state": "stopping", "iteration": it})
        path = ""
        checkpointer = getattr(self.trainer, "checkpointer", None)
        if save and checkpointer is not None:
            checkpointer.save(f"model_{it:07d}", iteration=it)
            path = checkpointer.get_checkpoint_file() or ""
            self._emit({"kind": "log", "text": f"stopped after iteration {it + 1}; saved {path}"})
        raise TrainingStopped(it, path)


class EvalResultsHook(HookBase):
    """Forward each new evaluation result of detectron2's ``EvalHook`` to ``callback``.

    Register after the ``EvalHook`` (e.g. as an extra hook of :class:`Trainer`).
    """

    def __init__(self, callback: Callback) -> None:
        self._callback = callback
        self._seen: int | None = None

    def _check(self) -> None:
        results = getattr(self.trainer, "_last_eval_results", None)
        if results is None or id(results) == self._seen:
            return
        self._seen = id(results)
        flat = flatten_results_dict(results) if isinstance(results, Mapping) else {}
        clean = {k: float(v) for k, v in flat.items() if isinstance(v, (int, float))}
        self._callback({"kind": "eval", "iteration": int(self.trainer.iter), "results": clean})

    def after_step(self) -> None:
        self._check()

    def after_train(self) -> None:
        self._check()


def map_samples(runner: InferenceRunner, samples: Sequence[dict]) -> tuple[list[dict], list[dict]]:
    """(samples kept, their model inputs): samples whose files cannot be read are skipped by
    :mod:`app.backend.data.skipped`'s rule, so the preview never stops a run."""
    skipped = SkippedRecords("preview samples")
    kept, inputs = [], []
    for record in samples:
        try:
            inputs.append(runner.map_record(record))
        except Exception as exc:
            if not is_bad_record(exc):
                raise
            skipped.skip(record, exc)
            continue
        kept.append(record)
    return kept, inputs


class PreviewHook(HookBase):
    """Every ``period`` iterations, run inference on fixed samples and hand out overlays.

    Args:
        callback: receives ``{"kind": "preview", "iteration", "images", "predictions"}``
            with BGR uint8 overlays (H, W, 3) and :class:`FramePrediction` per sample.
        period: iterations between previews (<= 0: never).
        samples: dataset dicts (detectron2 format) of the samples to show.
        options: ``OverlayOptions`` for ``render_overlay`` (None: its defaults).
    """

    def __init__(self, callback: Callback, period: int, samples: Sequence[dict], options: Any = None) -> None:
        self._callback = callback
        self._period = int(period)
        self._samples = list(samples)
        self._options = options
        self._runner = None

    def before_train(self) -> None:
        if self._period > 0 and self._samples:
            self._runner = InferenceRunner(self.trainer.cfg, self.trainer.model)
            self._samples, self._inputs = map_samples(self._runner, self._samples)
            if not self._samples:
                self._runner = None

    def after_step(self) -> None:
        it = self.trainer.iter
        if self._runner is None or (it + 1) % self._period:
            return
        control = getattr(self.trainer, "control", None)
        if control is not None and control.stop_requested:  # the run ends after this step: no preview
            return
        t0 = time.perf_counter()
        outputs = self._runner.run(self._inputs, self._samples, options=self._options)
        self._callback(
            {
                "kind": "preview",
                "iteration": int(it),
                "images": [o.overlay for o in outputs],
                "predictions": [o.prediction for o in outputs],
            }
        )
        logger.debug("preview at iteration %d took %.2fs", it, time.perf_counter() - t0)

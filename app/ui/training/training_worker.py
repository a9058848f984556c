"""The trainer on its own QThread, with the job runner's signal contract.

Training keeps a QThread and a worker QObject of its own (napari/Orange3 pattern: moved to
the thread, ``run`` starts when the thread starts) because it talks more than a job: live
metrics, previews, evaluations, state and log lines, plus pause. Its ending speaks the
contract of :class:`app.widgets.job_runner.JobRunner`: ``progress(fraction, text)``,
``failed(message, details)`` worded by :func:`~app.widgets.job_runner.describe_exception`,
and ``finished()`` last. Signals carry plain values (floats, dicts of floats, numpy arrays,
FramePrediction) that Qt queues to bound slots of the GUI thread. Cancellation is
cooperative (:class:`~app.backend.engine.TrainControl`).
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.widgets.job_runner import describe_exception


def format_eta(seconds: float) -> str:
    """'04:07', '1:02:03' or '--:--' (unknown)."""
    if not math.isfinite(seconds) or seconds < 0:
        return "--:--"
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


def metrics_progress(m: dict[str, Any], max_iter: int) -> tuple[float, str]:
    """``(fraction done, "iteration 12 / 100   3.10 it/s   ETA 00:29")`` of one metrics dict (the
    metrics hook's, or a metrics.json line, which has no ``max_iter``: then ``max_iter`` is used)."""
    it = int(m["iteration"])
    max_iter = max(1, int(m.get("max_iter") or max_iter))
    ips = m.get("it_per_s", math.nan)
    if not isinstance(ips, float) or not math.isfinite(ips):
        t = m.get("time")
        ips = 1.0 / t if isinstance(t, (int, float)) and t > 0 else math.nan
    eta = m.get("eta_seconds", math.nan)
    return min(it + 1, max_iter) / max_iter, f"iteration {it + 1} / {max_iter}   {ips:.2f} it/s   ETA {format_eta(eta)}"


class _ThreadLogHandler(logging.Handler):
    """Forwards log records emitted on one thread to ``emit_line`` (formatted, one line each)."""

    def __init__(self, emit_line: Callable[[str], None]) -> None:
        super().__init__(logging.INFO)
        self.thread_id: int | None = None
        self._emit_line = emit_line
        self.setFormatter(logging.Formatter("[%(asctime)s %(name)s] %(message)s", "%H:%M:%S"))

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self.thread_id:
            return
        with contextlib.suppress(RuntimeError):  # the receiving QObject is already gone
            self._emit_line(self.format(record))


class TrainingWorker(QObject):
    """Runs ``app.backend.engine.run_training`` on its thread; hook dicts become signals.

    Signals (all queued to the GUI thread):
        metrics(dict): the metrics hook's dict (iteration, max_iter, losses, lr, it_per_s, eta_seconds).
        preview(dict): ``{"iteration", "images": [BGR uint8 (H, W, 3)], "predictions": [FramePrediction]}``.
        evaluation(dict): ``{"iteration", "results": {metric: float}}``.
        state(str): "running", "paused", "stopping".
        log(str): one log line.
        progress(float, str): fraction of MAX_ITER done and the progress bar's text, per metrics dict.
        failed(str, str): one-line message and details (the traceback of a bug; "" for a user
            error or a diverged loss).
        summary(dict): run_training's summary (status, iteration, last_checkpoint, message, ...),
            also after ``failed``.
        finished(): last.
    """

    metrics = Signal(dict)
    preview = Signal(dict)
    evaluation = Signal(dict)
    state = Signal(str)
    log = Signal(str)
    progress = Signal(float, str)
    failed = Signal(str, str)
    summary = Signal(dict)
    finished = Signal()

    def __init__(self, cfg: Any, resume: bool = False) -> None:
        super().__init__()
        from app.backend.engine.hooks import TrainControl

        self.cfg = cfg
        self.resume = resume
        self.control = TrainControl()
        self._log_handler = _ThreadLogHandler(self.log.emit)

    @Slot()
    def run(self) -> None:
        """Train until finished, stopped or failed; always ends with ``summary`` and ``finished``."""
        self._log_handler.thread_id = threading.get_ident()
        loggers = [logging.getLogger(name) for name in ("detectron2", "app", "fvcore")]
        for lg in loggers:
            lg.addHandler(self._log_handler)
            if lg.getEffectiveLevel() > logging.INFO:
                lg.setLevel(logging.INFO)
        summary: dict[str, Any] = {"status": "failed", "message": "", "last_checkpoint": "", "resumable": False}
        try:
            from app.backend.engine import run_training

            self.state.emit("running")
            summary = run_training(self.cfg, resume=self.resume, callback=self._deliver, control=self.control)
            if summary.get("status") == "diverged":
                self.failed.emit(summary.get("message", "loss became non-finite"), "")
        except Exception as exc:  # the GUI must survive any failure of the run
            message, details = describe_exception(exc)
            summary = {"status": "failed", "message": message, "last_checkpoint": "", "resumable": False}
            self.failed.emit(message, details)
        finally:
            for lg in loggers:
                lg.removeHandler(self._log_handler)
            self.summary.emit(summary)
            self.finished.emit()

    def _deliver(self, event: dict[str, Any]) -> None:
        """The engine's callback (training thread): route one plain dict to its signal."""
        kind = event.get("kind")
        if kind == "metrics":
            self.metrics.emit(event)
            self.progress.emit(*metrics_progress(event, int(self.cfg.SOLVER.MAX_ITER)))
        elif kind == "preview":
            self.preview.emit(event)
        elif kind == "eval":
            self.evaluation.emit(event)
        elif kind == "state":
            self.state.emit(str(event.get("state", "")))
        elif kind == "log":
            self.log.emit(str(event.get("text", "")))


def start_in_thread(worker: QObject, parent: QObject, finished_signal: Any) -> QThread:
    """Move ``worker`` to a new QThread (child of ``parent``), start it; the thread quits on ``finished_signal``."""
    thread = QThread(parent)
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    finished_signal.connect(thread.quit)
    thread.start()
    return thread


def join_thread(thread: QThread, timeout_ms: int) -> bool:
    """Wait for ``thread`` to finish while the GUI thread keeps delivering events; True when finished.

    ``QThread.wait`` in PySide6 keeps the GIL while it blocks, so a worker still running
    Python code could never finish (deadlock). This loop sleeps in Python instead (which
    releases the GIL) and processes events, so queued signals such as ``thread.quit``
    connected to the worker's last signal are delivered.
    """
    import time

    import shiboken6
    from PySide6.QtCore import QCoreApplication, QEventLoop

    deadline = time.monotonic() + timeout_ms / 1000.0
    # the thread object may be deleted (deleteLater of its finished handler) while events run
    while shiboken6.isValid(thread) and not thread.isFinished():
        if time.monotonic() > deadline:
            return False
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        time.sleep(0.01)
    return True

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
from collections import deque
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


#: The engine's phases (``{"kind": "progress", "phase": ...}``) as the progress bar names them.
PHASE_NAMES = {
    "read": "Reading samples",
    "stats": "Computing CSI statistics",
    "pretrain": "MTN pretraining",
    "train": "Training",
    "eval": "Evaluating",
}


def phase_progress(event: dict[str, Any]) -> tuple[float, str]:
    """``(fraction done or NaN when the total is unknown, "Reading samples: 1200 / 5000")`` of one
    ``{"kind": "progress", "phase", "done", "total", "text"}`` event."""
    phase = str(event.get("phase", ""))
    name = PHASE_NAMES.get(phase, phase.capitalize() or "Working")
    done, total = event.get("done"), event.get("total")
    text = str(event.get("text") or "")
    if isinstance(done, (int, float)) and isinstance(total, (int, float)) and total > 0:
        fraction = min(max(float(done) / float(total), 0.0), 1.0)
        return fraction, f"{name}: {text or f'{int(done)} / {int(total)}'}"
    return math.nan, f"{name}: {text}" if text else f"{name}…"


def pretrain_progress(m: dict[str, Any]) -> tuple[float, str]:
    """Progress of one MTN pretraining metrics dict (``iteration`` k of ``max_iter`` K, 0-based k)."""
    k, total = int(m.get("iteration", 0)), max(1, int(m.get("max_iter") or 1))
    return min(k + 1, total) / total, f"{PHASE_NAMES['pretrain']}: step {min(k + 1, total)} / {total}"


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


NOTHING_SAVED = "nothing was saved: no checkpoint to resume (Start begins again at iteration 0)"


def ending_progress(summary: dict[str, Any], max_iter: int) -> tuple[float, str, str]:
    """``(fraction, progress bar text, status)`` once a run has ended, from run_training's summary:
    how it ended and whether Resume can continue it; never an ETA."""
    status = str(summary.get("status", "?"))
    checkpoint = str(summary.get("last_checkpoint") or "")
    resumable = bool(summary.get("resumable", bool(checkpoint)))
    done = max(int(summary.get("iteration", -1)) + 1, 0)
    total = max(1, int(summary.get("max_iter") or max_iter))
    fraction = min(done / total, 1.0)
    if status == "finished":
        return 1.0, f"Finished: iteration {total} / {total}", "Finished"
    if status == "stopped" and not checkpoint:
        return fraction, f"Stopped at iteration {done} / {total}: {NOTHING_SAVED}", "Stopped: nothing was saved"
    if status == "stopped" and resumable:
        return fraction, f"Stopped after iteration {done} / {total}: Resume from checkpoint continues", "Stopped"
    return fraction, f"{status.capitalize()} at iteration {done} / {total}", status.capitalize()


class _ThreadLogHandler(logging.Handler):
    """Forwards log records emitted on one thread to ``emit_line`` (formatted, one line each).

    Remembers the last messages it forwarded (:meth:`forwarded`): the engine also hands some
    of its logged lines to the callback as ``{"kind": "log"}`` events, which must not print twice.
    """

    def __init__(self, emit_line: Callable[[str], None]) -> None:
        super().__init__(logging.INFO)
        self.thread_id: int | None = None
        self._emit_line = emit_line
        self._recent: deque[str] = deque(maxlen=64)
        self.setFormatter(logging.Formatter("[%(asctime)s %(name)s] %(message)s", "%H:%M:%S"))

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self.thread_id:
            return
        with contextlib.suppress(RuntimeError):  # the receiving QObject is already gone
            self._recent.append(record.getMessage())
            self._emit_line(self.format(record))

    def forwarded(self, message: str) -> bool:
        """True when ``message`` was logged (and so shown) a moment ago on the training thread."""
        return message in self._recent


class TrainingWorker(QObject):
    """Runs ``app.backend.engine.run_training`` on its thread; hook dicts become signals.

    Signals (all queued to the GUI thread):
        metrics(dict): the metrics hook's dict (iteration, max_iter, losses, lr, it_per_s, eta_seconds);
            MTN pretraining's have ``"phase": "pretrain"``, ``"losses": {...}`` and ``"lr"``.
        preview(dict): ``{"iteration", "images": [BGR uint8 (H, W, 3)], "predictions": [FramePrediction]}``.
        evaluation(dict): ``{"iteration", "results": {metric: float}}``.
        state(str): "running", "paused", "stopping".
        log(str): one log line.
        progress(float, str): fraction of the current phase done (NaN: unknown) and the progress bar's
            text naming the phase: per metrics dict and per ``{"kind": "progress"}`` event.
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
            summary = run_training(self.cfg, resume=self.resume, callback=self.deliver, control=self.control)
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

    def deliver(self, event: dict[str, Any]) -> None:
        """The engine's callback (training thread): route one plain dict to its signal.

        Events: ``metrics`` (main loop, or ``"phase": "pretrain"``), ``progress`` (``phase``, ``done``,
        ``total``, ``text``), ``preview``, ``eval``, ``state``, ``log`` (dropped when the same line was
        just logged on this thread: it is in the log pane already).
        """
        kind = event.get("kind")
        if kind == "metrics":
            self.metrics.emit(event)
            if event.get("phase") == "pretrain":
                self.progress.emit(*pretrain_progress(event))
            else:
                self.progress.emit(*metrics_progress(event, int(self.cfg.SOLVER.MAX_ITER)))
        elif kind == "progress":
            self.progress.emit(*phase_progress(event))
        elif kind == "preview":
            self.preview.emit(event)
        elif kind == "eval":
            self.evaluation.emit(event)
        elif kind == "state":
            self.state.emit(str(event.get("state", "")))
        elif kind == "log":
            text = str(event.get("text", ""))
            if not self._log_handler.forwarded(text):  # logged lines already reached the log pane
                self.log.emit(text)


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

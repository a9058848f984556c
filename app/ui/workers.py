"""Background work on QThreads: the trainer and one-shot jobs (inference, demo data).

Pattern (napari/Orange3): a worker QObject is moved to a QThread; its ``run`` slot starts
when the thread starts; it reports through signals carrying plain values (floats, dicts
of floats, numpy arrays, FramePrediction) that Qt queues to the GUI thread, where they
are connected to bound slots of GUI objects. Cancellation is cooperative
(:class:`~app.backend.engine.TrainControl`). Exceptions never escape a worker: they
become a ``failed(message, traceback)`` signal.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot


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
        failed(str, str): (one-line message, traceback text) of an exception or a diverged loss.
        done(dict): run_training's summary (status, iteration, last_checkpoint, message, ...).
    """

    metrics = Signal(dict)
    preview = Signal(dict)
    evaluation = Signal(dict)
    state = Signal(str)
    log = Signal(str)
    failed = Signal(str, str)
    done = Signal(dict)

    def __init__(self, cfg: Any, resume: bool = False) -> None:
        super().__init__()
        from app.backend.engine.hooks import TrainControl

        self.cfg = cfg
        self.resume = resume
        self.control = TrainControl()
        self._log_handler = _ThreadLogHandler(self.log.emit)

    @Slot()
    def run(self) -> None:
        """Train until finished, stopped or failed; always ends with ``done``."""
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
                self.failed.emit(summary.get("message", "loss became non-finite"), summary.get("message", ""))
        except Exception as exc:  # the GUI must survive any failure of the run
            message = f"{type(exc).__name__}: {exc}"
            summary = {"status": "failed", "message": message, "last_checkpoint": "", "resumable": False}
            self.failed.emit(message, traceback.format_exc())
        finally:
            for lg in loggers:
                lg.removeHandler(self._log_handler)
            self.done.emit(summary)

    def _deliver(self, event: dict[str, Any]) -> None:
        """The engine's callback (training thread): route one plain dict to its signal."""
        kind = event.get("kind")
        if kind == "metrics":
            self.metrics.emit(event)
        elif kind == "preview":
            self.preview.emit(event)
        elif kind == "eval":
            self.evaluation.emit(event)
        elif kind == "state":
            self.state.emit(str(event.get("state", "")))
        elif kind == "log":
            self.log.emit(str(event.get("text", "")))


class FunctionWorker(QObject):
    """Runs ``fn(*args, **kwargs)`` once on its thread.

    Signals:
        result(object): the return value.
        failed(str, str): (one-line message, traceback).
        finished(): after either.
    """

    result = Signal(object)
    failed = Signal(str, str)
    finished = Signal()

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self._fn, self._args, self._kwargs = fn, args, kwargs

    @Slot()
    def run(self) -> None:
        try:
            value = self._fn(*self._args, **self._kwargs)
        except Exception as exc:
            from app.backend.errors import is_user_error

            text = str(exc) if is_user_error(exc) else f"{type(exc).__name__}: {exc}"
            self.failed.emit(text, traceback.format_exc())
        else:
            self.result.emit(value)
        finally:
            self.finished.emit()


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

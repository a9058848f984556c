"""The one background-job runner of the app (after Orange3's TaskState and napari's thread workers).

A *job* is a plain function ``fn(state, *args, **kwargs)`` that runs on a worker thread. Through
its :class:`TaskState` it reports progress (a fraction 0..1 and a line of text) and partial
results, and it polls :attr:`TaskState.cancelled` (cancellation is cooperative: nothing is
killed). Its return value is the result; an exception becomes ``failed(message, details)``
as :func:`describe_exception` words it.

:class:`JobRunner` is a QObject of the GUI thread owned by one view or dialog, and runs one
job at a time for it. While a job runs, ``start`` either refuses (``replace=False``) or
cancels the running job, drops whatever it still reports and starts the new job as soon as
the old one has returned (``replace=True``); the owner picks per use. Everything a job
reports travels through one queued signal to a bound slot of the runner, so it arrives in
order on the GUI thread, where the runner re-emits it as ``progress``, ``partial``,
``result`` or ``failed`` and then, last, ``finished``. ``shutdown`` (call it when the owner
closes) cancels the job and joins its thread.

Lives in ``app.widgets`` (Qt, no detectron2, no ``app.ui``) so that widgets such as the
thumbnail grid and every view of ``app.ui`` use the same runner. Only plain values should
cross threads: numbers, strings, numpy arrays, dataclasses, QImage.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

#: Seconds between two progress reports that reach the GUI thread (the last one, fraction 1, always does).
PROGRESS_INTERVAL_S = 0.1

Report = Callable[[str, Any], None]


class JobCancelled(Exception):
    """Raised by :meth:`TaskState.raise_if_cancelled`; the job then ends without result or failure."""


def describe_exception(exc: BaseException) -> tuple[str, str]:
    """``(message, details)`` of a failed job.

    A user error (bad file, bad config: :func:`app.backend.errors.is_user_error`) keeps its
    own one-line message and has no details; any other exception is a bug: the message is
    ``"TypeName: message"`` and the details are its traceback.
    """
    from app.backend.errors import is_user_error

    if is_user_error(exc):
        return str(exc), ""
    return f"{type(exc).__name__}: {exc}", "".join(traceback.format_exception(exc))


def failure_text(context: str, message: str, details: str = "", frames: int = 2) -> str:
    """``"<context>: <message>"`` for a status label or banner; a bug adds the last ``frames``
    frames of its traceback (where it failed), so the banner stays a few lines tall."""
    text = f"{context}: {message}"
    lines = details.strip().splitlines()
    if lines:
        text += "\n" + "\n".join(lines[-(2 * frames + 1):-1])
    return text


class TaskState:
    """The job's side of a running job: progress, partial results and the cancel flag.

    Used on the worker thread (thread-safe). Built by :class:`JobRunner`; ``TaskState()``
    alone runs a job synchronously with its reports dropped (tests, scripts).
    """

    def __init__(self, report: Report | None = None, progress_interval_s: float = PROGRESS_INTERVAL_S) -> None:
        self._report: Report = report or (lambda kind, value: None)
        self._cancel = threading.Event()
        self._interval = float(progress_interval_s)
        self._last_progress = -math.inf

    @property
    def cancelled(self) -> bool:
        """True once the owner cancelled the job (or a newer job replaced it, or the owner closed)."""
        return self._cancel.is_set()

    def cancel(self) -> None:
        self._cancel.set()

    def raise_if_cancelled(self) -> None:
        """Raise :class:`JobCancelled` when cancelled (a job's quiet way out of nested loops)."""
        if self._cancel.is_set():
            raise JobCancelled()

    def set_progress(self, fraction: float, text: str = "") -> None:
        """Report ``fraction`` done (0..1) and a line of text; throttled to one report per
        ``progress_interval_s``, except the first and any with fraction >= 1."""
        now = time.monotonic()
        if fraction < 1.0 and now - self._last_progress < self._interval:
            return
        self._last_progress = now
        self._report("progress", (float(fraction), str(text)))

    def set_partial_result(self, value: Any) -> None:
        """Hand the owner a piece of the result now (never throttled; arrives in order)."""
        self._report("partial", value)


class _Relay(QObject):
    """Carries every report of a job (job id, kind, value) to the runner's slot, queued.

    Parentless and referenced by the job's thread, so a job can still report (into the
    void) after its owner and runner are gone.
    """

    report = Signal(int, str, object)


def _reporter(relay: _Relay, job_id: int) -> Report:
    """The worker thread's way to report ``(kind, value)`` of job ``job_id`` to the runner."""

    def report(kind: str, value: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the relay's C++ side is gone (interpreter exit)
            relay.report.emit(job_id, kind, value)

    return report


def _run_job(report: Report, state: TaskState, previous: threading.Thread | None,
             fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
    """Worker thread: wait for the job this one replaced, run ``fn``, report its outcome, then ``finished``."""
    if previous is not None:
        previous.join()  # one job at a time per owner: the replaced job returns first
    try:
        if not state.cancelled:
            report("result", fn(state, *args, **kwargs))
    except JobCancelled:
        pass
    except Exception as exc:  # the GUI must survive any failure of a job
        report("failed", describe_exception(exc))
    finally:
        report("finished", None)


class JobRunner(QObject):
    """Runs one job at a time for its owner (``parent``) on a worker thread.

    Args:
        parent: the owner (a view or dialog of the GUI thread).
        replace: what ``start`` does while a job runs: False refuses (returns False), True
            cancels the running job, drops what it still reports and queues the new one.
        name: thread name prefix (``"<name>-<n>"``), for logs and leak checks.

    Signals (emitted on the GUI thread, in the order the job reported):
        progress(float, str): fraction done 0..1 and a line of text.
        partial(object): a partial result.
        result(object): the job's return value.
        failed(str, str): one-line message and details (traceback; "" for a user error).
        finished(): after ``result`` or ``failed`` (or a job that ended cancelled); last.
    """

    progress = Signal(float, str)
    partial = Signal(object)
    result = Signal(object)
    failed = Signal(str, str)
    finished = Signal()

    def __init__(self, parent: QObject | None = None, *, replace: bool = False, name: str = "job") -> None:
        super().__init__(parent)
        self.replace = replace
        self.name = name
        self._relay = _Relay()
        self._relay.report.connect(self._on_report, Qt.ConnectionType.QueuedConnection)
        self._job_id = 0
        self._running = False
        self._state: TaskState | None = None
        self._thread: threading.Thread | None = None
        self._threads: list[threading.Thread] = []  # started and not yet joined

    def is_running(self) -> bool:
        """True from a successful ``start`` until its ``finished`` (or ``discard``/``shutdown``)."""
        return self._running

    def start(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
        """Run ``fn(state, *args, **kwargs)`` on a new worker thread; False when refused."""
        if self._running:
            if not self.replace:
                return False
            self.discard()
        self._job_id += 1
        report = _reporter(self._relay, self._job_id)
        state = TaskState(report)
        thread = threading.Thread(target=_run_job, args=(report, state, self._thread, fn, args, kwargs),
                                  name=f"{self.name}-{self._job_id}")
        self._threads = [t for t in self._threads if t.is_alive()]
        self._threads.append(thread)
        self._state, self._thread, self._running = state, thread, True
        thread.start()
        return True

    def cancel(self) -> None:
        """Ask the running job to stop; what it reports until it returns still arrives."""
        if self._state is not None:
            self._state.cancel()

    def discard(self) -> None:
        """Cancel the running job and drop everything it still reports (no ``finished`` either).

        The runner is idle at once; a job started next waits until this one has returned.
        """
        if self._state is not None:
            self._state.cancel()
        self._job_id += 1  # reports carrying an older id are dropped
        self._state, self._running = None, False

    def shutdown(self, timeout_s: float | None = None) -> bool:
        """Discard the running job and join every thread this runner started (call on close).

        Returns False when a thread was still running after ``timeout_s`` (None: wait for it).
        """
        self.discard()
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        self._threads = [t for t in self._threads if t.is_alive()]
        return not self._threads

    @Slot(int, str, object)
    def _on_report(self, job_id: int, kind: str, value: Any) -> None:
        """GUI thread: re-emit one report of the current job; drop those of discarded jobs."""
        if job_id != self._job_id or not self._running:
            return
        if kind == "progress":
            self.progress.emit(*value)
        elif kind == "partial":
            self.partial.emit(value)
        elif kind == "result":
            self.result.emit(value)
        elif kind == "failed":
            self.failed.emit(*value)
        elif kind == "finished":
            self._state, self._running = None, False
            for thread in self._threads:
                thread.join()  # each has reported its last word (or was joined by its successor)
            self._threads = []
            self.finished.emit()

"""A QThread worker for the capture jobs (recording / MM-Fi import, pseudo-labelling).

The job is a plain backend function ``fn(options, progress=callback, should_stop=check)``
(Orange3's TaskState pattern): it reports :class:`ImportProgress` values and polls for
cancellation. Progress is throttled to about ten signals a second; everything crosses to
the GUI thread through queued signals carrying plain values.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

PROGRESS_INTERVAL_S = 0.1


class CaptureJobWorker(QObject):
    """Runs one capture job on its thread.

    Signals:
        progress(object): an ``ImportProgress`` (done, total, elapsed_s, eta_s, stage).
        done(object): the job's report (``complete`` False when it was cancelled).
        failed(str, str): one-line message and traceback.
        finished(): after ``done`` or ``failed``.
    """

    progress = Signal(object)
    done = Signal(object)
    failed = Signal(str, str)
    finished = Signal()

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        super().__init__()
        self._fn, self._args = fn, args
        self._stop = threading.Event()
        self._last = 0.0

    def stop(self) -> None:
        """Ask the job to stop after the current frame (thread-safe)."""
        self._stop.set()

    def _progress(self, p: Any) -> None:
        now = time.perf_counter()
        if now - self._last >= PROGRESS_INTERVAL_S or p.done >= p.total:
            self._last = now
            self.progress.emit(p)

    @Slot()
    def run(self) -> None:
        try:
            report = self._fn(*self._args, progress=self._progress, should_stop=self._stop.is_set)
        except Exception as exc:  # the GUI must survive any failure of the job
            from app.backend.errors import is_user_error

            text = str(exc) if is_user_error(exc) else f"{type(exc).__name__}: {exc}"
            self.failed.emit(text, traceback.format_exc())
        else:
            self.done.emit(report)
        finally:
            self.finished.emit()


def format_progress(p: Any) -> str:
    """'importing: 12/40 frames (30%), ETA 3 s' for a status label."""
    eta = f", ETA {p.eta_s:.0f} s" if p.eta_s is not None else ""
    return f"{p.stage}: {p.done}/{p.total} ({100 * p.fraction:.0f}%){eta}"

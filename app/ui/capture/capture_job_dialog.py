"""Base of the dialogs that run one capture job (import, pseudo-label) in the background.

The subclass lays out its fields with :meth:`build_job_layout`, implements ``start``, which
calls :meth:`launch` with a capture function of the backend and its arguments, and
implements :meth:`_on_done` (the job's report) and :meth:`_set_running` (enable/disable its
fields). The job runs on the dialog's :class:`~app.widgets.job_runner.JobRunner` (one at a
time: Start is refused while one runs); Cancel is cooperative; closing the dialog stops the
job and joins its thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLayout,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.widgets.job_runner import JobRunner, TaskState


def format_progress(p: Any) -> str:
    """'importing: 12/40 (30%), ETA 3 s' for a status label, from an ``ImportProgress``."""
    eta = f", ETA {p.eta_s:.0f} s" if p.eta_s is not None else ""
    return f"{p.stage}: {p.done}/{p.total} ({100 * p.fraction:.0f}%){eta}"


def run_capture_job(state: TaskState, fn: Callable[..., Any], *args: Any) -> Any:
    """A capture function of the backend, ``fn(*args, progress=..., should_stop=...)``, as a job:
    its ``ImportProgress`` values become the job's progress, its stop check the job's cancel flag."""

    def progress(p: Any) -> None:
        state.set_progress(p.fraction, format_progress(p))

    return fn(*args, progress=progress, should_stop=lambda: state.cancelled)


class CaptureJobDialog(QDialog):
    #: Shown in the status line while a cancel is pending.
    stopping_text = "stopping…"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.job = JobRunner(self, name="capture")  # refuses a second job while one runs
        self.job.progress.connect(self._on_progress)
        self.job.result.connect(self._on_done)
        self.job.failed.connect(self._on_failed)
        self.job.finished.connect(self._on_finished)

    def build_job_layout(self, top: QWidget | QLayout, start_text: str, cancel_text: str = "Cancel") -> None:
        """Lay out ``top`` (the job's fields) above a progress bar, status line, log and the
        Start / Cancel / Close buttons, and connect the buttons."""
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 100)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        self.log = QPlainTextEdit(self)
        self.log.setReadOnly(True)
        self.start_button = QPushButton(start_text, self)
        self.cancel_button = QPushButton(cancel_text, self)
        self.cancel_button.setEnabled(False)
        self.close_button = QPushButton("Close", self)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for b in (self.start_button, self.cancel_button, self.close_button):
            buttons.addWidget(b)
        lay = QVBoxLayout(self)
        if isinstance(top, QLayout):
            lay.addLayout(top)
        else:
            lay.addWidget(top)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        lay.addWidget(self.log, 1)
        lay.addLayout(buttons)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.close)

    @property
    def running(self) -> bool:
        return self.job.is_running()

    def launch(self, fn: Callable[..., Any], *args: Any, status: str = "starting…") -> None:
        """Run ``fn(*args, progress=..., should_stop=...)`` on the dialog's job runner."""
        if self.job.start(run_capture_job, fn, *args):
            self.status.setText(status)
            self._set_running(True)

    def cancel(self) -> None:
        if self.job.is_running():
            self.job.cancel()
            self.status.setText(self.stopping_text)

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)

    def _on_done(self, report: Any) -> None:
        """The job's report (``complete`` False when it was cancelled); subclasses show it."""

    def _on_progress(self, fraction: float, text: str) -> None:
        self.progress.setValue(round(100 * fraction))
        self.status.setText(text)

    def _on_failed(self, message: str, details: str) -> None:
        self.status.setText(f"error: {message}")
        self.log.setPlainText(details)

    def _on_finished(self) -> None:
        self._set_running(False)

    def shutdown(self) -> None:
        """Stop a running job and wait for its thread (call before closing)."""
        self.job.shutdown(timeout_s=60)
        self._set_running(False)

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)

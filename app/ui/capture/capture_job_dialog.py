"""Base of the dialogs that run one capture job (import, pseudo-label) on a worker thread.

The subclass lays out its fields with :meth:`build_job_layout`, implements ``start``, which
calls :meth:`launch` with the job function and its arguments, and
implements :meth:`_on_done` (the job's report) and :meth:`_set_running` (enable/disable its
fields). Cancellation is cooperative; closing the dialog stops the job and joins the thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QThread
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

from app.ui.capture.capture_worker import CaptureJobWorker, format_progress
from app.ui.training.training_worker import join_thread, start_in_thread


class CaptureJobDialog(QDialog):
    #: Shown in the status line while a cancel is pending.
    stopping_text = "stopping…"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: CaptureJobWorker | None = None

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
        return self._thread is not None

    def launch(self, fn: Callable[..., Any], *args: Any, status: str = "starting…") -> None:
        """Run ``fn(*args, progress=..., stop=...)`` through a CaptureJobWorker on a new thread."""
        worker = CaptureJobWorker(fn, *args)
        worker.progress.connect(self._on_progress)
        worker.done.connect(self._on_done)
        worker.failed.connect(self._on_failed)
        worker.finished.connect(self._on_finished)
        self._worker = worker
        self.status.setText(status)
        self._thread = start_in_thread(worker, self, worker.finished)
        self._thread.finished.connect(self._on_thread_finished)
        self._set_running(True)

    def cancel(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self.status.setText(self.stopping_text)

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)

    def _on_progress(self, p: Any) -> None:
        self.progress.setValue(round(100 * p.fraction))
        self.status.setText(format_progress(p))

    def _on_failed(self, message: str, details: str) -> None:
        self.status.setText(f"error: {message}")
        self.log.setPlainText(details)

    def _on_finished(self) -> None:
        if self._thread is not None:
            self._thread.quit()

    def _on_thread_finished(self) -> None:
        self._thread = self._worker = None
        self._set_running(False)

    def shutdown(self) -> None:
        """Stop a running job and wait for its thread (call before closing)."""
        if self._worker is not None:
            self._worker.stop()
        if self._thread is not None:
            self._thread.quit()
            join_thread(self._thread, 60000)

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)

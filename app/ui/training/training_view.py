"""Training view: start/pause/stop a run on a QThread, live curves, metrics, preview and log.

The trainer runs in a :class:`~app.ui.training.training_worker.TrainingWorker` on its own QThread; its
signals (plain dicts) arrive at bound slots here. A run can also be *attached*: the
view then follows any detectron2 output folder's ``metrics.json`` and plots it the same
way. One run (local or attached) at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt, QThread, Signal, Slot
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.ui.common.error_dialog import ErrorDialog
from app.ui.training.run_follower import RunFollower
from app.ui.training.training_worker import TrainingWorker, join_thread, metrics_progress, start_in_thread
from app.widgets.image_view import ImageView
from app.widgets.log_panel import LogPanel
from app.widgets.loss_plot import LossPlot

#: metrics.json / hook keys that are bookkeeping, not curves.
NON_CURVE_KEYS = {"kind", "iteration", "max_iter", "time", "data_time", "eta_seconds", "it_per_s", "rank_data_time"}


class TrainingView(QWidget):
    """Controls, progress, loss/lr curves, evaluation table, live preview and log of one run.

    Signals:
        runStarted(): a local run began.
        runFinished(dict): the run's summary (``status``: finished | stopped | diverged | failed).
        metricsReceived(dict): each metrics dict (local hook or attached metrics.json line).
    """

    runStarted = Signal()
    runFinished = Signal(dict)
    metricsReceived = Signal(dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._config_provider: Callable[[], Any] | None = None
        self._thread: QThread | None = None
        self._worker: TrainingWorker | None = None
        self._follower: RunFollower | None = None
        self.last_summary: dict[str, Any] = {}
        self.error_dialogs: list[ErrorDialog] = []
        self.eval_history: list[dict[str, Any]] = []

        self.start_button = QPushButton("Start", self)
        self.resume_ckpt_button = QPushButton("Resume from checkpoint", self)
        self.pause_button = QPushButton("Pause", self)
        self.pause_button.setCheckable(True)
        self.stop_button = QPushButton("Stop", self)
        self.attach_button = QPushButton("Attach to run…", self)
        self.detach_button = QPushButton("Detach", self)
        self.start_button.clicked.connect(self.start)
        self.resume_ckpt_button.clicked.connect(self.start_resume)
        self.pause_button.toggled.connect(self.set_paused)
        self.stop_button.clicked.connect(self.stop)
        self.attach_button.clicked.connect(self._choose_attach_folder)
        self.detach_button.clicked.connect(self.detach)
        self.status_label = QLabel("Idle", self)

        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("not started")
        self.progress.setTextVisible(True)

        self.loss_plot = LossPlot(self)
        self.preview = ImageView(self, placeholder="Live preview appears every UI.PREVIEW_PERIOD iterations")
        self.preview_label = QLabel("", self)
        self.eval_table = QTableWidget(0, 3, self)
        self.eval_table.setHorizontalHeaderLabels(["metric", "value", "iteration"])
        self.eval_table.verticalHeader().setVisible(False)
        self.eval_table.horizontalHeader().setStretchLastSection(True)
        self.eval_table.setColumnWidth(0, 200)
        self.log_panel = LogPanel(self)

        buttons = QHBoxLayout()
        for b in (self.start_button, self.pause_button, self.stop_button, self.resume_ckpt_button):
            buttons.addWidget(b)
        buttons.addSpacing(16)
        buttons.addWidget(self.attach_button)
        buttons.addWidget(self.detach_button)
        buttons.addStretch(1)
        buttons.addWidget(self.status_label)

        preview_box = QWidget(self)
        pv = QVBoxLayout(preview_box)
        pv.setContentsMargins(0, 0, 0, 0)
        pv.addWidget(self.preview, 1)
        pv.addWidget(self.preview_label)
        side_tabs = QTabWidget(self)
        side_tabs.addTab(preview_box, "Preview")
        side_tabs.addTab(self.eval_table, "Evaluation")
        self.side_tabs = side_tabs

        top = QSplitter(Qt.Orientation.Horizontal, self)
        top.addWidget(self.loss_plot)
        top.addWidget(side_tabs)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 2)
        vsplit = QSplitter(Qt.Orientation.Vertical, self)
        vsplit.addWidget(top)
        vsplit.addWidget(self.log_panel)
        vsplit.setStretchFactor(0, 4)
        vsplit.setStretchFactor(1, 1)

        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(vsplit, 1)
        self._update_buttons()

    # wiring ----------------------------------------------------------------------
    def set_config_provider(self, provider: Callable[[], Any]) -> None:
        """``provider()`` returns the CfgNode of the next run (edits apply to the next run)."""
        self._config_provider = provider

    def is_running(self) -> bool:
        return self._thread is not None

    def is_attached(self) -> bool:
        return self._follower is not None

    # local runs --------------------------------------------------------------------
    @Slot()
    def start(self, resume: bool = False) -> bool:
        """Start a run with the provider's config; False (and a message) when one is already active."""
        if self.is_running() or self.is_attached():
            self.log_panel.append_line("A run is already active: stop or detach it first.")
            return False
        if self._config_provider is None:
            self.log_panel.append_line("No config to train.")
            return False
        try:
            cfg = self._config_provider()
        except Exception as exc:
            self._show_error("Invalid config", str(exc), "")
            return False
        self.loss_plot.clear()
        self.eval_table.setRowCount(0)
        self.eval_history.clear()
        self.last_summary = {}
        max_iter = int(cfg.SOLVER.MAX_ITER)
        self.progress.setRange(0, max(1, max_iter))
        self.progress.setValue(0)
        self.progress.setFormat(f"starting… 0 / {max_iter}")
        self.log_panel.append_line(f"Training → {cfg.OUTPUT_DIR} ({'resume' if resume else 'new run'})")
        worker = TrainingWorker(cfg, resume=resume)
        worker.metrics.connect(self.on_metrics)
        worker.preview.connect(self.on_preview)
        worker.evaluation.connect(self.on_evaluation)
        worker.state.connect(self.on_state)
        worker.log.connect(self.log_panel.append_line)
        worker.progress.connect(self.on_progress)
        worker.failed.connect(self.on_failed)
        worker.summary.connect(self.on_done)
        self._worker = worker
        self._thread = start_in_thread(worker, self, worker.finished)
        self._thread.finished.connect(self._on_thread_finished)
        self._update_buttons()
        self.runStarted.emit()
        return True

    @Slot()
    def start_resume(self) -> bool:
        """Continue from OUTPUT_DIR/last_checkpoint (same iteration count and LR schedule)."""
        return self.start(resume=True)

    @Slot(bool)
    def set_paused(self, paused: bool) -> None:
        if self._worker is None:
            return
        if paused:
            self._worker.control.pause()
            self.pause_button.setText("Resume")
        else:
            self._worker.control.resume()
            self.pause_button.setText("Pause")

    @Slot()
    def stop(self) -> None:
        """Ask the run to stop: it saves a checkpoint and ends (cooperatively, between iterations)."""
        if self._worker is not None:
            self._worker.control.stop()
            self.status_label.setText("Stopping…")

    def shutdown(self, timeout_ms: int = 600_000) -> bool:
        """Stop the run (checkpoint saved by the engine) and join its thread; True when joined."""
        self.detach()
        if self._thread is None:
            return True
        self.stop()
        thread = self._thread
        ok = join_thread(thread, timeout_ms)
        if ok:
            # deliver the worker's queued signals (done, last metrics), then settle the state
            QCoreApplication.sendPostedEvents()
            QCoreApplication.processEvents()
            if self._thread is thread:
                self._on_thread_finished()
        return bool(ok)

    # slots for worker signals ---------------------------------------------------------
    @Slot(dict)
    def on_metrics(self, m: dict) -> None:
        """Plot one metrics dict (local hook or attached metrics.json line) and update progress."""
        it = m.get("iteration")
        if it is None:
            return
        curves = {k: v for k, v in m.items() if k not in NON_CURVE_KEYS and "/" not in k
                  and isinstance(v, (int, float)) and not isinstance(v, bool)}
        if curves:
            self.loss_plot.append(int(it), curves)
        evals = {k: v for k, v in m.items() if "/" in k and isinstance(v, (int, float))}
        if evals:
            self.on_evaluation({"iteration": it, "results": evals})
        self.progress.setRange(0, max(1, int(m.get("max_iter") or self.progress.maximum())))
        if self._worker is None:  # an attached run: a local run's worker reports progress itself
            self.on_progress(*metrics_progress(m, self.progress.maximum()))
        self.metricsReceived.emit(m)

    @Slot(float, str)
    def on_progress(self, fraction: float, text: str) -> None:
        self.progress.setValue(round(fraction * self.progress.maximum()))
        self.progress.setFormat(text)

    @Slot(dict)
    def on_preview(self, p: dict) -> None:
        images = p.get("images") or []
        if not images:
            return
        import numpy as np

        row = np.concatenate([img for img in images if img is not None], axis=1) if len(images) > 1 else images[0]
        self.preview.set_image(row, bgr=True)
        self.preview_label.setText(f"Preview at iteration {int(p.get('iteration', 0)) + 1}: "
                                   f"{len(images)} validation sample(s)")

    @Slot(dict)
    def on_evaluation(self, e: dict) -> None:
        results = e.get("results") or {}
        it = min(int(e.get("iteration", 0)), self.progress.maximum() - 1)  # after_train reports max_iter
        self.eval_history.append({"iteration": it, "results": dict(results)})
        existing = {self.eval_table.item(r, 0).text(): r for r in range(self.eval_table.rowCount())}
        for key, value in sorted(results.items()):
            row = existing.get(key)
            if row is None:
                row = self.eval_table.rowCount()
                self.eval_table.insertRow(row)
                self.eval_table.setItem(row, 0, QTableWidgetItem(key))
            self.eval_table.setItem(row, 1, QTableWidgetItem(f"{value:.3f}"))
            self.eval_table.setItem(row, 2, QTableWidgetItem(str(it + 1)))
        if results:
            self.log_panel.append_line(f"evaluation at iteration {it + 1}: {len(results)} metrics")

    @Slot(str)
    def on_state(self, state: str) -> None:
        self.status_label.setText(state.capitalize())

    @Slot(str, str)
    def on_failed(self, message: str, details: str) -> None:
        self.log_panel.append_line(f"ERROR: {message}")
        self._show_error("Training failed", message, details)

    @Slot(dict)
    def on_done(self, summary: dict) -> None:
        self.last_summary = dict(summary)
        status = summary.get("status", "?")
        self.status_label.setText(status.capitalize())
        self.log_panel.append_line(f"Run {status}: {summary.get('message', '')}")
        if summary.get("last_checkpoint"):
            self.log_panel.append_line(f"last checkpoint: {summary['last_checkpoint']}")

    @Slot()
    def _on_thread_finished(self) -> None:
        if self._thread is None:
            return
        thread, self._thread, self._worker = self._thread, None, None
        if thread is not None:
            thread.deleteLater()
        self.pause_button.setChecked(False)
        self._update_buttons()
        self.runFinished.emit(self.last_summary)

    # attach -----------------------------------------------------------------------------
    def attach(self, folder: str | Path) -> bool:
        """Follow ``folder/metrics.json`` (existing lines first, then appended ones)."""
        if self.is_running():
            self.log_panel.append_line("Stop the local run before attaching to another one.")
            return False
        self.detach()
        self.loss_plot.clear()
        self.eval_table.setRowCount(0)
        self._follower = RunFollower(folder, self)
        self._follower.record.connect(self.on_metrics)
        self._follower.start()
        self.status_label.setText(f"Attached: {folder}")
        self.log_panel.append_line(f"Following {Path(folder) / 'metrics.json'}")
        self._update_buttons()
        return True

    @Slot()
    def detach(self) -> None:
        if self._follower is None:
            return
        self._follower.stop()
        self._follower.deleteLater()
        self._follower = None
        self.status_label.setText("Idle")
        self._update_buttons()

    @Slot()
    def _choose_attach_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Attach to a detectron2 output folder")
        if folder:
            self.attach(folder)

    # helpers ------------------------------------------------------------------------------
    def _show_error(self, title: str, message: str, details: str) -> None:
        dialog = ErrorDialog(title, message, details, self)
        self.error_dialogs.append(dialog)
        dialog.show()

    def _update_buttons(self) -> None:
        running, attached = self.is_running(), self.is_attached()
        self.start_button.setEnabled(not running and not attached)
        self.resume_ckpt_button.setEnabled(not running and not attached)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        self.attach_button.setEnabled(not running)
        self.detach_button.setEnabled(attached)

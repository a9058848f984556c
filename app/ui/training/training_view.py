"""Training view: start/pause/stop a run on a QThread, live curves, metrics, preview and log.

The trainer runs in a :class:`~app.ui.training.training_worker.TrainingWorker` on its own QThread; its
signals (plain dicts) arrive at bound slots here. A run can also be *attached*: the
view then follows any detectron2 output folder's ``metrics.json`` and plots it the same
way. One run (local or attached) at a time. With a project open, the *Run* list holds the
project's earlier runs (folders with a ``metrics.json``) and shows the newest.

The progress bar names the engine's phase (reading samples, CSI statistics, MTN pretraining,
training, evaluation); MTN pretraining's losses are curves of their own ("pretrain ..."), drawn
at negative iterations, before training's iteration 0. *Resume from checkpoint* is enabled only
when the output folder holds a checkpoint to resume (the run's ``summary["resumable"]`` when the
engine says so).
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
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.backend.checkpoint import latest_checkpoint
from app.ui.common.error_dialog import ErrorDialog
from app.ui.common.start_folder import start_folder
from app.ui.training.run_follower import RunFollower
from app.ui.training.run_history import curve_values, eval_values, read_history
from app.ui.training.run_picker import RunPicker
from app.ui.training.training_worker import (
    NOTHING_SAVED,
    TrainingWorker,
    ending_progress,
    join_thread,
    metrics_progress,
    start_in_thread,
)
from app.widgets.eval_table import EvalTable
from app.widgets.icons import icon
from app.widgets.image_view import ImageView
from app.widgets.log_panel import LogPanel
from app.widgets.loss_plot import LossPlot
from app.widgets.shortcuts import button_shortcut, with_shortcut

#: Prefix of MTN pretraining's curves ("pretrain loss_mtn_parts", "pretrain lr").
PRETRAIN_PREFIX = "pretrain "
#: The progress bar's resolution: it shows the fraction of the current phase in 1/1000 steps.
PROGRESS_STEPS = 1000


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
        for button, role, keys, tip in (
            (self.start_button, "start", "F5", "Train the project's config from iteration 0"),
            (self.pause_button, "pause", "F6", "Pause or continue the run between iterations"),
            (self.stop_button, "stop", "Shift+F5", "Stop the run; it saves what can be resumed"),
            (self.resume_ckpt_button, "resume", "Ctrl+F5", "Continue from the output folder's last checkpoint"),
            (self.attach_button, "attach", "", "Follow the metrics.json of a run started elsewhere"),
            (self.detach_button, "detach", "", "Stop following the attached run"),
        ):
            button.setIcon(icon(role))
            if keys:
                action = button_shortcut(button, keys, self, tip)
                if button is self.resume_ckpt_button:
                    self._resume_action = action
            else:
                button.setToolTip(tip)
        self.status_label = QLabel("Idle", self)
        self.run_combo = RunPicker(self)
        self.run_combo.activated.connect(self._on_run_chosen)
        self._project_root: Path | None = None
        self._resumable = False
        self._max_iter = 1

        self.progress = QProgressBar(self)
        self.progress.setTextVisible(True)
        self._set_progress(0.0, "not started")

        self.loss_plot = LossPlot(self)
        self.preview = ImageView(self, placeholder="Live preview appears every UI.PREVIEW_PERIOD iterations")
        self.preview_label = QLabel("", self)
        self.eval_table = EvalTable(self)
        self.log_panel = LogPanel(self)

        buttons = QHBoxLayout()
        for b in (self.start_button, self.pause_button, self.stop_button, self.resume_ckpt_button):
            buttons.addWidget(b)
        buttons.addSpacing(16)
        buttons.addWidget(self.attach_button)
        buttons.addWidget(self.detach_button)
        buttons.addSpacing(16)
        buttons.addWidget(QLabel("Run:", self))
        buttons.addWidget(self.run_combo, 1)
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
        vsplit.setStretchFactor(0, 3)
        vsplit.setStretchFactor(1, 1)
        vsplit.setCollapsible(1, False)
        self.splitter = vsplit

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
        self._clear_run()
        self.last_summary = {}
        max_iter = int(cfg.SOLVER.MAX_ITER)
        self._max_iter = max(1, max_iter)
        self._set_progress(0.0, f"Starting… (iteration 0 / {max_iter})")
        self.loss_plot.set_empty_text("The run is starting: the progress bar names what it does now; "
                                      "curves appear with the first metrics.")
        self.log_panel.append_line(f"Training → {cfg.OUTPUT_DIR} ({'resume' if resume else 'new run'})")
        worker = TrainingWorker(cfg, resume=resume)
        self.connect_worker(worker)
        self._thread = start_in_thread(worker, self, worker.finished)
        self._thread.finished.connect(self._on_thread_finished)
        self._update_buttons()
        self.runStarted.emit()
        return True

    def connect_worker(self, worker: TrainingWorker) -> None:
        """Route ``worker``'s signals to this view's slots (what :meth:`start` does before the thread starts)."""
        worker.metrics.connect(self.on_metrics)
        worker.preview.connect(self.on_preview)
        worker.evaluation.connect(self.on_evaluation)
        worker.state.connect(self.on_state)
        worker.log.connect(self.log_panel.append_line)
        worker.progress.connect(self.on_progress)
        worker.failed.connect(self.on_failed)
        worker.summary.connect(self.on_done)
        worker.finished.connect(self._on_worker_finished)
        self._worker = worker

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
            self.progress.setFormat("Stopping: saving what can be resumed…")
            self.stop_button.setEnabled(False)
            self.pause_button.setEnabled(False)

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
        if m.get("phase") == "pretrain":
            self._on_pretrain_metrics(m)
            self.metricsReceived.emit(m)
            return
        curves = curve_values(m)
        if curves:
            self.loss_plot.append(int(it), curves)
        evals = eval_values(m)
        if evals:
            self.on_evaluation({"iteration": it, "results": evals})
        self._max_iter = max(1, int(m.get("max_iter") or self._max_iter))
        if self._worker is None:  # an attached run: a local run's worker reports progress itself
            self.on_progress(*metrics_progress(m, self._max_iter))
        self.metricsReceived.emit(m)

    def _on_pretrain_metrics(self, m: dict) -> None:
        """MTN pretraining step k of K: its losses and lr as curves of their own at iteration k - K."""
        k, total = int(m["iteration"]), max(1, int(m.get("max_iter") or 1))
        values = {PRETRAIN_PREFIX + name: v for name, v in (m.get("losses") or {}).items()}
        if isinstance(m.get("lr"), (int, float)):
            values[PRETRAIN_PREFIX + "lr"] = m["lr"]
        self.loss_plot.append(k - total, values)

    @Slot(float, str)
    def on_progress(self, fraction: float, text: str) -> None:
        """Show ``fraction`` of the current phase (NaN: a busy bar) and ``text`` (names the phase)."""
        if self._worker is not None and self._worker.control.stop_requested:
            return  # "Stopping…" stays until the run has ended
        self._set_progress(fraction, text)

    def _set_progress(self, fraction: float, text: str) -> None:
        if fraction != fraction:  # NaN: the phase's total is unknown, a busy bar
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, PROGRESS_STEPS)
            self.progress.setValue(round(min(max(fraction, 0.0), 1.0) * PROGRESS_STEPS))
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
        it = min(int(e.get("iteration", 0)), self._max_iter - 1)  # after_train reports max_iter
        self.eval_history.append({"iteration": it, "results": dict(results)})
        self.eval_table.add(it, results)
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
        """The run ended: say how (no ETA any more), and whether there is anything to resume."""
        self.last_summary = dict(summary)
        status = str(summary.get("status", "?"))
        checkpoint = str(summary.get("last_checkpoint") or "")
        self._resumable = bool(summary.get("resumable", bool(checkpoint)))
        self.log_panel.append_line(f"Run {status}: {summary.get('message', '')}")
        fraction, text, state = ending_progress(summary, self._max_iter)
        self._set_progress(fraction, text)
        self.status_label.setText(state)
        if status == "stopped" and not checkpoint:
            self.log_panel.append_line(f"Stopped: {NOTHING_SAVED}")
        if checkpoint:
            self.log_panel.append_line(f"last checkpoint: {checkpoint}")

    @Slot()
    def _on_worker_finished(self) -> None:
        if self._thread is None and self._worker is not None:  # a worker fed without a thread
            self._settle()

    @Slot()
    def _on_thread_finished(self) -> None:
        if self._thread is None:
            return
        thread, self._thread = self._thread, None
        thread.deleteLater()
        self._settle()

    def _settle(self) -> None:
        """The run is over: buttons back, ``runFinished``, the run list refreshed."""
        self._worker = None
        self.pause_button.setChecked(False)
        self._update_buttons()
        self.runFinished.emit(self.last_summary)
        if self._project_root is not None:
            self._fill_run_combo()
            if self.run_combo.count():  # the run that just ended (newest metrics.json); with a placeholder
                self.run_combo.setCurrentIndex(0)  # text QComboBox leaves the index at -1: "no runs yet"

    # attach -----------------------------------------------------------------------------
    def attach(self, folder: str | Path) -> bool:
        """Follow ``folder/metrics.json`` (existing lines first, then appended ones)."""
        if self.is_running():
            self.log_panel.append_line("Stop the local run before attaching to another one.")
            return False
        self.detach()
        self._clear_run()
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
        folder = QFileDialog.getExistingDirectory(self, "Attach to a detectron2 output folder", start_folder("project"))
        if folder:
            self.attach(folder)

    # helpers ------------------------------------------------------------------------------
    def _show_error(self, title: str, message: str, details: str) -> None:
        dialog = ErrorDialog(title, message, details, self)
        self.error_dialogs.append(dialog)
        dialog.show()

    def _clear_run(self) -> None:
        self.loss_plot.clear()
        self.eval_table.clear_rows()
        self.eval_history.clear()

    def _update_buttons(self) -> None:
        running, attached = self.is_running(), self.is_attached()
        stopping = running and self._worker is not None and self._worker.control.stop_requested
        self.start_button.setEnabled(not running and not attached)
        self.resume_ckpt_button.setEnabled(not running and not attached and self._resumable)
        resume_tip = ("Continue from the output folder's last checkpoint (same iterations and LR schedule)"
                      if self._resumable else "No checkpoint in the output folder yet: nothing to resume")
        self.resume_ckpt_button.setToolTip(with_shortcut(resume_tip, self._resume_action))
        self.pause_button.setEnabled(running and not stopping)
        self.stop_button.setEnabled(running and not stopping)
        self.attach_button.setEnabled(not running)
        self.detach_button.setEnabled(attached)
        self.run_combo.setEnabled(not running and not attached and self.run_combo.count() > 0)

    # the project's runs ---------------------------------------------------------------------
    @Slot()
    def refresh_resumable(self) -> None:
        """Enable *Resume from checkpoint* when the next run's OUTPUT_DIR holds a checkpoint."""
        if self.is_running():
            return
        output_dir = self._next_output_dir()
        self._resumable = bool(output_dir and latest_checkpoint(output_dir))
        self._update_buttons()

    def set_project(self, root: str | Path | None) -> None:
        """List the runs of the project at ``root`` (None: no project) and show the newest."""
        self._project_root = Path(root) if root is not None else None
        self.refresh_resumable()
        if self.is_running() or self.is_attached():
            return
        self._fill_run_combo()
        if self.run_combo.count():
            self.show_run(self.run_combo.itemData(0))
        else:
            self._clear_run()
            self.loss_plot.set_empty_text("This project has no runs yet: press Start to train its config; "
                                          "the losses appear here as it runs.")
            self._set_progress(0.0, "not started")

    def runs(self) -> list[Path]:
        return self.run_combo.runs()

    def _fill_run_combo(self) -> None:
        self.run_combo.clear()
        if self._project_root is not None:
            self.run_combo.fill(self._project_root, self._next_output_dir())
        self._update_buttons()

    def _next_output_dir(self) -> str:
        """OUTPUT_DIR of the next run ("" without a valid config)."""
        try:
            return str(self._config_provider().OUTPUT_DIR) if self._config_provider else ""
        except Exception:  # an invalid config: Start will say why
            return ""

    def show_run(self, folder: str | Path) -> None:
        """Show a finished run's curves and evaluations from ``folder/metrics.json`` (no following)."""
        history = read_history(folder)
        self._clear_run()
        self._max_iter = max(1, history.last_iteration + 1)
        self.loss_plot.set_history(history.curves)
        for it, results in history.evaluations:
            self.on_evaluation({"iteration": it, "results": results})
        self.run_combo.select(folder)
        self._set_progress(1.0 if history.last_iteration >= 0 else 0.0,
                           f"Run {Path(folder).name}: {history.last_iteration + 1} iterations logged")
        self.status_label.setText("Idle")

    @Slot(int)
    def _on_run_chosen(self, index: int) -> None:
        if index >= 0 and not self.is_running() and not self.is_attached():
            self.show_run(self.run_combo.itemData(index))

"""Main window: composes the views; owns nothing but layout, menus, the status bar and the project.

Views: Dataset, MTN Preview, Config, Training, Inference, Live (one feature package each; the
shell is the only place that imports them all). Undo/redo of the Edit menu goes through one
QUndoGroup that each view's QUndoStack joins; the stack of the visible view is the active one.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QUndoGroup
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressDialog,
    QTabWidget,
    QWidget,
)

from app.backend.checkpoint import latest_checkpoint
from app.ui.capture.capture_actions import make_capture_button
from app.ui.common.error_dialog import ErrorDialog
from app.ui.common.start_folder import set_project_folders, start_folder
from app.ui.config.config_view import ConfigView
from app.ui.dataset.dataset_view import DatasetView
from app.ui.inference.inference_view import InferenceView, dataset_samples
from app.ui.live.live_view import LiveView
from app.ui.mtn_preview.mtn_preview_view import MtnPreviewView
from app.ui.shell.app import APP_NAME, make_application
from app.ui.shell.project import Project, ProjectError
from app.ui.shell.shortcut_sheet import ShortcutSheet, collect_shortcuts, name_shortcuts_in_tooltips
from app.ui.training.training_view import TrainingView
from app.widgets.icons import icon
from app.widgets.job_runner import JobRunner, TaskState

MAX_RECENT = 8


def generate_demo(state: TaskState, root: Path) -> Any:
    """Job: make sure the demo dataset under ``root`` is complete (first launch)."""
    from app.backend.data.demo import ensure_demo_dataset

    return ensure_demo_dataset(root)


def device_text() -> str:
    import torch

    if torch.cuda.is_available():
        return f"GPU: {torch.cuda.get_device_name(0)}"
    return f"CPU ({torch.get_num_threads()} threads)"


class MainWindow(QMainWindow):
    """The app window. ``project``: folder or .wdsproj to open; None opens the last (or the demo).

    Signals:
        projectOpened(str): root folder of the opened project.
    """

    projectOpened = Signal(str)

    def __init__(self, project: str | None = None, open_initial: bool = True) -> None:
        super().__init__()
        self.setWindowTitle(APP_NAME)
        self.resize(1360, 860)
        self.project: Project | None = None
        self.settings = QSettings()
        self.undo_group = QUndoGroup(self)
        self.error_dialogs: list[ErrorDialog] = []
        self._progress: QProgressDialog | None = None
        self._demo_job = JobRunner(self, name="demo-data")
        self._demo_job.result.connect(self._on_demo_generated)
        self._demo_job.failed.connect(self._on_demo_failed)

        self.tabs = QTabWidget(self)
        self.dataset_view = DatasetView(self)
        self.capture_button = make_capture_button(self.dataset_view)  # import capture, pseudo-label
        self.dataset_view.add_tool(self.capture_button)
        self.mtn_preview_view = MtnPreviewView(self)
        self.config_view = ConfigView(self)
        self.training_view = TrainingView(self)
        self.inference_view = InferenceView(self)
        self.live_view = LiveView(self)
        self.views: dict[str, QWidget] = {
            "Dataset": self.dataset_view, "MTN Preview": self.mtn_preview_view, "Config": self.config_view,
            "Training": self.training_view, "Inference": self.inference_view, "Live": self.live_view}
        tab_icons = {"Dataset": "dataset", "MTN Preview": "mtn", "Config": "config", "Training": "training",
                     "Inference": "inference", "Live": "live"}
        for title, view in self.views.items():
            self.tabs.addTab(view, icon(tab_icons[title]), title)
        self.dataset_view.set_undo_group(self.undo_group)  # one undo stack per open file: it joins them itself
        self.undo_group.addStack(self.config_view.form.undo_stack)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.dataset_view.mtnPreviewRequested.connect(self._show_mtn_preview)
        # the editor's one-line news ("autosaved", "3 points moved to the box's edge") in the status bar
        self.dataset_view.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.setCentralWidget(self.tabs)
        self.training_view.set_config_provider(self.config_view.current_config)
        self.inference_view.set_config_provider(self.config_view.current_config)
        self.live_view.set_config_provider(self.config_view.current_config)
        self.training_view.runFinished.connect(self._on_run_finished)
        self.config_view.configChanged.connect(self._update_status)
        self.config_view.configChanged.connect(self.training_view.refresh_resumable)
        self.config_view.form.undo_stack.cleanChanged.connect(self._update_status)

        self.device_label = QLabel(device_text(), self)
        self.dataset_label = QLabel("", self)
        self.config_label = QLabel("", self)
        for w in (self.config_label, self.dataset_label, self.device_label):
            self.statusBar().addPermanentWidget(w)
        self._build_menus()
        name_shortcuts_in_tooltips(self)
        self._on_tab_changed(self.tabs.currentIndex())
        self._initial_project = project
        if open_initial:
            QTimer.singleShot(0, self._open_initial_slot)

    # menus ----------------------------------------------------------------------------
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._add_action(file_menu, "&New project…", self._new_project_dialog, QKeySequence.StandardKey.New, "new")
        self._add_action(file_menu, "&Open project…", self._open_project_dialog, QKeySequence.StandardKey.Open,
                         "open")
        self.recent_menu = file_menu.addMenu("Open &recent")
        self._add_action(file_menu, "&Save config", self.config_view.save, QKeySequence.StandardKey.Save, "save")
        file_menu.addSeparator()
        self._add_action(file_menu, "&Quit", self.close, "Ctrl+Q", "quit")  # StandardKey.Quit is "Exit" on bare X
        edit = self.menuBar().addMenu("&Edit")
        undo = self.undo_group.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        undo.setIcon(icon("undo"))
        redo = self.undo_group.createRedoAction(self, "&Redo")
        redo.setShortcut(QKeySequence.StandardKey.Redo)
        redo.setIcon(icon("redo"))
        edit.addAction(undo)
        edit.addAction(redo)
        self.undo_action, self.redo_action = undo, redo
        view_menu = self.menuBar().addMenu("&View")
        for i, title in enumerate(self.views):
            act = view_menu.addAction(self.tabs.tabIcon(i), title)
            act.setShortcut(QKeySequence(f"Ctrl+{i + 1}"))
            act.setData(i)
            act.triggered.connect(self._on_view_action)
        help_menu = self.menuBar().addMenu("&Help")
        self.shortcuts_action = self._add_action(help_menu, "&Keyboard shortcuts", self.show_shortcuts,
                                                 QKeySequence.StandardKey.HelpContents, "keyboard")
        self._add_action(help_menu, "&About", self._about, None, "about")
        self._refresh_recent_menu()

    def _add_action(self, menu: Any, text: str, slot: Any, shortcut: Any = None, icon_role: str = "") -> QAction:
        act = menu.addAction(text)
        act.triggered.connect(slot)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
        if icon_role:
            act.setIcon(icon(icon_role))
        return act

    def shortcuts(self) -> list[tuple[str, str, str]]:
        """``(where, action, keys)`` of every shortcut of the window, read from its QActions."""
        return collect_shortcuts(self, self.views)

    @Slot()
    def show_shortcuts(self) -> ShortcutSheet:
        """Help > Keyboard shortcuts (non-modal)."""
        sheet = ShortcutSheet(self.shortcuts(), self)
        self._sheets = [s for s in getattr(self, "_sheets", []) if s.isVisible()] + [sheet]
        sheet.show()
        return sheet

    # projects ------------------------------------------------------------------------
    @Slot()
    def _open_initial_slot(self) -> None:
        self.open_initial(self._initial_project)

    def open_initial(self, project: str | None) -> None:
        """Open ``project``, else the last one, else the demo project (made when missing, no questions)."""
        target = project or self.settings.value("last_project", "", str)
        if target:
            try:
                self.open_project(target)
                return
            except (ProjectError, OSError, ValueError) as exc:
                if project:
                    self._error("Cannot open project", str(exc))
                    return
        self.open_demo_project()

    def open_project(self, path: str | Path) -> Project:
        """Load a project folder (or its .wdsproj) into every view; remembers it in the recent list."""
        project = Project.load(path)
        self.config_view.load(project.config_path)
        # import the engine now (module imports and dlopen hold the GIL for seconds): doing it
        # here, once, keeps the first training run from freezing the UI when its worker starts
        importlib.import_module("app.backend.engine")
        self.project = project
        self.dataset_view.set_project(project)
        cfg = self.config_view.current_config()
        checkpoint = latest_checkpoint(str(cfg.OUTPUT_DIR))
        self.inference_view.set_checkpoint(checkpoint)
        self.live_view.set_checkpoint(checkpoint)
        self.mtn_preview_view.set_model(cfg, checkpoint)
        datasets = [project.root / d for d in project.datasets] + [str(cfg.DATASETS.DEMO.ROOT or "")]
        set_project_folders(project.root, [d for d in datasets if str(d)], cfg.OUTPUT_DIR)
        self.training_view.set_project(project.root)
        try:
            self.inference_view.set_samples(dataset_samples(cfg))
        except Exception as exc:  # a missing or broken dataset must not stop the project from opening
            self.statusBar().showMessage(f"No dataset samples: {exc}", 10000)
        self._remember(project.root)
        self.setWindowTitle(f"{project.name} — {APP_NAME}")
        self._update_status()
        self.projectOpened.emit(str(project.root))
        return project

    def open_demo_project(self) -> None:
        """Open the demo project; generate the demo dataset first (off the UI thread) when missing."""
        from app.backend.data.demo import demo_dataset_ready
        from app.backend.paths import default_demo_root

        root = default_demo_root()
        if demo_dataset_ready(root):
            self._open_or_create_demo()
            return
        self._progress = QProgressDialog("Generating the demo dataset (first launch)…", "", 0, 0, self)
        self._progress.setCancelButton(None)
        self._progress.setWindowTitle(APP_NAME)
        self._progress.setMinimumDuration(0)
        self._progress.show()
        self.statusBar().showMessage(f"Generating the demo dataset in {root}…")
        self._demo_job.start(generate_demo, root)

    @Slot(object)
    def _on_demo_generated(self, _paths: object) -> None:
        self._close_progress()
        self.statusBar().showMessage("Demo dataset ready", 5000)
        self._open_or_create_demo()

    @Slot(str, str)
    def _on_demo_failed(self, message: str, details: str) -> None:
        self._close_progress()
        self.statusBar().showMessage(f"Demo dataset not generated: {message}")
        self._error("Cannot generate the demo dataset", message, details)

    def _close_progress(self) -> None:
        if self._progress is not None:
            self._progress.close()
            self._progress = None

    def _open_or_create_demo(self) -> None:
        from app.backend.config import builtin_config
        from app.backend.paths import default_demo_root, default_project_dir
        from app.ui.config.config_io import follow_builtin_base

        root = default_project_dir()
        try:
            if not (root / "project.wdsproj").exists():
                Project.create(root, builtin_config("demo_cpu"), name="demo",
                               overrides={"DATASETS.DEMO.ROOT": str(default_demo_root())},
                               datasets=[str(default_demo_root())])
            else:
                old = follow_builtin_base(Project.load(root).config_path, "demo_cpu.yaml")
                if old is not None:
                    self.statusBar().showMessage(
                        f"The demo project now follows this app's demo_cpu.yaml (it named {old})", 15000)
            self.open_project(root)
        except Exception as exc:
            self._error("Cannot open the demo project", str(exc))

    def create_project(self, folder: str | Path, base_config: str | Path) -> Project:
        project = Project.create(folder, base_config)
        self.open_project(project.root)
        return project

    def recent_projects(self) -> list[str]:
        value = self.settings.value("recent_projects", [], list)
        return [str(v) for v in (value or [])]

    def _remember(self, root: Path) -> None:
        recent = [str(root)] + [p for p in self.recent_projects() if p != str(root)]
        self.settings.setValue("recent_projects", recent[:MAX_RECENT])
        self.settings.setValue("last_project", str(root))
        self.settings.sync()
        self._refresh_recent_menu()

    def _refresh_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in self.recent_projects():
            act = self.recent_menu.addAction(path)
            act.setData(path)
            act.triggered.connect(self._on_recent_action)
        self.recent_menu.setEnabled(bool(self.recent_projects()))

    # slots --------------------------------------------------------------------------------
    @Slot()
    def _on_recent_action(self) -> None:
        act = self.sender()
        if isinstance(act, QAction):
            self._try_open(str(act.data()))

    @Slot(object, object)
    def _show_mtn_preview(self, csi_path: Any, frame_path: Any) -> None:
        """Dataset view -> MTN preview of the chosen sample."""
        self.mtn_preview_view.open_sample(csi_path, frame_path)
        self.tabs.setCurrentWidget(self.mtn_preview_view)

    @Slot()
    def _on_view_action(self) -> None:
        act = self.sender()
        if isinstance(act, QAction):
            self.tabs.setCurrentIndex(int(act.data()))

    @Slot(int)
    def _on_tab_changed(self, index: int) -> None:
        view = self.tabs.widget(index)
        stack = getattr(view, "undo_stack", None) or getattr(getattr(view, "form", None), "undo_stack", None)
        self.undo_group.setActiveStack(stack)

    @Slot(dict)
    def _on_run_finished(self, summary: dict) -> None:
        ckpt = summary.get("last_checkpoint")
        if ckpt:
            self.inference_view.set_checkpoint(str(ckpt))
            self.live_view.set_checkpoint(str(ckpt))

    @Slot()
    @Slot(bool)
    def _update_status(self, *_args: object) -> None:
        try:
            cfg = self.config_view.current_config()
        except Exception:
            return
        datasets = ", ".join(cfg.DATASETS.TRAIN) or "none"
        self.dataset_label.setText(f"Dataset: {datasets}")
        name = self.config_view.path.name if self.config_view.path else "none"
        modified = "*" if self.config_view.is_modified() else ""
        self.config_label.setText(f"Config: {name}{modified} ({cfg.INPUT.MODALITY}, {cfg.MODEL.META_ARCHITECTURE})")

    @Slot()
    def _open_project_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open project", start_folder("projects"), "Projects (*.wdsproj)")
        if path:
            self._try_open(path)

    @Slot()
    def _new_project_dialog(self) -> None:
        from app.backend.config import CONFIGS_DIR

        folder = QFileDialog.getExistingDirectory(self, "New project folder", start_folder("projects"))
        if not folder:
            return
        base, _ = QFileDialog.getOpenFileName(self, "Base config", str(CONFIGS_DIR), "YAML (*.yaml)")
        if base:
            try:
                self.create_project(folder, base)
            except Exception as exc:
                self._error("Cannot create project", str(exc))

    def _try_open(self, path: str) -> None:
        try:
            self.open_project(path)
        except Exception as exc:
            self._error("Cannot open project", str(exc))

    @Slot()
    def _about(self) -> None:
        QMessageBox.about(
            self,
            f"About {APP_NAME}",
            f"<b>{APP_NAME}</b><br>DensePose from WiFi on detectron2: dataset, MTN preview, config, "
            "training, inference and live sensing in one app.<br><br>Method: Geng, Huang, De la Torre, "
            "<i>DensePose From WiFi</i> (arXiv 2301.00250).",
        )

    def _error(self, title: str, message: str, details: str = "") -> None:
        dialog = ErrorDialog(title, message, details, self)
        self.error_dialogs.append(dialog)
        dialog.show()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop a running training (checkpoint saved) and every view's background job, and join their threads."""
        if self.config_view.is_modified() and not getattr(self, "discard_unsaved_on_close", False):
            answer = QMessageBox.question(
                self, APP_NAME, "Save the changed config before closing?",
                QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                | QMessageBox.StandardButton.Cancel)
            if answer == QMessageBox.StandardButton.Cancel:
                event.ignore()
                return
            if answer == QMessageBox.StandardButton.Save:
                self.config_view.save()
        if self.training_view.is_running():
            self.statusBar().showMessage("Stopping training and saving a checkpoint…")
        self.training_view.shutdown()
        self.inference_view.shutdown()
        self.live_view.shutdown()
        self._demo_job.shutdown(timeout_s=600)
        self.dataset_view.shutdown()
        self.mtn_preview_view.shutdown()
        super().closeEvent(event)


def run_app(project: str | None = None) -> int:
    """``python main.py``: the QApplication, the main window on ``project`` (None: the last or the demo)."""
    app = make_application()
    window = MainWindow(project=project)
    window.show()
    return app.exec()

"""File dialogs open in the project's folders (they opened in the working directory)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QFileDialog

from app.ui.common.start_folder import set_project_folders, start_folder, start_path
from app.ui.shell.project import Project


def test_start_folders_of_a_project(tmp_path: Path) -> None:
    root, data, out = tmp_path / "proj", tmp_path / "data", tmp_path / "proj" / "output"
    for folder in (root, data):
        folder.mkdir()
    (data / "train.json").write_text("{}")
    set_project_folders(root, [data / "train.json"], out)
    try:
        assert start_folder("dataset") == str(data)  # a dataset given as its JSON file: its folder
        assert start_folder("output") == str(root)  # no run yet: the project
        out.mkdir()
        assert start_folder("output") == str(out)
        assert start_folder("projects") == str(tmp_path)
        assert start_folder("dataset", current=str(out / "model.pth")) == str(out)  # a typed path wins
        assert start_path("output", "prediction.png") == str(out / "prediction.png")
        set_project_folders(None)
        assert start_folder("dataset") == str(Path.home())  # never the working directory
    finally:
        set_project_folders(None)


def dialog_folder_of(qtbot, open_dialog) -> str:
    """Call ``open_dialog`` (it shows a modal QFileDialog); return the folder the dialog shows, then cancel it."""
    seen: list[str] = []

    def look() -> None:
        dialog = QApplication.activeModalWidget()
        if isinstance(dialog, QFileDialog):
            seen.append(dialog.directory().absolutePath())
            dialog.reject()
        else:
            QTimer.singleShot(50, look)

    QTimer.singleShot(50, look)
    open_dialog()
    qtbot.waitUntil(lambda: bool(seen), timeout=10_000)
    return seen[0]


def test_dialogs_of_the_views_open_in_the_project(qtbot, qapp_settings, demo_project: Project,
                                                  demo_dataset_dir: Path) -> None:
    from app.ui.shell.main_window import MainWindow

    win = MainWindow(project=str(demo_project.root), open_initial=False)
    qtbot.addWidget(win)
    win.discard_unsaved_on_close = True
    win.open_project(demo_project.root)
    try:
        assert Path(dialog_folder_of(qtbot, win.mtn_preview_view.open_button.click)) == demo_dataset_dir
        assert Path(dialog_folder_of(qtbot, win.training_view.attach_button.click)) == demo_project.root
        assert Path(dialog_folder_of(qtbot, win.config_view.open_button.click)) == demo_project.root
    finally:
        win.close()
        set_project_folders(None)

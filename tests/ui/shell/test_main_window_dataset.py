"""The Dataset tab of the main window is our DatasetView, its edits join the window's QUndoGroup."""

from __future__ import annotations

from pathlib import Path

from app.ui.dataset.dataset_view import DatasetView


def test_main_window_hosts_dataset_view_with_shared_undo(qtbot, qapp_settings, demo_project, demo_copy: Path) -> None:
    from app.ui.shell.main_window import MainWindow

    win = MainWindow(project=str(demo_project.root), open_initial=False)
    qtbot.addWidget(win)
    view = win.dataset_view
    assert isinstance(view, DatasetView)
    with qtbot.waitSignal(view.datasetReady, timeout=30000):
        view.open_paths([demo_copy / "train.json"])
    view.open_row(0)
    ed = view.editor
    assert win.undo_group.activeStack() is ed.stack
    assert ed.toolbar.actions()[0].text() == "Edit" and ed.toolbar.actions()[0].isChecked()  # the starting mode
    ed.canvas.keypointMoved.emit(0, 0, 21.0, 22.0)
    assert win.undo_group.canUndo()
    ed.message.emit("autosaved train.json")  # the editor's news reach the window's status bar
    assert win.statusBar().currentMessage() == "autosaved train.json"
    win.undo_group.undo()
    assert ed.session.doc.person(ed.image_id, 0).keypoint(0)[:2] != (21.0, 22.0)
    win.undo_group.redo()
    assert ed.session.doc.person(ed.image_id, 0).keypoint(0)[:2] == (21.0, 22.0)
    win.discard_unsaved_on_close = True
    win.close()


def test_dataset_sample_opens_in_mtn_preview(qtbot, qapp_settings, demo_project, demo_copy: Path) -> None:
    from app.ui.mtn_preview.mtn_preview_view import MtnPreviewView
    from app.ui.shell.main_window import MainWindow

    win = MainWindow(project=str(demo_project.root), open_initial=False)
    qtbot.addWidget(win)
    view, preview = win.dataset_view, win.mtn_preview_view
    assert isinstance(preview, MtnPreviewView)
    with qtbot.waitSignal(view.datasetReady, timeout=30000):
        view.open_paths([demo_copy / "train.json"])
    view.grid.setCurrentIndex(view.proxy.index(2, 0))
    with qtbot.waitSignal(preview.loaded, timeout=60000):
        view.request_mtn_preview()
    assert win.tabs.currentWidget() is preview
    assert preview.frame.data is not None and "000002.npz" in preview.path_label.text()
    win.discard_unsaved_on_close = True
    win.close()


def test_project_datasets_folder_means_its_json_files(demo_copy: Path, tmp_path: Path) -> None:
    from app.ui.dataset.dataset_view import project_dataset_paths
    from app.ui.shell.project import Project

    project = Project(root=tmp_path, datasets=[str(demo_copy)])
    assert [p.name for p in project_dataset_paths(project)] == ["train.json", "val.json"]
    project = Project(root=demo_copy, datasets=["val.json"])
    assert project_dataset_paths(project) == [demo_copy / "val.json"]

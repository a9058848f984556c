"""Main window: first launch opens the demo project, views build, undo follows the visible view."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.ui.shell.project import Project


def _launch(qtbot):
    """``python main.py`` with no project: the window, shown, and the list of projects it opened."""
    from app.ui.shell.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.discard_unsaved_on_close = True
    opened: list[str] = []
    win.projectOpened.connect(opened.append)
    win.show()
    return win, opened


# the first launch makes the full 5,000-frame demo (about 3 minutes on 2 idle cores); the limits
# only catch a hang, so a busy machine does not fail the test
@pytest.mark.timeout(3600)
def test_first_launch_opens_the_demo_project_without_questions(qtbot, qapp_settings) -> None:
    from app.backend.paths import default_demo_root, default_project_dir

    win, opened = _launch(qtbot)
    # a failure (a full disk, say) shows an error dialog: stop waiting then, with its message
    qtbot.waitUntil(lambda: bool(opened or win.error_dialogs), timeout=3_500_000)
    assert not win.error_dialogs, win.error_dialogs[0].message_label.text()
    assert Path(opened[0]) == default_project_dir()
    assert (default_demo_root() / "train.json").is_file()
    assert [win.tabs.tabText(i) for i in range(win.tabs.count())] == [
        "Dataset", "MTN Preview", "Config", "Training", "Inference", "Live"]
    cfg = win.config_view.current_config()
    assert str(default_demo_root()) == cfg.DATASETS.DEMO.ROOT
    assert "wifi_demo_train" in win.dataset_label.text()
    assert win.device_label.text().startswith(("CPU", "GPU"))
    assert win.inference_view.sample_combo.count() > 0
    assert win.live_view.ckpt_edit.text() == win.inference_view.ckpt_edit.text()  # the project's latest (none yet)
    # preferences live under this test's XDG_CONFIG_HOME (INI)
    settings_root = Path(os.environ["XDG_CONFIG_HOME"])
    assert any(settings_root.rglob("*.ini"))
    assert win.recent_projects()[0] == str(default_project_dir())
    win.close()


def test_first_launch_on_a_full_disk_says_so_and_opens_nothing(
    qtbot, qapp_settings, small_tmpfs, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.backend.paths import default_demo_root

    monkeypatch.setenv("XDG_DATA_HOME", str(small_tmpfs(4 << 20, free=64 << 10)))
    win, opened = _launch(qtbot)
    qtbot.waitUntil(lambda: bool(win.error_dialogs), timeout=120_000)
    dialog = win.error_dialogs[-1]
    assert dialog.windowTitle() == "Cannot generate the demo dataset" and dialog.isVisible()
    assert "No space left on device: the demo needs about 263 MB" in dialog.message_label.text()
    assert win.statusBar().currentMessage().startswith("Demo dataset not generated: cannot write")
    assert opened == [] and not (default_demo_root() / "train.json").exists()
    win.close()


def test_a_demo_project_made_by_another_checkout_follows_this_one(
    qtbot, qapp_settings, demo_dataset_dir: Path, tmp_path: Path
) -> None:
    import shutil

    import yaml

    from app.backend.config import CONFIGS_DIR, load_config
    from app.backend.paths import default_demo_root, default_project_dir

    other = tmp_path / "old-checkout" / "resources" / "configs"  # its demo recipe: 160x160 MTN output
    shutil.copytree(CONFIGS_DIR, other)
    recipe = other / "demo_cpu.yaml"
    recipe.write_text(recipe.read_text().replace("OUTPUT_SIZE: [128, 128]", "OUTPUT_SIZE: [160, 160]"))
    shutil.copytree(demo_dataset_dir, default_demo_root())
    demo = Project.create(default_project_dir(), recipe, name="demo",
                          overrides={"DATASETS.DEMO.ROOT": str(default_demo_root()), "SOLVER.MAX_ITER": 77})
    assert tuple(load_config(demo.config_path).MODEL.MTN.OUTPUT_SIZE) == (160, 160)
    win, opened = _launch(qtbot)
    qtbot.waitUntil(lambda: bool(opened or win.error_dialogs), timeout=60_000)
    cfg = win.config_view.current_config()
    assert tuple(cfg.MODEL.MTN.OUTPUT_SIZE) == (128, 128) and cfg.SOLVER.MAX_ITER == 77  # the user's keys kept
    assert yaml.safe_load(demo.config_path.read_text())["_BASE_"] == "builtin://demo_cpu.yaml"
    assert not win.error_dialogs
    win.close()


def test_undo_redo_through_the_edit_menu(qtbot, qapp_settings, demo_project: Project) -> None:
    from app.ui.shell.main_window import MainWindow

    win = MainWindow(project=str(demo_project.root), open_initial=False)
    qtbot.addWidget(win)
    win.discard_unsaved_on_close = True  # no blocking question when a failed assertion leaves edits
    win.open_project(demo_project.root)
    win.tabs.setCurrentWidget(win.config_view)
    assert win.undo_group.activeStack() is win.config_view.form.undo_stack
    before = win.config_view.current_config().SOLVER.BASE_LR
    win.config_view.set_value("SOLVER.BASE_LR", 0.123)
    assert "Config: config.yaml*" in win.config_label.text()
    win.undo_action.trigger()
    assert before == win.config_view.current_config().SOLVER.BASE_LR
    win.tabs.setCurrentWidget(win.training_view)
    assert win.undo_group.activeStack() is None
    assert win.recent_projects() == [str(demo_project.root)]
    win.close()


def test_opening_a_broken_project_shows_an_error(qtbot, qapp_settings, tmp_path: Path) -> None:
    from app.ui.shell.main_window import MainWindow

    win = MainWindow(open_initial=False)
    qtbot.addWidget(win)
    (tmp_path / "project.wdsproj").write_text("{not json")
    win._try_open(str(tmp_path))
    assert win.error_dialogs and "cannot read project file" in win.error_dialogs[-1].message_label.text()
    assert win.project is None
    win.close()


def test_the_app_sets_a_short_interpreter_switch_interval(qapp_settings) -> None:
    """Worker threads (trainer, live predictor) hand the GIL to the GUI thread within about 1 ms."""
    import sys

    from app.ui.shell.app import UI_SWITCH_INTERVAL_S, make_application

    old = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)
        make_application()
        assert sys.getswitchinterval() == pytest.approx(UI_SWITCH_INTERVAL_S, rel=0.01)
        assert UI_SWITCH_INTERVAL_S <= 0.002
    finally:
        sys.setswitchinterval(old)

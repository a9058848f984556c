"""Training view with the real trainer on a QThread: live metrics, curves, stop, failures, close."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.backend.config import load_config
from app.ui.shell.project import Project

RUN_TIMEOUT_MS = 600_000


def _provider(project: Project, **overrides):
    def provide():
        opts = []
        for k, v in overrides.items():
            opts += [k, repr(v) if not isinstance(v, str) else v]
        return load_config(project.config_path, opts)

    return provide


@pytest.fixture
def view(qtbot, qapp_settings):
    from app.ui.training.training_view import TrainingView

    v = TrainingView()
    qtbot.addWidget(v)
    yield v
    v.shutdown()


def test_ten_real_iterations_reach_the_curves(qtbot, view, demo_project: Project) -> None:
    view.set_config_provider(_provider(demo_project))
    received: list[dict] = []
    view.metricsReceived.connect(received.append)
    with qtbot.waitSignal(view.runFinished, timeout=RUN_TIMEOUT_MS) as done:
        assert view.start()
        assert not view.start()  # one run at a time
    summary = done.args[0]
    assert summary["status"] == "finished", summary
    assert [m["iteration"] for m in received] == list(range(10))
    view.loss_plot.flush()
    x, y = view.loss_plot.series("total_loss")
    np.testing.assert_array_equal(x, np.arange(10))
    assert np.all(np.isfinite(y)) and y[0] > 0
    names = view.loss_plot.series_names()
    assert "lr" in names and any(n.startswith("loss_densepose") for n in names) and "loss_keypoint" in names
    cx, _ = view.loss_plot.curve("total_loss").getOriginalDataset()
    assert len(cx) == 10
    assert view.progress.value() == view.progress.maximum() and "10 / 10" in view.progress.format()
    assert view.preview.has_image()  # preview hook at iterations 5 and 10
    assert view.eval_table.rowCount() > 0  # final evaluation arrived
    assert Path(summary["last_checkpoint"]).is_file()
    assert not view.is_running() and view.start_button.isEnabled()


def test_stop_leaves_a_checkpoint_and_pause_blocks(qtbot, view, demo_project: Project) -> None:
    view.set_config_provider(_provider(demo_project, **{"SOLVER.MAX_ITER": 1000}))
    with qtbot.waitSignal(view.metricsReceived, timeout=RUN_TIMEOUT_MS):
        assert view.start()
    view.pause_button.setChecked(True)  # pause: the loop blocks between iterations
    qtbot.waitUntil(lambda: view.status_label.text() == "Paused", timeout=RUN_TIMEOUT_MS)
    with qtbot.waitSignal(view.runFinished, timeout=RUN_TIMEOUT_MS) as done:
        view.stop_button.click()
    summary = done.args[0]
    assert summary["status"] == "stopped", summary
    assert view.status_label.text() == "Stopped" and "ETA" not in view.progress.format()
    assert view.progress.format().startswith(f"Stopped after iteration {summary['iteration'] + 1} / 1000")
    ckpt = Path(summary["last_checkpoint"])
    assert ckpt.is_file() and ckpt.name.startswith("model_")
    assert (ckpt.parent / "last_checkpoint").read_text().strip() == ckpt.name
    assert summary["iteration"] < 1000
    # Resume from checkpoint continues at the next iteration
    with qtbot.waitSignal(view.metricsReceived, timeout=RUN_TIMEOUT_MS) as first:
        assert view.resume_ckpt_button.isEnabled()
        view.resume_ckpt_button.click()
    assert first.args[0]["iteration"] == summary["iteration"] + 1
    with qtbot.waitSignal(view.runFinished, timeout=RUN_TIMEOUT_MS) as done:
        view.stop()
    assert done.args[0]["status"] == "stopped"


def test_failure_in_the_worker_shows_the_error_and_view_survives(qtbot, view, demo_project: Project) -> None:
    view.set_config_provider(_provider(demo_project, **{"DATASETS.TRAIN": ("no_such_dataset",)}))
    with qtbot.waitSignal(view.runFinished, timeout=RUN_TIMEOUT_MS) as done:
        assert view.start()
    assert done.args[0]["status"] == "failed"
    assert view.error_dialogs and view.error_dialogs[-1].isVisible()
    dialog = view.error_dialogs[-1]
    assert "no_such_dataset" in dialog.message_label.text()
    assert "Traceback" in dialog.details.toPlainText()
    assert "ERROR" in view.log_panel.toPlainText()
    assert view.start_button.isEnabled() and not view.is_running()
    dialog.close()


def test_closing_the_window_stops_saves_and_joins(qtbot, qapp_settings, demo_project: Project) -> None:
    from app.ui.shell.main_window import MainWindow

    yaml_text = demo_project.config_path.read_text().replace("MAX_ITER: 10", "MAX_ITER: 1000")
    demo_project.config_path.write_text(yaml_text)
    win = MainWindow(project=str(demo_project.root), open_initial=False)
    qtbot.addWidget(win)
    win.open_project(demo_project.root)
    assert win.config_view.current_config().SOLVER.MAX_ITER == 1000
    with qtbot.waitSignal(win.training_view.metricsReceived, timeout=RUN_TIMEOUT_MS):
        assert win.training_view.start()
    finished = []
    win.training_view._thread.finished.connect(lambda: finished.append(True))
    win.close()
    assert finished  # the thread was joined before the window closed
    assert not win.training_view.is_running()
    assert win.training_view.last_summary["status"] == "stopped"
    out = demo_project.output_path
    assert (out / "last_checkpoint").is_file()
    assert (out / (out / "last_checkpoint").read_text().strip()).is_file()


def test_non_finite_loss_opens_the_error_dialog(qtbot, view, demo_project: Project) -> None:
    overrides = {"SOLVER.BASE_LR": 1e12, "SOLVER.WARMUP_ITERS": 0, "SOLVER.CLIP_GRADIENTS.ENABLED": False,
                 "SOLVER.MAX_ITER": 40}
    view.set_config_provider(_provider(demo_project, **overrides))
    with qtbot.waitSignal(view.runFinished, timeout=RUN_TIMEOUT_MS) as done:
        assert view.start()
    assert done.args[0]["status"] == "diverged", done.args[0]
    dialog = view.error_dialogs[-1]
    assert dialog.isVisible() and "non-finite" in dialog.message_label.text()
    assert view.start_button.isEnabled()
    dialog.close()


def test_mtn_pretraining_shows_progress_and_stops(qtbot, view, demo_project: Project) -> None:
    pretrain = {"SOLVER.MTN_PRETRAIN.ITERS": 4000, "SOLVER.MTN_PRETRAIN.IMS_PER_BATCH": 2}
    view.set_config_provider(_provider(demo_project, **pretrain))
    assert view.start()
    qtbot.waitUntil(lambda: "MTN pretraining 200/4000" in view.log_panel.toPlainText(), timeout=RUN_TIMEOUT_MS)
    with qtbot.waitSignal(view.runFinished, timeout=RUN_TIMEOUT_MS) as done:
        view.stop_button.click()
    summary = done.args[0]
    assert summary["status"] == "stopped", summary
    assert summary["message"] == "stopped during MTN pretraining; nothing was saved (training had not started)"
    assert summary["last_checkpoint"] == "" and summary["resumable"] is False
    assert view.start_button.isEnabled() and not view.is_running()
    assert not view.resume_ckpt_button.isEnabled()  # nothing to resume
    assert view.status_label.text() == "Stopped: nothing was saved"
    log = view.log_panel.lines()
    step_lines = [line for line in log if "MTN pretraining 200/4000" in line]
    assert len(step_lines) == 1, step_lines  # the engine logs it and hands it to the callback: shown once

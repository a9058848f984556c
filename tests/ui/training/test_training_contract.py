"""The training view consumes the engine's callback contract: phase progress, MTN pretraining
curves, Stop states and whether a run can be resumed. The dicts are fed to a real
TrainingWorker's callback (``deliver``), as the engine calls it, until the engine sends them."""

from __future__ import annotations

import math

import pytest

from app.backend.config import builtin_config, load_config
from app.ui.training.training_worker import TrainingWorker
from tests.tiny_config import tiny_opts


@pytest.fixture
def wired(qtbot, qapp_settings):
    from app.ui.training.training_view import TrainingView

    view = TrainingView()
    qtbot.addWidget(view)
    view.resize(1200, 800)
    view.show()
    cfg = load_config(builtin_config("demo_cpu"), [*tiny_opts(), "SOLVER.MAX_ITER", "30"])
    worker = TrainingWorker(cfg)
    view.connect_worker(worker)
    return view, worker


@pytest.mark.parametrize(("phase", "name"), [("read", "Reading samples"), ("stats", "Computing CSI statistics"),
                                             ("pretrain", "MTN pretraining"), ("train", "Training"),
                                             ("eval", "Evaluating")])
def test_the_progress_bar_names_each_phase(wired, phase: str, name: str) -> None:
    view, worker = wired
    worker.deliver({"kind": "progress", "phase": phase, "done": 1200, "total": 5000, "text": ""})
    assert view.progress.format() == f"{name}: 1200 / 5000"
    assert view.progress.value() == round(1200 / 5000 * view.progress.maximum()) > 0
    worker.deliver({"kind": "progress", "phase": phase, "done": 3, "total": 0, "text": "3 files"})
    assert view.progress.maximum() == 0  # unknown total: a busy bar
    assert view.progress.format() == f"{name}: 3 files"


def test_mtn_pretraining_losses_are_curves_of_their_own_before_training(wired) -> None:
    view, worker = wired
    for k in range(10):
        worker.deliver({"kind": "metrics", "phase": "pretrain", "iteration": k, "max_iter": 10,
                        "losses": {"loss_mtn_parts": 2.0 - 0.1 * k}, "lr": 1e-3})
    assert view.progress.format() == "MTN pretraining: step 10 / 10"
    worker.deliver({"kind": "metrics", "iteration": 0, "max_iter": 30, "total_loss": 3.0, "lr": 0.01,
                    "it_per_s": 2.0, "eta_seconds": 15.0})
    view.loss_plot.flush()
    x, y = view.loss_plot.series("pretrain loss_mtn_parts")
    assert list(x) == list(range(-10, 0)) and math.isclose(y[-1], 1.1)
    assert list(view.loss_plot.series("pretrain lr")[0]) == list(range(-10, 0))
    assert list(view.loss_plot.series("total_loss")[0]) == [0]
    assert "loss_mtn_parts" not in view.loss_plot.series_names()
    assert view.loss_plot.curve("pretrain lr") in view.loss_plot.lr_plot.listDataItems()
    assert view.progress.format().startswith("iteration 1 / 30")


def test_stopping_says_so_and_a_run_that_saved_nothing_cannot_be_resumed(qtbot, wired) -> None:
    view, worker = wired
    qtbot_signal = qtbot.waitSignal
    worker.deliver({"kind": "metrics", "iteration": 4, "max_iter": 30, "total_loss": 3.0, "lr": 0.01,
                    "it_per_s": 2.0, "eta_seconds": 47.0})
    assert "ETA 00:47" in view.progress.format()
    worker.control.stop()
    view.stop()
    assert view.status_label.text() == "Stopping…" and "ETA" not in view.progress.format()
    worker.deliver({"kind": "progress", "phase": "read", "done": 10, "total": 5000, "text": ""})
    assert view.progress.format().startswith("Stopping")  # stays until the run has ended
    worker.summary.emit({"status": "stopped", "iteration": -1, "max_iter": 30, "last_checkpoint": "",
                         "resumable": False, "message": "stopped during MTN pretraining"})
    assert view.status_label.text() == "Stopped: nothing was saved"
    assert view.progress.format().startswith("Stopped at iteration 0 / 30: nothing was saved")
    assert "nothing was saved" in view.log_panel.toPlainText()
    with qtbot_signal(view.runFinished):
        worker.finished.emit()
    assert not view.resume_ckpt_button.isEnabled() and view.start_button.isEnabled()
    assert "nothing to resume" in view.resume_ckpt_button.toolTip()


def test_resume_follows_the_summary_not_only_the_checkpoint_path(wired, tmp_path) -> None:
    view, worker = wired
    ckpt = tmp_path / "model_0000009.pth"
    ckpt.write_bytes(b"x")
    worker.summary.emit({"status": "stopped", "iteration": 9, "max_iter": 30, "last_checkpoint": str(ckpt),
                         "resumable": True, "message": f"stopped after iteration 10; saved {ckpt}"})
    worker.finished.emit()
    assert view.resume_ckpt_button.isEnabled()
    assert view.progress.format() == "Stopped after iteration 10 / 30: Resume from checkpoint continues"
    again = TrainingWorker(worker.cfg)
    view.connect_worker(again)
    again.summary.emit({"status": "stopped", "iteration": 9, "max_iter": 30, "last_checkpoint": str(ckpt),
                        "resumable": False, "message": "stopped during evaluation"})
    again.finished.emit()
    assert not view.resume_ckpt_button.isEnabled()  # the engine says this checkpoint cannot be resumed
    assert "Resume" not in view.progress.format()


def test_the_training_views_log_pane_shows_six_lines_in_the_default_window(qtbot, qapp_settings) -> None:
    from app.ui.training.training_view import TrainingView
    from app.widgets.log_panel import MIN_LINES

    view = TrainingView()
    qtbot.addWidget(view)
    view.resize(1340, 800)  # the training tab of the 1360x860 window
    view.show()
    qtbot.waitExposed(view)
    assert view.log_panel.height() >= MIN_LINES * view.log_panel.fontMetrics().lineSpacing()

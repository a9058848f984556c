"""Attach to a run: the training view follows a metrics.json that another process appends to."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from app.ui.training.run_follower import MetricsTail


def _line(it: int) -> str:
    return json.dumps({"iteration": it, "total_loss": 10.0 - it, "loss_cls": 1.0, "lr": 0.001 * it,
                       "time": 0.5, "eta_seconds": 10.0}) + "\n"


def test_tail_reads_complete_lines_and_restarts_on_truncation(tmp_path: Path) -> None:
    path = tmp_path / "metrics.json"
    tail = MetricsTail(path)
    assert tail.read_new() == []
    path.write_text(_line(0) + _line(1)[:10])  # partial last line
    assert [r["iteration"] for r in tail.read_new()] == [0]
    with path.open("a") as f:
        f.write(_line(1)[10:] + "garbage\n")
    assert [r["iteration"] for r in tail.read_new()] == [1]
    path.write_text(_line(5))  # replaced by a new run (shorter)
    assert [r["iteration"] for r in tail.read_new()] == [5]


def test_training_view_follows_appended_metrics(qtbot, qapp_settings, tmp_path: Path) -> None:
    from app.ui.training.training_view import TrainingView

    view = TrainingView()
    qtbot.addWidget(view)
    path = tmp_path / "metrics.json"
    path.write_text("".join(_line(i) for i in range(3)))
    with qtbot.waitSignal(view.metricsReceived, timeout=5000):
        assert view.attach(tmp_path)
    qtbot.waitUntil(lambda: len(view.loss_plot.series("total_loss")[0]) == 3, timeout=5000)
    assert not view.start_button.isEnabled()  # one run at a time
    with path.open("a") as f:
        f.write(_line(3) + _line(4)[:7])
        f.flush()
    qtbot.waitUntil(lambda: len(view.loss_plot.series("total_loss")[0]) == 4, timeout=10_000)
    with path.open("a") as f:
        f.write(_line(4)[7:])
        f.write(json.dumps({"iteration": 4, "bbox/AP50": 55.5}) + "\n")
    qtbot.waitUntil(lambda: len(view.loss_plot.series("total_loss")[0]) == 5, timeout=10_000)
    x, y = view.loss_plot.series("total_loss")
    np.testing.assert_array_equal(x, [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(y, [10, 9, 8, 7, 6])
    qtbot.waitUntil(lambda: view.eval_table.rowCount() == 1, timeout=10_000)
    assert view.eval_table.item(0, 0).text() == "bbox/AP50"
    assert "5 / " in view.progress.format() or view.progress.value() == 5
    view.detach()
    assert view.start_button.isEnabled()

"""After reopening a project the Training view lists its runs and shows the newest (it was empty)."""

from __future__ import annotations

import json
from pathlib import Path

from app.ui.shell.project import Project

RUN_TIMEOUT_MS = 600_000


def test_reopening_a_project_lists_its_runs_and_shows_the_latest(qtbot, qapp_settings, demo_project: Project) -> None:
    from app.ui.shell.main_window import MainWindow

    win = MainWindow(project=str(demo_project.root), open_initial=False)
    qtbot.addWidget(win)
    win.discard_unsaved_on_close = True
    win.open_project(demo_project.root)
    tv = win.training_view
    assert tv.runs() == [] and not tv.resume_ckpt_button.isEnabled()  # a new project: nothing to resume
    assert "no runs yet" in tv.loss_plot.empty_label.text()
    with qtbot.waitSignal(tv.runFinished, timeout=RUN_TIMEOUT_MS) as done:
        assert tv.start()
    assert done.args[0]["status"] == "finished"
    assert tv.runs() == [demo_project.output_path.resolve()]  # the run just finished is listed and chosen
    assert tv.run_combo.currentText() == "output"  # not the placeholder "no runs yet"
    win.close()

    older = demo_project.root / "runs" / "older"  # an earlier run in another folder of the project
    older.mkdir(parents=True)
    (older / "metrics.json").write_text(json.dumps({"iteration": 0, "total_loss": 9.0}) + "\n")
    import os
    import time

    past = time.time() - 3600
    os.utime(older / "metrics.json", (past, past))

    again = MainWindow(project=str(demo_project.root), open_initial=False)
    qtbot.addWidget(again)
    again.discard_unsaved_on_close = True
    again.open_project(demo_project.root)
    tv = again.training_view
    assert tv.runs() == [demo_project.output_path.resolve(), older.resolve()]  # newest first
    assert tv.run_combo.currentText() == "output"
    lines = [json.loads(line) for line in (demo_project.output_path / "metrics.json").read_text().splitlines()]
    logged = [(rec["iteration"], rec["total_loss"]) for rec in lines if "total_loss" in rec]
    assert logged and logged[-1][0] == 9  # detectron2 writes every 20 iterations and at the last one
    x, y = tv.loss_plot.series("total_loss")
    assert list(zip(x, y, strict=True)) == logged
    assert tv.loss_plot.stack.currentWidget() is not tv.loss_plot.empty_label
    assert tv.eval_table.rowCount() > 0  # the final evaluation of metrics.json
    assert tv.resume_ckpt_button.isEnabled()  # the run left checkpoints in the output folder
    assert "10 iterations" in tv.progress.format()
    tv.run_combo.activated.emit(1)
    tv.run_combo.setCurrentIndex(1)
    x, y = tv.loss_plot.series("total_loss")
    assert list(x) == [0] and list(y) == [9.0]
    again.close()
    assert Path(demo_project.output_path / "metrics.json").is_file()

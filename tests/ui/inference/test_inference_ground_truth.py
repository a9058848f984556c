"""Inference shows the ground truth as it is on disk now, not as it was when the project opened."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def test_inference_shows_a_box_edited_in_the_editor(qtbot, qapp_settings, demo_copy: Path, tmp_path: Path) -> None:
    from app.backend.config import builtin_config
    from app.ui.shell.main_window import MainWindow
    from app.ui.shell.project import Project
    from tests.tiny_config import tiny_overrides

    project = Project.create(tmp_path / "proj", builtin_config("demo_cpu"), name="gt",
                             overrides=tiny_overrides(demo_copy), datasets=[str(demo_copy / "val.json")])
    win = MainWindow(project=str(project.root), open_initial=False)
    qtbot.addWidget(win)
    win.resize(1200, 760)
    win.show()
    qtbot.waitExposed(win)
    dataset, inference = win.dataset_view, win.inference_view
    with qtbot.waitSignal(dataset.datasetReady, timeout=60_000):
        win.open_project(project.root)  # the Dataset tab is visible: the project's val.json opens
    sample = inference.current_sample()
    assert sample is not None and Path(sample["file_name"]).name == "000000.jpg"

    row = next(r for r in range(len(dataset.index.image_ids)) if dataset.index.image_ids[r] == sample["image_id"])
    dataset.open_row(row)
    editor = dataset.editor
    x, y, w, h = editor.session.doc.person(editor.image_id, 0).bbox
    editor.canvas.boxEdited.emit(0, x + 15.0, y + 10.0, w, h)  # what a drag of the box reports
    assert editor.session.dirty  # journaled, not yet written to val.json (autosave waits 5 s)

    win.tabs.setCurrentWidget(inference)  # the user goes to Inference at once and presses Run
    inference.controls.min_score.setValue(0.0)
    with qtbot.waitSignal(inference.resultReady, timeout=300_000):
        assert inference.run()
    gt = inference.result.ground_truth
    assert gt is not None
    assert np.asarray(gt.boxes[0]) == pytest.approx([x + 15.0, y + 10.0, x + 15.0 + w, y + 10.0 + h], abs=0.01)
    qtbot.waitUntil(lambda: not inference.is_busy())
    win.discard_unsaved_on_close = True
    win.close()

"""The dataset statistics panel says in a sentence when there is nothing to plot, instead of an
empty 0..1 histogram labelled "people (x0.001)"."""

from __future__ import annotations

import numpy as np

from app.widgets.dataset_stats import DatasetStatsPanel


def stats(box_wh: np.ndarray) -> dict:
    return {"images": 3, "people": len(box_wh), "with_keypoints": 0, "with_densepose": 0, "with_csi": 0,
            "per_split": {"train": 3}, "kp_visibility": np.zeros((17, 3), int), "box_wh": box_wh}


def test_histogram_or_a_sentence(qtbot) -> None:
    panel = DatasetStatsPanel()
    qtbot.addWidget(panel)
    panel.resize(400, 600)
    panel.show()
    qtbot.waitExposed(panel)
    assert panel.hist_empty.isVisible() and not panel.hist.isVisible()  # before any dataset
    assert "open a project" in panel.summary.text()
    panel.set_stats(stats(np.zeros((0, 2))))
    assert panel.hist_empty.isVisible() and not panel.hist.isVisible()
    assert "people are annotated" in panel.hist_empty.text()
    panel.set_stats(stats(np.array([[40.0, 90.0], [100.0, 200.0], [60.0, 60.0]])))
    assert panel.hist.isVisible() and not panel.hist_empty.isVisible()
    heights = panel._bars.opts["height"]
    assert int(np.sum(heights)) == 3  # every box counted once
    panel.set_stats(stats(np.zeros((0, 2))))  # a dataset whose people were all deleted
    assert panel.hist_empty.isVisible() and not panel.hist.isVisible()

"""A heatmap panel's sentence (shown instead of a picture) wraps inside the panel instead of
running off both edges (the MTN panels cut "Open a CSI file: the MTN output ..." on both sides)."""

from __future__ import annotations

import numpy as np

from app.widgets.heatmap_view import HeatmapView

LONG = ("Open a CSI file: the MTN output of its first window appears here "
        "(random weights until a run saves a checkpoint)")


def test_a_long_sentence_wraps_inside_the_panel(qtbot) -> None:
    view = HeatmapView("MTN channel 0", empty=LONG)
    qtbot.addWidget(view)
    view.resize(320, 240)
    view.show()
    qtbot.waitExposed(view)
    vb = view.plot.vb
    qtbot.waitUntil(lambda: 0 < view.message.textItem.boundingRect().width() <= vb.width())
    narrow = view.message.textItem.boundingRect().height()
    assert view.empty_text() == LONG
    view.resize(1000, 240)  # wider: the sentence fits on one line, still inside
    qtbot.waitUntil(lambda: view.message.textItem.boundingRect().height() < narrow)
    assert view.message.textItem.boundingRect().width() <= vb.width()
    assert narrow > 1.8 * view.message.textItem.boundingRect().height()  # it was wrapped, not cut
    view.set_data(np.arange(12.0).reshape(3, 4))
    assert view.empty_text() == ""

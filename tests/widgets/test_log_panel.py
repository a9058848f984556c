"""Log pane: long lines wrap instead of scrolling the pane sideways; it is at least six lines tall."""

from __future__ import annotations

from app.widgets.log_panel import MIN_LINES, LogPanel


def test_long_lines_wrap_and_the_pane_never_scrolls_sideways(qtbot) -> None:
    panel = LogPanel()
    qtbot.addWidget(panel)
    panel.resize(400, 200)
    panel.show()
    qtbot.waitExposed(panel)
    for i in range(50):
        panel.append_line(f"[12:00:{i:02d} detectron2.engine] " + "a very long log line " * 20)
    qtbot.wait(20)
    assert panel.horizontalScrollBar().maximum() == 0 and panel.horizontalScrollBar().value() == 0
    bar = panel.verticalScrollBar()
    assert bar.value() == bar.maximum() > 0  # follows the newest line
    assert panel.lines()[-1].startswith("[12:00:49")


def test_the_pane_is_at_least_six_lines_tall(qtbot) -> None:
    panel = LogPanel()
    qtbot.addWidget(panel)
    assert panel.minimumHeight() >= MIN_LINES * panel.fontMetrics().lineSpacing() >= 6 * 10

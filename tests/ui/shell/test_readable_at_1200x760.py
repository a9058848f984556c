"""Every view of the main window is readable in a 1200x760 window: nothing clipped, no toolbar
hiding buttons, the UV chart whole (issue: "pose for selecti", "people <= 99", the chart cut off).

Run it under a real X server too (``QT_QPA_PLATFORM=xcb`` under Xvfb): fonts and frames there are
not the offscreen ones.
"""

from __future__ import annotations

from pathlib import Path

from tests.ui.readable import unreadable

SIZE = (1200, 760)


def test_every_view_is_readable_at_1200x760(qtbot, qapp_settings, demo_copy: Path, tmp_path: Path) -> None:
    from app.backend.config import builtin_config
    from app.ui.shell.main_window import MainWindow
    from app.ui.shell.project import Project
    from tests.tiny_config import tiny_overrides

    project = Project.create(tmp_path / "proj", builtin_config("demo_cpu"), name="small",
                             overrides=tiny_overrides(demo_copy), datasets=[str(demo_copy / "val.json")])
    win = MainWindow(project=str(project.root), open_initial=False)
    qtbot.addWidget(win)
    win.resize(*SIZE)
    win.show()
    qtbot.waitExposed(win)
    dataset = win.dataset_view
    with qtbot.waitSignal(dataset.datasetReady, timeout=60_000):
        win.open_project(project.root)
    qtbot.waitUntil(lambda: bool(dataset.editor.sessions), timeout=30_000)
    # the views' minimum sizes fit: the window is the size asked for, not grown past it
    assert (win.width(), win.height()) == SIZE, win.minimumSizeHint()

    problems: dict[str, list[str]] = {}
    for title, view in win.views.items():
        win.tabs.setCurrentWidget(view)
        qtbot.wait(50)
        problems[title] = unreadable(view)
    win.tabs.setCurrentWidget(dataset)
    dataset.open_row(0)
    panel = dataset.editor.panel
    for n in range(panel.tabs.count()):
        panel.tabs.setCurrentIndex(n)
        qtbot.wait(50)
        chart = panel.uv_chart
        whole = (chart.square, chart.body) if chart.isVisible() else ()
        problems[f"Annotate / {panel.tabs.tabText(n)}"] = unreadable(dataset, whole)
    assert chart.square.height() >= chart.square.minimumHeight()
    assert {title: p for title, p in problems.items() if p} == {}
    win.discard_unsaved_on_close = True
    win.close()

"""MTN Preview inside the full main window: on a real X server (xcb) its heatmaps stayed empty
(``Cannot set range [nan, nan]``), its MTN panels said "no model" with a project open, and its empty
plots showed ticks like ``1e-143``. ``make test`` runs this under Xvfb with xcb as well as offscreen."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from app.ui.shell.project import Project


def rendered(widget) -> np.ndarray:
    """What ``widget`` paints, RGB uint8 (H, W, 3)."""
    img = widget.grab().toImage().convertToFormat(widget.grab().toImage().Format.Format_RGB888)
    ptr = img.constBits()
    arr = np.frombuffer(ptr, np.uint8, img.sizeInBytes()).reshape(img.height(), img.bytesPerLine())
    return arr[:, : img.width() * 3].reshape(img.height(), img.width(), 3).copy()


def test_mtn_preview_draws_a_csi_file_inside_the_main_window(qtbot, qapp_settings, demo_project: Project,
                                                             demo_dataset_dir: Path) -> None:
    from app.ui.shell.main_window import MainWindow

    win = MainWindow(project=str(demo_project.root), open_initial=False)
    qtbot.addWidget(win)
    win.discard_unsaved_on_close = True
    win.resize(1360, 860)
    win.show()
    qtbot.waitExposed(win)
    win.open_project(demo_project.root)
    view = win.mtn_preview_view
    win.tabs.setCurrentWidget(view)
    qtbot.wait(300)  # the tab is laid out and painted before anything is loaded, as a user sees it
    heatmaps = [view.amplitude, view.phase, view.sanitized, *view.channels, view.composite]
    for panel in heatmaps:
        (x0, x1), (y0, y1) = panel.plot.viewRange()
        assert all(math.isfinite(v) for v in (x0, x1, y0, y1))
        assert panel.empty_text(), "an empty panel says what to do, not a 0..1 plot"
        assert not panel.plot.getAxis("left").isVisible()  # no ticks like 1e-143
    for panel in [*view.channels, view.composite]:
        assert "no model" not in panel.empty_text()  # a project is open: its model is there

    csi = sorted((demo_dataset_dir / "csi" / "val").glob("*.npz"))[0]
    with qtbot.waitSignal(view.mtnUpdated, timeout=180_000):
        view.open_file(csi)
    qtbot.wait(300)
    for panel in heatmaps:
        data = np.asarray(panel.image.image, np.float64)
        assert data.size and np.isfinite(data).all(), panel.plot.titleLabel.text
        assert data.max() > data.min(), f"{panel.plot.titleLabel.text} is constant"
        (x0, x1), (y0, y1) = panel.plot.viewRange()
        height, width = data.shape[:2]
        assert (x0, x1) == (0, width) and (y0, y1) == (0, height)  # the whole image, no NaN range
        assert panel.empty_text() == ""
        pixels = rendered(panel)
        colours = np.unique(pixels.reshape(-1, 3), axis=0)
        assert len(colours) > 20, f"{panel.plot.titleLabel.text} paints {len(colours)} colours"
    win.close()

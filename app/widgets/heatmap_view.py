"""Heatmap and image panels on pyqtgraph (ImageItem, ``axisOrder='row-major'``), fed with arrays.

Created once, then updated with :meth:`HeatmapView.set_data` (no items are rebuilt), as the
pyqtgraph examples recommend for fast updates.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextOption


def csi_image(values: np.ndarray) -> np.ndarray:
    """CSI values (P, S, R, T) -> a 2D float32 image (R*T*S, P).

    Rows are grouped by antenna pair (rx-major: pair (r, t) occupies rows
    ``(r*T + t)*S .. (r*T + t + 1)*S - 1``, one row per subcarrier); columns are packets (time).
    Non-finite values become NaN (drawn transparent).
    """
    v = np.asarray(values, dtype=np.float32)
    if v.ndim != 4:
        raise ValueError(f"expected CSI values of shape (P, S, R, T), got {v.shape}")
    p, s, r, t = v.shape
    img = v.transpose(2, 3, 1, 0).reshape(r * t * s, p)
    return np.where(np.isfinite(img), img, np.nan).astype(np.float32)


class HeatmapView(pg.GraphicsLayoutWidget):
    """One titled panel: a 2D float heatmap (colour-mapped) or an RGB uint8 image (H, W, 3).

    Row 0 of the array is drawn at the top. ``set_region`` marks a column range
    (e.g. the current window of a recording). Without data the panel shows a sentence
    (``empty``, or :meth:`show_message`) and no axes.

    The view range is set from the image's shape, never auto-ranged: the message text and
    the region marker are left out of the bounds. (Auto-ranging over the text item, whose
    size depends on the view's own scale, collapsed the range to ~1e-143 and then to NaN
    on a real X server inside the main window.)
    """

    def __init__(
        self, title: str = "", parent=None, colormap: str = "viridis", x_label: str = "", y_label: str = "",
        empty: str = "no data",
    ) -> None:
        super().__init__(parent)
        self.plot = self.addPlot(title=title)
        self.plot.invertY(True)
        self.plot.setMenuEnabled(False)
        self.plot.disableAutoRange()
        if x_label:
            self.plot.setLabel("bottom", x_label)
        if y_label:
            self.plot.setLabel("left", y_label)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self._lut = pg.colormap.get(colormap).getLookupTable(nPts=256)
        self.region = pg.LinearRegionItem(movable=False, brush=(255, 255, 255, 50))
        self.region.setZValue(10)
        self.region.hide()
        self.plot.addItem(self.region, ignoreBounds=True)
        self.message = pg.TextItem("", anchor=(0.5, 0.5), color=(200, 200, 200))
        self.message.textItem.document().setDefaultTextOption(QTextOption(Qt.AlignmentFlag.AlignHCenter))
        self.plot.addItem(self.message, ignoreBounds=True)
        self.plot.vb.sigResized.connect(self._wrap_message)  # a long sentence wraps inside the panel
        self.data: np.ndarray | None = None
        self.setMinimumSize(160, 140)
        self.show_message(empty)

    def set_data(self, values: np.ndarray, levels: tuple[float, float] | None = None) -> None:
        """Show a 2D array (H, W) with the colour map (levels: (low, high), default the finite min/max)
        or an RGB uint8 array (H, W, 3) as is."""
        arr = np.asarray(values)
        if arr.ndim not in (2, 3) or 0 in arr.shape[:2]:
            raise ValueError(f"expected an image (H, W) or (H, W, 3), got shape {arr.shape}")
        self.data = arr
        self.message.setText("")
        self._show_axes(True)
        if arr.ndim == 3:
            self.image.setImage(np.ascontiguousarray(arr), levels=(0, 255), lut=None, autoLevels=False)
        else:
            finite = arr[np.isfinite(arr)]
            if levels is None:
                levels = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
                if levels[0] == levels[1]:
                    levels = (levels[0] - 0.5, levels[1] + 0.5)
            self.image.setImage(arr.astype(np.float32), levels=levels, lut=self._lut, autoLevels=False)
        self.image.setRect(0, 0, arr.shape[1], arr.shape[0])
        self.plot.setRange(xRange=(0, arr.shape[1]), yRange=(0, arr.shape[0]), padding=0)

    def show_message(self, text: str) -> None:
        """Replace the picture by a centred sentence (e.g. "Open a CSI file to see its amplitude"), no axes."""
        self.data = None
        self.image.clear()
        self.region.hide()
        self._show_axes(False)
        self.message.setText(text)
        self.message.setPos(0.5, 0.5)
        self.plot.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)

    def _wrap_message(self, *_: object) -> None:
        self.message.setTextWidth(max(60.0, self.plot.vb.width() - 16.0))

    def empty_text(self) -> str:
        """The sentence shown instead of a picture ("" while data is shown)."""
        return "" if self.data is not None else self.message.toPlainText()

    def _show_axes(self, on: bool) -> None:
        for side in ("left", "bottom"):
            self.plot.showAxis(side, on)

    def set_region(self, x0: float | None, x1: float | None = None) -> None:
        """Mark columns x0..x1 (None hides the marker)."""
        if x0 is None:
            self.region.hide()
            return
        self.region.setRegion((x0, x1))
        self.region.show()

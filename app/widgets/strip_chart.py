"""A scrolling chart of a few series over the last seconds (live CSI amplitude, people count).

Points arrive in batches (:meth:`StripChart.append`, times in seconds and one column per series);
each series lives in a :class:`~app.widgets.loss_plot.RingBuffer`, so memory stays fixed however
long the stream runs. Curves are created once per series and only get ``setData`` afterwards;
redraws are throttled to a timer (a burst of batches costs one repaint), and the x range follows
the newest point, showing the last ``span_s`` seconds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Slot
from PySide6.QtWidgets import QVBoxLayout, QWidget

from app.widgets.loss_plot import RingBuffer

_PALETTE = (
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
)


class StripChart(QWidget):
    """Series against time, scrolling.

    Args:
        title, y_label: shown on the plot.
        span_s: seconds of history in view (older points stay in the buffers, scrolled out).
        capacity: points kept per series.
        step: draw a step line (counts) instead of straight segments (signals).
        redraw_interval_ms: at most one repaint per interval.
    """

    def __init__(self, title: str, y_label: str, parent: QWidget | None = None, *, span_s: float = 10.0,
                 capacity: int = 20_000, step: bool = False, redraw_interval_ms: int = 100) -> None:
        super().__init__(parent)
        self.span_s = float(span_s)
        self.capacity = int(capacity)
        self.step = step
        self._buffers: dict[str, RingBuffer] = {}
        self._curves: dict[str, pg.PlotDataItem] = {}
        self._dirty = False
        self._newest = -np.inf

        self.plot_widget = pg.PlotWidget(self, background="w")
        self.plot = self.plot_widget.getPlotItem()
        self.plot.setTitle(title)
        self.plot.setLabel("left", y_label)
        self.plot.setLabel("bottom", "time", units="s")
        self.plot.showGrid(x=True, y=True, alpha=0.3)
        self.plot.setDownsampling(auto=True, mode="peak")
        self.plot.setClipToView(True)
        self.legend = self.plot.addLegend(offset=(5, 5), labelTextSize="8pt", colCount=3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot_widget)

        self._timer = QTimer(self)
        self._timer.setInterval(redraw_interval_ms)
        self._timer.timeout.connect(self.flush)
        self._timer.start()

    def append(self, times: np.ndarray, values: np.ndarray, names: Sequence[str]) -> None:
        """Add points: ``times`` float (n,) seconds, ``values`` float (n, k), one column per name in ``names``."""
        t = np.asarray(times, np.float64).reshape(-1)
        v = np.asarray(values, np.float64).reshape(t.size, -1)
        for k, name in enumerate(names):
            self._buffer(name).extend(t, v[:, k])
        if t.size:
            self._newest = max(self._newest, float(t.max()))
            self._dirty = True

    def clear(self) -> None:
        """Forget every series and its curve (a new stream may bring other series)."""
        for curve in self._curves.values():
            self.plot.removeItem(curve)
        self.legend.clear()
        self._buffers.clear()
        self._curves.clear()
        self._newest = -np.inf
        self._dirty = False

    def series_names(self) -> list[str]:
        return list(self._buffers)

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Copies of (times, values) of ``name``, float64 (n,)."""
        x, y = self._buffers[name].data()
        return x.copy(), y.copy()

    def curve(self, name: str) -> pg.PlotDataItem:
        return self._curves[name]

    @Slot()
    def flush(self) -> None:
        """Push new points to the curves and scroll (called by the redraw timer)."""
        if not self._dirty:
            return
        for name, buf in self._buffers.items():
            x, y = buf.data()
            if self.step and len(x) > 1:  # each value holds until the next point
                x, y = np.repeat(x, 2)[1:], np.repeat(y, 2)[:-1]
            self._curves[name].setData(x, y)
        self.plot.setXRange(self._newest - self.span_s, self._newest, padding=0)
        self._dirty = False

    def _buffer(self, name: str) -> RingBuffer:
        buf = self._buffers.get(name)
        if buf is None:
            buf = self._buffers[name] = RingBuffer(self.capacity)
            color = _PALETTE[len(self._curves) % len(_PALETTE)]
            curve = self.plot.plot([], [], pen=pg.mkPen(color=color, width=1), name=name)
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
            self._curves[name] = curve
        return buf

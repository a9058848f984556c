"""Live training curves: every loss term, the total loss and the learning rate.

Points arrive one iteration at a time (:meth:`LossPlot.append`) or as a whole history
(:meth:`LossPlot.set_history`). Each series lives in a bounded :class:`RingBuffer`, so
memory stays fixed however long a run is. Curves are created once and only get
``setData`` afterwards; peak downsampling and clip-to-view keep a redraw of 100,000
points per series in a few milliseconds; redraws are throttled to a timer so a burst of
points costs one repaint.

Every series has its own colour (:func:`series_color`: the total loss black, the others from a
20-colour palette in order of arrival); hovering the plot names each visible series' value at
that iteration. Without points the widget shows a sentence (:meth:`LossPlot.set_empty_text`)
instead of empty 0..1 axes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)
from scipy.signal import lfilter

from app.widgets.value_axis import ValueAxis

#: Series drawn on the lower plot (learning rates), not with the losses: "lr" and "<phase> lr".
LR_KEYS = ("lr",)


def is_lr(name: str) -> bool:
    return name in LR_KEYS or name.endswith(" lr")
DEFAULT_CAPACITY = 200_000
#: Pen widths in pixels. Wide (> 1 px) pens make QPainter.drawLines several times slower on long curves.
WIDTH_TOTAL = 1.0
WIDTH_OTHER = 1.0
AUTO_DOWNSAMPLE_FACTOR = 1.5
SYMBOL_BELOW = 30
#: Distinct colours readable on white, in order of arrival; the total loss is black.
PALETTE = (
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
    (0, 0, 128), (128, 0, 0), (0, 128, 128), (170, 110, 40), (107, 110, 0),
    (240, 50, 230), (60, 180, 75), (0, 130, 200), (145, 30, 180), (250, 190, 0),
)
TOTAL_COLOR = (0, 0, 0)
EMPTY_TEXT = "No curves yet: press Start to train, or Attach to run… to follow a run started elsewhere."


def series_color(name: str, index: int) -> tuple[int, int, int]:
    """Colour of the ``index``-th series (0-based, total loss not counted) named ``name``."""
    return TOTAL_COLOR if name == "total_loss" else PALETTE[index % len(PALETTE)]


class RingBuffer:
    """Fixed-capacity (x, y) store: float64 arrays of shape (capacity,); the oldest points drop out."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = int(capacity)
        self._x = np.empty(2 * self.capacity, np.float64)
        self._y = np.empty(2 * self.capacity, np.float64)
        self._start = 0
        self._end = 0

    def __len__(self) -> int:
        return self._end - self._start

    def append(self, x: float, y: float) -> None:
        self.extend(np.asarray([x], np.float64), np.asarray([y], np.float64))

    def extend(self, xs: np.ndarray, ys: np.ndarray) -> None:
        xs = np.asarray(xs, np.float64).ravel()[-self.capacity :]
        ys = np.asarray(ys, np.float64).ravel()[-self.capacity :]
        n = len(xs)
        if self._end + n > len(self._x):  # compact: keep the newest capacity - n points at the front
            keep = min(len(self), self.capacity - n)
            self._x[:keep] = self._x[self._end - keep : self._end]
            self._y[:keep] = self._y[self._end - keep : self._end]
            self._start, self._end = 0, keep
        self._x[self._end : self._end + n] = xs
        self._y[self._end : self._end + n] = ys
        self._end += n
        if len(self) > self.capacity:
            self._start = self._end - self.capacity

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        """Views (no copy) of x and y, oldest first."""
        return self._x[self._start : self._end], self._y[self._start : self._end]

    def clear(self) -> None:
        self._start = self._end = 0


class LossPlot(QWidget):
    """Losses (top) and learning rate (bottom) against iteration, with per-curve toggles.

    Signals:
        seriesAdded(str): a new series name appeared.
    """

    seriesAdded = Signal(str)

    def __init__(self, parent: QWidget | None = None, capacity: int = DEFAULT_CAPACITY,
                 redraw_interval_ms: int = 100) -> None:
        super().__init__(parent)
        self.capacity = capacity
        self._buffers: dict[str, RingBuffer] = {}
        self._curves: dict[str, pg.PlotDataItem] = {}
        self._colors: dict[str, tuple[int, int, int]] = {}
        self._items: dict[str, QListWidgetItem] = {}
        self._dirty: set[str] = set()
        self._smoothing = 0.0

        self.graphics = pg.GraphicsLayoutWidget(self)
        self.graphics.setBackground("w")
        self.loss_plot = self.graphics.addPlot(row=0, col=0, axisItems={"left": ValueAxis("left")})
        self.lr_plot = self.graphics.addPlot(row=1, col=0, axisItems={"left": ValueAxis("left")})
        self.graphics.ci.layout.setRowStretchFactor(0, 3)
        self.graphics.ci.layout.setRowStretchFactor(1, 1)
        # the lr plot follows the loss plot's x range one way (a two-way pyqtgraph link let the lr
        # plot's own range changes switch the loss plot's x auto-range off)
        self.lr_plot.setMouseEnabled(x=False, y=True)
        self.lr_plot.enableAutoRange(x=False, y=True)
        self.loss_plot.sigXRangeChanged.connect(self._sync_lr_x)
        self.loss_plot.setLabel("left", "loss")
        self.lr_plot.setLabel("left", "lr")
        self.lr_plot.setLabel("bottom", "iteration")
        for plot in (self.loss_plot, self.lr_plot):
            plot.showGrid(x=True, y=True, alpha=0.3)
            plot.setDownsampling(auto=True, mode="peak")
            plot.setClipToView(True)
        self.cursor = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen((120, 120, 120), style=Qt.PenStyle.DashLine))
        self.cursor.hide()
        self.loss_plot.addItem(self.cursor, ignoreBounds=True)
        self.hover_label = QLabel("", self)
        self.hover_label.setWordWrap(True)
        self.hover_label.setTextFormat(Qt.TextFormat.RichText)
        self.graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.empty_label = QLabel(EMPTY_TEXT, self)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet("color: #555; font-size: 11pt; padding: 24px;")
        plots = QWidget(self)
        pl = QVBoxLayout(plots)
        pl.setContentsMargins(0, 0, 0, 0)
        pl.addWidget(self.graphics, 1)
        pl.addWidget(self.hover_label)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.empty_label)
        self.stack.addWidget(plots)

        self.series_list = QListWidget(self)
        self.series_list.setMaximumWidth(220)
        self.series_list.itemChanged.connect(self._on_item_changed)
        self.log_check = QCheckBox("Log scale", self)
        self.log_check.toggled.connect(self.set_log_scale)
        self.smooth_check = QCheckBox("Smoothing (EMA 0.9)", self)
        self.smooth_check.toggled.connect(self._on_smoothing_toggled)

        side = QVBoxLayout()
        side.addWidget(QLabel("Curves", self))
        side.addWidget(self.series_list, 1)
        side.addWidget(self.log_check)
        side.addWidget(self.smooth_check)
        side_widget = QWidget(self)
        side_widget.setLayout(side)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.stack)
        splitter.addWidget(side_widget)
        splitter.setStretchFactor(0, 1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

        self._timer = QTimer(self)
        self._timer.setInterval(redraw_interval_ms)
        self._timer.timeout.connect(self.flush)
        self._timer.start()

    # data in -----------------------------------------------------------------
    def append(self, iteration: int, values: Mapping[str, float]) -> None:
        """Add one point per series at ``iteration``; non-numeric values are ignored."""
        for name, value in values.items():
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            self._buffer(name).append(float(iteration), float(value))
            self._dirty.add(name)

    def set_history(self, history: Mapping[str, tuple[Iterable[float], Iterable[float]]]) -> None:
        """Replace all series with ``{name: (iterations, values)}`` and redraw."""
        self.clear()
        for name, (xs, ys) in history.items():
            self._buffer(name).extend(np.asarray(list(xs), np.float64), np.asarray(list(ys), np.float64))
            self._dirty.add(name)
        self.flush()

    def clear(self) -> None:
        """Forget every point (curves and toggles stay); the view follows the next points again."""
        for name, buf in self._buffers.items():
            buf.clear()
            self._dirty.add(name)
        self.flush()
        self._follow()

    def set_empty_text(self, text: str) -> None:
        """The sentence shown while no series has a point."""
        self.empty_label.setText(text)

    def is_empty(self) -> bool:
        return not any(len(b) for b in self._buffers.values())

    # queries -----------------------------------------------------------------
    def series_names(self) -> list[str]:
        return list(self._buffers)

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the raw (unsmoothed) (iterations, values) of ``name``, float64 (n,)."""
        x, y = self._buffers[name].data()
        return x.copy(), y.copy()

    def curve(self, name: str) -> pg.PlotDataItem:
        return self._curves[name]

    # options -----------------------------------------------------------------
    def set_visible(self, name: str, visible: bool) -> None:
        self._items[name].setCheckState(Qt.CheckState.Checked if visible else Qt.CheckState.Unchecked)

    @Slot(bool)
    def set_log_scale(self, on: bool) -> None:
        """Log-scale y axes (non-positive values are hidden by pyqtgraph)."""
        if self.log_check.isChecked() != on:
            self.log_check.setChecked(on)
            return
        self.loss_plot.setLogMode(y=on)
        self.lr_plot.setLogMode(y=on)
        # switching the mode sets the linked x range, which turns pyqtgraph's x auto-range off:
        # new points then fell off the right edge and a resumed run drew outside the view
        self._follow()

    def _follow(self) -> None:
        """Auto-range again: x follows new points (the lr plot follows the loss plot), y fits them."""
        self.lr_plot.enableAutoRange(x=False, y=True)
        self.loss_plot.enableAutoRange(x=True, y=True)

    @Slot(object, object)
    def _sync_lr_x(self, _view: object, x_range: object) -> None:
        x0, x1 = x_range
        self.lr_plot.setXRange(x0, x1, padding=0)

    def set_smoothing(self, alpha: float) -> None:
        """Exponential moving average weight in [0, 1); 0 draws the raw values."""
        self._smoothing = min(max(float(alpha), 0.0), 0.999)
        self._dirty.update(self._buffers)
        self.flush()

    @Slot(bool)
    def _on_smoothing_toggled(self, on: bool) -> None:
        self.set_smoothing(0.9 if on else 0.0)

    @Slot(QListWidgetItem)
    def _on_item_changed(self, item: QListWidgetItem) -> None:
        name = item.data(Qt.ItemDataRole.UserRole)
        if name in self._curves:
            self._curves[name].setVisible(item.checkState() == Qt.CheckState.Checked)

    # drawing -----------------------------------------------------------------
    @Slot()
    def flush(self) -> None:
        """Push changed series to their curves (called by the redraw timer)."""
        for name in self._dirty:
            x, y = self._buffers[name].data()
            if self._smoothing > 0 and len(y):
                y = ema(y, self._smoothing)
            curve = self._curves[name]
            # dots while a series is short (a single point has no line to draw)
            curve.setSymbol("o" if len(x) < SYMBOL_BELOW else None)
            curve.setData(x, y)
        self._dirty.clear()
        self.stack.setCurrentIndex(0 if self.is_empty() else 1)

    # hover ---------------------------------------------------------------------
    def values_at(self, iteration: float) -> tuple[int, dict[str, float]]:
        """``(iteration, {series: value})`` of the visible series' points nearest to ``iteration``
        (raw values, or smoothed ones while smoothing is on)."""
        out: dict[str, float] = {}
        nearest: int | None = None
        for name, buf in self._buffers.items():
            x, y = buf.data()
            if not len(x) or not self._curves[name].isVisible():
                continue
            i = int(np.clip(np.searchsorted(x, iteration), 1, len(x) - 1)) if len(x) > 1 else 0
            if len(x) > 1 and abs(x[i - 1] - iteration) <= abs(x[i] - iteration):
                i -= 1
            ys = ema(y, self._smoothing) if self._smoothing > 0 else y
            out[name] = float(ys[i])
            nearest = int(x[i]) if nearest is None or abs(x[i] - iteration) < abs(nearest - iteration) else nearest
        return (nearest if nearest is not None else round(iteration)), out

    def hover_text(self, iteration: float) -> str:
        """Rich text naming each visible series' value at ``iteration``, in its colour."""
        it, values = self.values_at(iteration)
        if not values:
            return ""
        parts = [f'<span style="color: rgb{self._colors[n]}">{n} {v:.4g}</span>' for n, v in values.items()]
        return f"<b>iteration {it}</b>: " + ", ".join(parts)

    @Slot(object)
    def _on_mouse_moved(self, scene_pos) -> None:
        for plot in (self.loss_plot, self.lr_plot):
            if plot.sceneBoundingRect().contains(scene_pos):
                x = plot.vb.mapSceneToView(scene_pos).x()
                text = self.hover_text(x)
                self.cursor.setPos(x)
                self.cursor.setVisible(bool(text))
                self.hover_label.setText(text)
                return
        self.cursor.hide()

    def _buffer(self, name: str) -> RingBuffer:
        buf = self._buffers.get(name)
        if buf is None:
            buf = self._buffers[name] = RingBuffer(self.capacity)
            self._add_curve(name)
        return buf

    def _add_curve(self, name: str) -> None:
        color = series_color(name, sum(1 for n in self._curves if n != "total_loss"))
        self._colors[name] = color
        width = WIDTH_TOTAL if name == "total_loss" else WIDTH_OTHER
        plot = self.lr_plot if is_lr(name) else self.loss_plot
        curve = plot.plot([], [], pen=pg.mkPen(color=color, width=width), symbolSize=4,
                          symbolBrush=pg.mkBrush(color), symbolPen=None)  # the toggle list is the legend
        # ~1.5 samples per pixel (pyqtgraph's default is 5): with peak mode every spike still shows,
        # and painting 100,000-point series costs a quarter of the time
        curve.opts["autoDownsampleFactor"] = AUTO_DOWNSAMPLE_FACTOR
        curve.setDownsampling(auto=True, method="peak")
        curve.setClipToView(True)
        self._curves[name] = curve
        item = QListWidgetItem(name)
        item.setData(Qt.ItemDataRole.UserRole, name)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked)
        item.setForeground(pg.mkColor(color))
        self._items[name] = item
        self.series_list.addItem(item)
        self.seriesAdded.emit(name)


def ema(y: np.ndarray, alpha: float) -> np.ndarray:
    """Exponential moving average of float (n,) ``y``: s[i] = alpha*s[i-1] + (1-alpha)*y[i], s[0] = y[0].

    Non-finite values are carried over from the previous smoothed value.
    """
    y = np.asarray(y, np.float64)
    finite = np.isfinite(y)
    if not finite.any():
        return y.copy()
    first = y[finite][0]
    # forward-fill gaps so the filter never sees NaN
    idx = np.where(finite, np.arange(len(y)), 0)
    np.maximum.accumulate(idx, out=idx)
    filled = np.where(finite[idx], y[idx], first)
    out, _ = lfilter([1.0 - alpha], [1.0, -alpha], filled, zi=[alpha * first])
    return out

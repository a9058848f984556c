"""Lazy thumbnail grid and list over column arrays (no per-image Qt items).

- :class:`DatasetTableModel`: a QAbstractTableModel over arrays, one row per image. Column 0
  is the file name and carries the thumbnail (DecorationRole). Thumbnails are requested only
  when a view paints a row; a ``loader(row) -> RGB uint8 (h, w, 3) | None`` callable runs on
  a QThreadPool (most recent request first, so the rows on screen win while scrolling), and
  results come back through a signal on a QObject to the GUI thread.
- :class:`MaskFilterProxy`: QSortFilterProxyModel whose filter is a bool mask computed in numpy.
- :class:`ThumbnailGrid`: QListView in IconMode with uniform item sizes and batched layout.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QRunnable,
    QSize,
    QSortFilterProxyModel,
    Qt,
    QThreadPool,
    Signal,
)
from PySide6.QtGui import QColor, QImage, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListView

ThumbLoader = Callable[[int], "np.ndarray | None"]


class _ThumbSignals(QObject):
    done = Signal(int, int, object)  # generation, row, QImage or None


class _ThumbJob(QRunnable):
    def __init__(self, loader: ThumbLoader, row: int, generation: int, signals: _ThumbSignals) -> None:
        super().__init__()
        self.loader, self.row, self.generation, self.signals = loader, row, generation, signals

    def run(self) -> None:
        qimg = None
        try:
            rgb = self.loader(self.row)
            if rgb is not None:
                rgb = np.ascontiguousarray(rgb[..., :3], dtype=np.uint8)
                h, w = rgb.shape[:2]
                qimg = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
        except Exception:  # an unreadable file shows the placeholder; never kill the worker
            qimg = None
        self.signals.done.emit(self.generation, self.row, qimg)


class DatasetTableModel(QAbstractTableModel):
    """Rows = images. ``set_table`` takes the column values as sequences of equal length N.

    Signals:
        thumbnailReady(int): source row whose thumbnail just arrived.
    """

    thumbnailReady = Signal(int)

    def __init__(self, parent=None, thumb_size: int = 128, max_threads: int = 2, memory_items: int = 3000) -> None:
        super().__init__(parent)
        self.headers: list[str] = []
        self.columns: list[Sequence] = []
        self._n = 0
        self._loader: ThumbLoader | None = None
        self._pix: OrderedDict[int, QPixmap] = OrderedDict()
        self._memory_items = memory_items
        self._pending: set[int] = set()
        self._queue: list[int] = []
        self._inflight = 0
        self._generation = 0
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._signals = _ThumbSignals(self)
        self._signals.done.connect(self._on_done)
        self._placeholder = QPixmap(thumb_size, thumb_size)
        self._placeholder.fill(QColor(60, 60, 60))
        self.max_queue = 512

    # -- data in ------------------------------------------------------------------------
    def set_table(self, headers: Sequence[str], columns: Sequence[Sequence], loader: ThumbLoader | None) -> None:
        """Replace all rows. ``columns[0]`` are the labels; others are shown as text (bool as ✓)."""
        lengths = {len(c) for c in columns}
        if len(lengths) > 1:
            raise ValueError(f"columns have different lengths {sorted(lengths)}")
        self.beginResetModel()
        self.headers, self.columns = list(headers), list(columns)
        self._n = lengths.pop() if lengths else 0
        self._loader = loader
        self._generation += 1
        self._pix.clear()
        self._pending.clear()
        self._queue.clear()
        self.endResetModel()

    def shutdown(self) -> None:
        """Drop queued requests and wait for running thumbnail jobs (call before closing)."""
        self._queue.clear()
        self._generation += 1
        self._pool.waitForDone()

    # -- model API ----------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._n

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.headers)

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if (
            role == Qt.ItemDataRole.DisplayRole
            and orientation == Qt.Orientation.Horizontal
            and section < len(self.headers)
        ):
            return self.headers[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, col = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            value = self.columns[col][row]
            if isinstance(value, (bool, np.bool_)):
                return "✓" if value else ""
            return str(value)
        if role == Qt.ItemDataRole.DecorationRole and col == 0:
            pix = self._pix.get(row)
            if pix is not None:
                self._pix.move_to_end(row)
                return pix
            self.request(row)
            return self._placeholder
        if role == Qt.ItemDataRole.ToolTipRole:
            return str(self.columns[0][row])
        if role == Qt.ItemDataRole.UserRole:
            return row
        return None

    # -- thumbnails ---------------------------------------------------------------------
    def has_thumbnail(self, row: int) -> bool:
        return row in self._pix

    def request(self, row: int) -> None:
        """Queue a thumbnail (latest request first); far-behind requests are dropped when the queue is long."""
        if self._loader is None or row in self._pending or row in self._pix:
            return
        self._pending.add(row)
        self._queue.append(row)
        if len(self._queue) > self.max_queue:
            for old in self._queue[: len(self._queue) - self.max_queue]:
                self._pending.discard(old)
            del self._queue[: len(self._queue) - self.max_queue]
        self._pump()

    def _pump(self) -> None:
        while self._queue and self._inflight < self._pool.maxThreadCount():
            row = self._queue.pop()
            self._inflight += 1
            self._pool.start(_ThumbJob(self._loader, row, self._generation, self._signals))

    def _on_done(self, generation: int, row: int, qimg) -> None:
        self._inflight -= 1
        if generation == self._generation:
            self._pending.discard(row)
            if qimg is not None:
                self._pix[row] = QPixmap.fromImage(qimg)
                while len(self._pix) > self._memory_items:
                    self._pix.popitem(last=False)
                idx = self.index(row, 0)
                self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])
                self.thumbnailReady.emit(row)
        self._pump()


class MaskFilterProxy(QSortFilterProxyModel):
    """Accepts source rows where a bool mask (N,) is True (None = all rows)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._mask: np.ndarray | None = None

    def set_mask(self, mask: np.ndarray | None) -> None:
        self.beginFilterChange()
        self._mask = None if mask is None else np.asarray(mask, bool).tolist()
        self.endFilterChange()

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex) -> bool:
        return True if self._mask is None else self._mask[source_row]


class ThumbnailGrid(QListView):
    """Icon grid of a model's column 0. ``rowActivated(int)`` gives the source row."""

    rowActivated = Signal(int)

    def __init__(self, parent=None, thumb_size: int = 128) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setUniformItemSizes(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(1000)
        self.setIconSize(QSize(thumb_size, thumb_size))
        self.setGridSize(QSize(thumb_size + 20, thumb_size + 28))
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.activated.connect(self._on_activated)
        self.doubleClicked.connect(self._on_activated)

    def _on_activated(self, index: QModelIndex) -> None:
        row = index.data(Qt.ItemDataRole.UserRole)
        if row is not None:
            self.rowActivated.emit(int(row))

    def selected_rows(self) -> list[int]:
        """Source rows of the selection."""
        return sorted({int(i.data(Qt.ItemDataRole.UserRole)) for i in self.selectedIndexes()})

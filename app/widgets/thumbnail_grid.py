"""Lazy thumbnail grid and list over column arrays (no per-image Qt items).

- :class:`DatasetTableModel`: a QAbstractTableModel over arrays, one row per image. Column 0
  is the file name and carries the thumbnail (DecorationRole). Thumbnails are requested only
  when a view paints a row; one background job (:class:`~app.widgets.job_runner.JobRunner`)
  calls a ``loader(row) -> RGB uint8 (h, w, 3) | None`` for the requested rows, most recent
  request first (so the rows on screen win while scrolling), and each thumbnail comes back
  to the GUI thread as a partial result.
- :class:`MaskFilterProxy`: QSortFilterProxyModel whose filter is a bool mask computed in numpy.
- :class:`ThumbnailGrid`: QListView in IconMode with uniform item sizes and batched layout.
- :class:`EmptyTextTable`: a QTableView; it and the grid say ``empty_text`` (a sentence: why
  nothing is listed and what to do) when their model has no rows.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Sequence

import numpy as np
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QSize,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListView, QTableView

from app.widgets.job_runner import JobRunner, TaskState

ThumbLoader = Callable[[int], "np.ndarray | None"]


def to_qimage(rgb: np.ndarray | None) -> QImage | None:
    """An RGB uint8 (h, w, 3) array as a QImage that owns its pixels (None stays None)."""
    if rgb is None:
        return None
    rgb = np.ascontiguousarray(rgb[..., :3], dtype=np.uint8)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def load_thumbnails(state: TaskState, loader: ThumbLoader, queue: deque[int]) -> None:
    """Job: load the rows requested in ``queue`` (newest last, taken first) until it is empty.

    Each thumbnail arrives as a partial result ``(row, QImage | None)``; an unreadable file
    gives None (the placeholder stays) and never ends the job.
    """
    while not state.cancelled:
        try:
            row = queue.pop()
        except IndexError:  # nothing left to load
            return
        try:
            qimg = to_qimage(loader(row))
        except Exception:
            qimg = None
        state.set_partial_result((row, qimg))


class DatasetTableModel(QAbstractTableModel):
    """Rows = images. ``set_table`` takes the column values as sequences of equal length N.

    Signals:
        thumbnailReady(int): source row whose thumbnail just arrived.
    """

    thumbnailReady = Signal(int)

    def __init__(self, parent=None, thumb_size: int = 128, memory_items: int = 3000) -> None:
        super().__init__(parent)
        self.headers: list[str] = []
        self.columns: list[Sequence] = []
        self._n = 0
        self._loader: ThumbLoader | None = None
        self._pix: OrderedDict[int, QPixmap] = OrderedDict()
        self._memory_items = memory_items
        self._pending: set[int] = set()  # requested, not arrived yet
        self._queue: deque[int] = deque()  # requested rows the job has not taken yet, newest last
        self.job = JobRunner(self, replace=True, name="thumbnails")
        self.job.partial.connect(self._on_thumbnail)
        self.job.finished.connect(self._on_job_finished)
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
        self._drop_requests()
        self._pix.clear()
        self.endResetModel()

    def shutdown(self) -> None:
        """Drop queued requests and join the thumbnail job (call before closing)."""
        self._drop_requests()
        self.job.shutdown()

    def _drop_requests(self) -> None:
        """Forget every request: the running job stops, and what it still delivers is dropped."""
        self.job.discard()
        self._queue.clear()  # the old job holds this deque: it finds it empty
        self._queue = deque()
        self._pending.clear()

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
        while len(self._queue) > self.max_queue:
            try:
                self._pending.discard(self._queue.popleft())
            except IndexError:  # the job took the rest meanwhile
                break
        if not self.job.is_running():
            self.job.start(load_thumbnails, self._loader, self._queue)

    def _on_thumbnail(self, loaded: tuple) -> None:
        row, qimg = loaded
        self._pending.discard(row)
        if qimg is not None:
            self._pix[row] = QPixmap.fromImage(qimg)
            while len(self._pix) > self._memory_items:
                self._pix.popitem(last=False)
            idx = self.index(row, 0)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])
            self.thumbnailReady.emit(row)

    def _on_job_finished(self) -> None:
        if self._queue:  # requested after the job had found the queue empty
            self.job.start(load_thumbnails, self._loader, self._queue)


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


def paint_empty_text(view: QAbstractItemView, text: str) -> None:
    """Write ``text`` in the middle of ``view``'s viewport when its model has no rows (call after
    the view's own paintEvent)."""
    model = view.model()
    if not text or (model is not None and model.rowCount() > 0):
        return
    p = QPainter(view.viewport())
    p.setPen(view.palette().placeholderText().color())
    rect = view.viewport().rect().adjusted(20, 20, -20, -20)
    p.drawText(rect, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)
    p.end()


class EmptyTextMixin:
    """For an item view (list it before the Qt base): says ``empty_text`` when its model has no rows."""

    empty_text = ""

    def set_empty_text(self, text: str) -> None:
        self.empty_text = text
        self.viewport().update()

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        paint_empty_text(self, self.empty_text)


class EmptyTextTable(EmptyTextMixin, QTableView):
    """A QTableView that says ``empty_text`` when its model has no rows."""


class ThumbnailGrid(EmptyTextMixin, QListView):
    """Icon grid of a model's column 0 (long names keep their end: the file name). ``rowActivated(int)``
    gives the source row; ``empty_text`` is said when the model has no rows."""

    rowActivated = Signal(int)

    def __init__(self, parent=None, thumb_size: int = 128) -> None:
        super().__init__(parent)
        self.setTextElideMode(Qt.TextElideMode.ElideLeft)
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

"""Chart picker for a DensePose point: the part (I = 1..24) and its (U, V) on the part's unit square.

The square is drawn tinted with the part's colour (``app.backend.vis.PART_COLORS_BGR``,
the colours the inference view uses). U runs left to right, V top to bottom, both 0..1.
Clicking or dragging in the square picks (U, V); other points of the same part are
drawn as small dots for context.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QComboBox, QSizePolicy, QVBoxLayout, QWidget

from app.backend.structures.body import NUM_PARTS, PART_NAMES
from app.backend.vis.colors import PART_COLORS_BGR


def part_qcolor(part: int, alpha: int = 255) -> QColor:
    """QColor of a fine part 0..24 from the BGR table."""
    b, g, r = (int(c) for c in PART_COLORS_BGR[part])
    return QColor(r, g, b, alpha)


class _UvSquare(QWidget):
    uvPicked = Signal(float, float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.part = 1
        self.uv: tuple[float, float] | None = None
        self.context = np.zeros((0, 2), np.float32)
        self.setMinimumSize(120, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(180, 180)

    def square(self) -> QRectF:
        side = min(self.width(), self.height()) - 8
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def uv_at(self, pos: QPointF) -> tuple[float, float]:
        sq = self.square()
        u = (pos.x() - sq.left()) / sq.width()
        v = (pos.y() - sq.top()) / sq.height()
        return round(min(max(u, 0.0), 1.0), 4), round(min(max(v, 0.0), 1.0), 4)

    def point_at(self, u: float, v: float) -> QPointF:
        sq = self.square()
        return QPointF(sq.left() + u * sq.width(), sq.top() + v * sq.height())

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        sq = self.square()
        p.fillRect(sq, part_qcolor(self.part, 90))
        grid = QPen(QColor(0, 0, 0, 70))
        for t in np.linspace(0, 1, 5):
            p.setPen(grid)
            p.drawLine(self.point_at(t, 0), self.point_at(t, 1))
            p.drawLine(self.point_at(0, t), self.point_at(1, t))
        p.setPen(QPen(part_qcolor(self.part), 2))
        p.drawRect(sq)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QBrush(QColor(0, 0, 0, 120)))
        for u, v in self.context:
            p.drawEllipse(self.point_at(float(u), float(v)), 2, 2)
        if self.uv is not None:
            p.setPen(QPen(QColor(255, 255, 255), 2))
            p.setBrush(QBrush(part_qcolor(self.part)))
            p.drawEllipse(self.point_at(*self.uv), 6, 6)
        p.setPen(QColor(40, 40, 40))
        p.drawText(sq.adjusted(3, 2, 0, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, "U →  V ↓")
        p.end()

    def mousePressEvent(self, event) -> None:
        self._pick(event)

    def mouseMoveEvent(self, event) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._pick(event)

    def mouseReleaseEvent(self, event) -> None:
        self._pick(event)
        self.uvPicked.emit(*self.uv)  # one pick per click or drag, emitted on release

    def _pick(self, event) -> None:
        self.uv = self.uv_at(event.position())
        self.update()


class UvChart(QWidget):
    """Part selector plus the part's UV square.

    Signals:
        partChanged(int): the user picked part I (1..24).
        uvChanged(float, float): the user picked (U, V) in 0..1.
    """

    partChanged = Signal(int)
    uvChanged = Signal(float, float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.combo = QComboBox(self)
        for part in range(1, NUM_PARTS + 1):
            pix = QPixmap(14, 14)
            pix.fill(part_qcolor(part))
            self.combo.addItem(QIcon(pix), f"{part}: {PART_NAMES[part]}", part)
        self.square = _UvSquare(self)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.combo)
        lay.addWidget(self.square, 1)
        self.combo.currentIndexChanged.connect(self._on_combo)
        self.square.uvPicked.connect(self.uvChanged)

    @property
    def part(self) -> int:
        return self.square.part

    @property
    def uv(self) -> tuple[float, float] | None:
        return self.square.uv

    def set_part(self, part: int) -> None:
        """Show part ``part`` (1..24) without emitting partChanged."""
        self.combo.blockSignals(True)
        self.combo.setCurrentIndex(int(part) - 1)
        self.combo.blockSignals(False)
        self.square.part = int(part)
        self.square.update()

    def set_uv(self, u: float | None, v: float | None = None) -> None:
        self.square.uv = None if u is None else (float(u), float(v))
        self.square.update()

    def set_context(self, uv: np.ndarray) -> None:
        """Other (U, V) points of this part, float (K, 2)."""
        self.square.context = np.asarray(uv, np.float32).reshape(-1, 2)
        self.square.update()

    def _on_combo(self, index: int) -> None:
        self.square.part = index + 1
        self.square.update()
        self.partChanged.emit(index + 1)

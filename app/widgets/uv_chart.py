"""Chart picker for a DensePose point: the part (I = 1..24) and its (U, V) on the part's unit square.

Two pictures side by side:

- a body picture (given as data: views of a body, each fine part labels and U, V per pixel,
  e.g. a person drawn with the demo body model's charts from the front and from the back): the
  view that shows most of the chosen part, the part in its colour with its U and V iso-lines
  (U dark, V white, every 0.25), the other parts grey, and the chosen (U, V) marked where it
  lies on the body. Clicking a body part picks that part and the (U, V) under the cursor;
- the part's unit square, tinted with the part's colour (``app.backend.vis.PART_COLORS_BGR``,
  the colours the inference view uses), U left to right, V top to bottom, both 0..1, with the
  same iso-lines. Clicking or dragging in the square picks (U, V); other points of the same
  part are drawn as small dots for context.

A caption says what U and V run along for the chosen part (given as data, per part).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from app.backend.structures.body import NUM_PARTS, PART_NAMES
from app.backend.vis.colors import PART_COLORS_BGR

#: Spacing of the U / V iso-lines in both pictures.
ISO_STEP = 0.25
U_LINE = QColor(30, 30, 30, 200)
V_LINE = QColor(255, 255, 255, 230)


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
        self.setMinimumSize(100, 100)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("the part's chart: click or drag to pick U (left to right) and V (top to bottom)")

    def sizeHint(self) -> QSize:
        return QSize(160, 160)

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
        p.fillRect(sq, part_qcolor(self.part, 140))
        for t in np.arange(ISO_STEP, 1.0, ISO_STEP):
            p.setPen(QPen(U_LINE, 1))
            p.drawLine(self.point_at(t, 0), self.point_at(t, 1))  # U = t
            p.setPen(QPen(V_LINE, 1))
            p.drawLine(self.point_at(0, t), self.point_at(1, t))  # V = t
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
        p.setPen(QColor(20, 20, 20))
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


class _BodyPicture(QWidget):
    """The body picture: the view showing most of the chosen part, the part coloured with its
    iso-lines, the chosen (U, V) marked."""

    picked = Signal(int, float, float)  # part, U, V under a click on the body

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.views: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []
        self.view_name = ""
        self.labels = np.zeros((0, 0), np.uint8)
        self.u = self.v = np.zeros((0, 0), np.float32)
        self.part = 1
        self.uv: tuple[float, float] | None = None
        self._image: QImage | None = None
        self.setMinimumSize(60, 100)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("where the part lies on the body: click a part to pick it and the U, V there")

    def sizeHint(self) -> QSize:
        return QSize(110, 180)

    def set_views(self, views: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]) -> None:
        self.views = [(name, np.asarray(lab, np.uint8), np.asarray(u, np.float32), np.asarray(v, np.float32))
                      for name, lab, u, v in views]
        self._choose_view()

    def set_part(self, part: int) -> None:
        if part != self.part:
            self.part = int(part)
            self._choose_view()

    def _choose_view(self) -> None:
        if self.views:
            name, self.labels, self.u, self.v = max(self.views, key=lambda view: int((view[1] == self.part).sum()))
            self.view_name = f"seen from the {name}"
        self._image = None
        self.update()

    def target(self) -> QRectF:
        """Where the picture is drawn (kept in proportion, centred)."""
        h, w = self.labels.shape
        if h == 0 or w == 0:
            return QRectF()
        scale = min(self.width() / w, self.height() / h)
        return QRectF((self.width() - w * scale) / 2, (self.height() - h * scale) / 2, w * scale, h * scale)

    def position_of(self, u: float, v: float) -> QPointF | None:
        """Widget position of the chosen part's pixel whose (U, V) is nearest (u, v) (None: no such pixel)."""
        ys, xs = np.nonzero(self.labels == self.part)
        if len(xs) == 0:
            return None
        k = int(np.argmin((self.u[ys, xs] - u) ** 2 + (self.v[ys, xs] - v) ** 2))
        t, (h, w) = self.target(), self.labels.shape
        return QPointF(t.left() + (xs[k] + 0.5) * t.width() / w, t.top() + (ys[k] + 0.5) * t.height() / h)

    def _render(self) -> QImage:
        lab = self.labels
        rgba = np.zeros((*lab.shape, 4), np.uint8)
        rgba[lab > 0] = (190, 190, 190, 255)
        mine = lab == self.part
        b, g, r = (int(c) for c in PART_COLORS_BGR[self.part])
        rgba[mine] = (r, g, b, 255)
        for values, colour in ((self.u, U_LINE), (self.v, V_LINE)):
            band = np.floor(values / ISO_STEP).astype(np.int16)
            edge = np.zeros_like(mine)
            edge[:, 1:] |= band[:, 1:] != band[:, :-1]
            edge[1:, :] |= band[1:, :] != band[:-1, :]
            edge &= mine
            rgba[edge] = (colour.red(), colour.green(), colour.blue(), 255)
        h, w = lab.shape
        return QImage(np.ascontiguousarray(rgba).data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()

    def paintEvent(self, event) -> None:
        if self.labels.size == 0:
            return
        if self._image is None:
            self._image = self._render()
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.drawImage(self.target(), self._image)
        p.setPen(self.palette().placeholderText().color())
        p.drawText(self.rect(), Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom, self.view_name)
        at = None if self.uv is None else self.position_of(*self.uv)
        if at is not None:
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            p.setPen(QPen(QColor(0, 0, 0), 3))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawEllipse(at, 5, 5)
            p.setPen(QPen(QColor(255, 255, 255), 1.5))
            p.drawEllipse(at, 5, 5)
        p.end()

    def mouseReleaseEvent(self, event) -> None:
        t, (h, w) = self.target(), self.labels.shape
        if t.isEmpty() or not t.contains(event.position()):
            return
        col = min(int((event.position().x() - t.left()) / t.width() * w), w - 1)
        row = min(int((event.position().y() - t.top()) / t.height() * h), h - 1)
        part = int(self.labels[row, col])
        if part > 0:
            self.picked.emit(part, round(float(self.u[row, col]), 4), round(float(self.v[row, col]), 4))


class UvChart(QWidget):
    """Part selector, body picture and the part's UV square.

    Signals:
        partChanged(int): the user picked part I (1..24) in the list.
        uvChanged(float, float): the user picked (U, V) in 0..1 on the square.
        pointPicked(int, float, float): the user clicked the body picture: part, U, V there.
    """

    partChanged = Signal(int)
    uvChanged = Signal(float, float)
    pointPicked = Signal(int, float, float)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.combo = QComboBox(self)
        for part in range(1, NUM_PARTS + 1):
            pix = QPixmap(14, 14)
            pix.fill(part_qcolor(part))
            self.combo.addItem(QIcon(pix), f"{part}: {PART_NAMES[part]}", part)
        self.body = _BodyPicture(self)
        self.square = _UvSquare(self)
        self.axes = QLabel("", self)
        self.axes.setWordWrap(True)
        self._axes_text: dict[int, tuple[str, str]] = {}
        pictures = QHBoxLayout()
        pictures.setContentsMargins(0, 0, 0, 0)
        pictures.addWidget(self.body, 2)  # a standing person: tall and thin
        pictures.addWidget(self.square, 3)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.combo)
        lay.addLayout(pictures, 1)
        lay.addWidget(self.axes)
        self.combo.currentIndexChanged.connect(self._on_combo)
        self.square.uvPicked.connect(self._on_square_pick)
        self.body.picked.connect(self._on_body_pick)
        self._show_axes()

    @property
    def part(self) -> int:
        return self.square.part

    @property
    def uv(self) -> tuple[float, float] | None:
        return self.square.uv

    def set_body_views(self, views: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]) -> None:
        """Views of a body, ``(name, labels, U, V)`` each: fine part labels uint8 (H, W) (0 = not on
        the body), U and V float (H, W); the picture shows the one with most of the chosen part."""
        self.body.set_views(views)

    def set_axes_text(self, axes: dict[int, tuple[str, str]]) -> None:
        """What U and V run along for each part: ``{part: (u_text, v_text)}`` (e.g. "shoulder → elbow")."""
        self._axes_text = dict(axes)
        self._show_axes()

    def set_part(self, part: int) -> None:
        """Show part ``part`` (1..24) without emitting partChanged."""
        self.combo.blockSignals(True)
        self.combo.setCurrentIndex(int(part) - 1)
        self.combo.blockSignals(False)
        self._show_part(int(part))

    def set_uv(self, u: float | None, v: float | None = None) -> None:
        self.square.uv = self.body.uv = None if u is None else (float(u), float(v))
        self.square.update()
        self.body.update()

    def set_context(self, uv: np.ndarray) -> None:
        """Other (U, V) points of this part, float (K, 2)."""
        self.square.context = np.asarray(uv, np.float32).reshape(-1, 2)
        self.square.update()

    def _show_part(self, part: int) -> None:
        self.square.part = part
        self.square.update()
        self.body.set_part(part)
        self._show_axes()

    def _show_axes(self) -> None:
        u_text, v_text = self._axes_text.get(self.part, ("", ""))
        self.axes.setText(f"U: {u_text} (dark lines)\nV: {v_text} (white lines)" if u_text else "")
        self.axes.setVisible(bool(u_text))

    def _on_combo(self, index: int) -> None:
        self._show_part(index + 1)
        self.partChanged.emit(index + 1)

    def _on_square_pick(self, u: float, v: float) -> None:
        self.body.uv = (u, v)
        self.body.update()
        self.uvChanged.emit(u, v)

    def _on_body_pick(self, part: int, u: float, v: float) -> None:
        self.set_part(part)
        self.set_uv(u, v)
        self.pointPicked.emit(part, u, v)

"""Image canvas for editing people: boxes, 17 COCO keypoints with skeleton, DensePose points.

A QGraphicsView whose scene coordinates are image pixels (x right, y down, pixel
centres at +0.5 as in COCO). The widget only draws what it is given
(:class:`CanvasPerson`) and reports finished user gestures through the signals declared
at the top of the class; it never edits the data itself. While a gesture is in progress
the dragged item moves on screen; the signal fires on mouse release.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView

from app.backend.structures.body import KEYPOINT_SKELETON, NUM_KEYPOINTS
from app.backend.vis.colors import KEYPOINT_COLORS_BGR, PART_COLORS_BGR

#: Hit tolerance in screen pixels.
HIT_PX = 8.0
MODES = ("edit", "box", "keypoint", "dp")


@dataclass
class CanvasPerson:
    """What the canvas draws for one person (all coordinates absolute image pixels).

    Attributes:
        bbox: (x, y, w, h) XYWH_ABS.
        keypoints: float (17, 3) as (x, y, v) with v in 0/1/2, or None.
        dp_xy: float (K, 2) absolute positions of the DensePose points.
        dp_i: int (K,) part index 1..24 of each point.
        proposal: drawn dashed (a model proposal to accept or reject).
        label: text shown at the box corner.
    """

    bbox: tuple[float, float, float, float]
    keypoints: np.ndarray | None = None
    dp_xy: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))
    dp_i: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.int64))
    proposal: bool = False
    label: str = ""


def _qcolor_bgr(bgr, alpha: int = 255) -> QColor:
    return QColor(int(bgr[2]), int(bgr[1]), int(bgr[0]), alpha)


class AnnotationCanvas(QGraphicsView):
    """Editable view of one image and its people.

    Modes: ``edit`` (select; drag keypoints, DensePose points, box corners/edges or the box
    itself), ``box`` (drag out a new box), ``keypoint`` (click places the current keypoint
    of the selected person), ``dp`` (click inside the selected person's box adds a point).

    While a box is dragged its DensePose points move with it on screen when
    ``points_follow_box`` is True (what the editor then does with them), else they stay. The
    image stays fitted to the view as it resizes until the user zooms; with no image the view
    shows ``empty_text``.
    """

    boxDrawn = Signal(float, float, float, float)  # x, y, w, h of a new box
    boxEdited = Signal(int, float, float, float, float)  # person, x, y, w, h after move/resize
    keypointMoved = Signal(int, int, float, float)  # person, keypoint 0..16, x, y
    keypointPlaced = Signal(int, int, float, float)  # person, keypoint, x, y (keypoint mode click)
    dpPointAdded = Signal(int, float, float)  # person, x, y (absolute)
    dpPointMoved = Signal(int, int, float, float)  # person, point index, x, y (absolute)
    dpPointSelected = Signal(int, int)  # person, point index
    personSelected = Signal(int)  # person index, -1 = none
    proposalClicked = Signal(int)  # proposal index

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._pixmap = QGraphicsPixmapItem()
        self._pixmap.setZValue(-10)
        self.scene().addItem(self._pixmap)
        self._people: list[CanvasPerson] = []
        self._proposals: list[CanvasPerson] = []
        self._items: list[QGraphicsItem] = []
        self._kp_items: dict[tuple[int, int], QGraphicsItem] = {}
        self._dp_items: dict[tuple[int, int], QGraphicsItem] = {}
        self._box_items: dict[int, QGraphicsItem] = {}
        self.mode = "edit"
        self.selected_person = -1
        self.current_keypoint = 0
        self.selected_dp = -1
        self._drag: tuple | None = None
        self._rubber: QGraphicsItem | None = None
        self.points_follow_box = True
        self.empty_text = "No image open: double-click one in Browse."
        self._fitted = True

    # -- data in ----------------------------------------------------------------------
    def set_image(self, rgb: np.ndarray) -> None:
        """Show an RGB uint8 image of shape (H, W, 3); the scene rect becomes the image rect."""
        rgb = np.ascontiguousarray(rgb[..., :3], dtype=np.uint8)
        h, w = rgb.shape[:2]
        qimg = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
        self._pixmap.setPixmap(QPixmap.fromImage(qimg))
        self.scene().setSceneRect(QRectF(0, 0, w, h))
        self.fit()

    def fit(self) -> None:
        self.fitInView(self.scene().sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
        self._fitted = True

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fitted:
            self.fit()

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if self._pixmap.pixmap().isNull() and self.empty_text:
            p = QPainter(self.viewport())
            p.setPen(self.palette().placeholderText().color())
            p.drawText(self.viewport().rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.empty_text)
            p.end()

    def set_people(self, people: list[CanvasPerson], proposals: list[CanvasPerson] | None = None) -> None:
        self._people = list(people)
        self._proposals = list(proposals or [])
        if self.selected_person >= len(self._people):
            self.selected_person = len(self._people) - 1
        self._rebuild()

    def set_selection(self, person: int, keypoint: int | None = None, dp_index: int | None = None) -> None:
        self.selected_person = person
        if keypoint is not None:
            self.current_keypoint = keypoint
        if dp_index is not None:
            self.selected_dp = dp_index
        self._rebuild()

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown canvas mode {mode!r}")
        self.mode = mode
        cursor = Qt.CursorShape.ArrowCursor if mode == "edit" else Qt.CursorShape.CrossCursor
        self.viewport().setCursor(cursor)

    # -- drawing ----------------------------------------------------------------------
    def _rebuild(self) -> None:
        scene = self.scene()
        for item in self._items:
            scene.removeItem(item)
        self._items, self._kp_items, self._dp_items, self._box_items = [], {}, {}, {}
        for n, person in enumerate(self._people):
            self._draw_person(n, person, selected=n == self.selected_person)
        for n, person in enumerate(self._proposals):
            self._draw_person(-1 - n, person, selected=False)

    def _marker(self, x: float, y: float, radius: float, color: QColor, square: bool = False, outline=None):
        pen = QPen(outline if outline is not None else QColor(0, 0, 0))
        pen.setCosmetic(True)
        rect = QRectF(-radius, -radius, 2 * radius, 2 * radius)
        scene = self.scene()
        item = scene.addRect(rect, pen, QBrush(color)) if square else scene.addEllipse(rect, pen, QBrush(color))
        item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        item.setPos(x, y)
        self._items.append(item)
        return item

    def _draw_person(self, n: int, p: CanvasPerson, selected: bool) -> None:
        scene = self.scene()
        color = QColor(255, 210, 0) if selected else QColor(80, 255, 80)
        if p.proposal:
            color = QColor(255, 255, 255)
        pen = QPen(color, 2.5 if selected else 1.5)
        pen.setCosmetic(True)
        if p.proposal:
            pen.setStyle(Qt.PenStyle.DashLine)
        x, y, w, h = p.bbox
        box = scene.addRect(QRectF(x, y, w, h), pen)
        self._items.append(box)
        self._box_items[n] = box
        if p.label:
            text = scene.addSimpleText(p.label)
            text.setBrush(QBrush(color))
            text.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            text.setPos(x, y)
            self._items.append(text)
        if p.keypoints is not None:
            kp = np.asarray(p.keypoints, dtype=np.float64).reshape(NUM_KEYPOINTS, 3)
            for a, b in KEYPOINT_SKELETON:
                if kp[a, 2] > 0 and kp[b, 2] > 0:
                    lpen = QPen(_qcolor_bgr(KEYPOINT_COLORS_BGR[b], 220), 2)
                    lpen.setCosmetic(True)
                    if p.proposal:
                        lpen.setStyle(Qt.PenStyle.DashLine)
                    self._items.append(scene.addLine(kp[a, 0], kp[a, 1], kp[b, 0], kp[b, 1], lpen))
            for k in range(NUM_KEYPOINTS):
                if kp[k, 2] <= 0:
                    continue
                fill = _qcolor_bgr(KEYPOINT_COLORS_BGR[k], 255 if kp[k, 2] >= 2 else 110)
                current = selected and k == self.current_keypoint
                outline = QColor(255, 255, 255) if current else None
                self._kp_items[(n, k)] = self._marker(kp[k, 0], kp[k, 1], 6 if current else 4, fill, outline=outline)
        for j, ((px, py), part) in enumerate(zip(np.asarray(p.dp_xy).reshape(-1, 2), np.asarray(p.dp_i).reshape(-1))):
            fill = _qcolor_bgr(PART_COLORS_BGR[int(part)] if 0 <= int(part) < len(PART_COLORS_BGR) else (255, 255, 255))
            current = selected and j == self.selected_dp
            outline = QColor(255, 255, 255) if current else None
            self._dp_items[(n, j)] = self._marker(px, py, 4 if current else 2.5, fill, square=True, outline=outline)

    # -- hit testing ------------------------------------------------------------------
    def _scene_tol(self) -> float:
        return HIT_PX / max(self.transform().m11(), 1e-6)

    def _hit(self, pt: QPointF) -> tuple:
        """What lies under a scene point: ('kp', person, k) / ('dp', person, j) / ('box', person, edges) / ('none',)."""
        tol = self._scene_tol()
        order = ([self.selected_person] if self.selected_person >= 0 else []) + [
            n for n in range(len(self._people)) if n != self.selected_person
        ]
        for n in order:
            p = self._people[n]
            if p.keypoints is not None:
                kp = np.asarray(p.keypoints, dtype=np.float64).reshape(NUM_KEYPOINTS, 3)
                d = np.hypot(kp[:, 0] - pt.x(), kp[:, 1] - pt.y())
                d[kp[:, 2] <= 0] = np.inf
                k = int(np.argmin(d))
                if d[k] <= tol:
                    return ("kp", n, k)
            if len(p.dp_xy):
                d = np.hypot(p.dp_xy[:, 0] - pt.x(), p.dp_xy[:, 1] - pt.y())
                j = int(np.argmin(d))
                if d[j] <= tol:
                    return ("dp", n, j)
            edges = self._box_edges(p.bbox, pt, tol)
            if edges is not None:
                return ("box", n, edges)
        for n, p in enumerate(self._proposals):
            x, y, w, h = p.bbox
            if x - tol <= pt.x() <= x + w + tol and y - tol <= pt.y() <= y + h + tol:
                return ("proposal", n)
        return ("none",)

    @staticmethod
    def _box_edges(bbox, pt: QPointF, tol: float) -> str | None:
        """'' for the interior (move), a combination of 'l','r','t','b' near edges (resize), None outside."""
        x, y, w, h = bbox
        px, py = pt.x(), pt.y()
        if not (x - tol <= px <= x + w + tol and y - tol <= py <= y + h + tol):
            return None
        edges = ""
        edges += "l" if abs(px - x) <= tol else ("r" if abs(px - (x + w)) <= tol else "")
        edges += "t" if abs(py - y) <= tol else ("b" if abs(py - (y + h)) <= tol else "")
        return edges

    # -- mouse ------------------------------------------------------------------------
    def _scene_pos(self, event) -> QPointF:
        return self.mapToScene(event.position().toPoint())

    def _clamp(self, pt: QPointF) -> QPointF:
        r = self.scene().sceneRect()
        return QPointF(min(max(pt.x(), r.left()), r.right()), min(max(pt.y(), r.top()), r.bottom()))

    def mousePressEvent(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            super().mousePressEvent(event)
            return
        pt = self._clamp(self._scene_pos(event))
        self._drag = None
        if self.mode == "box":
            self._drag = ("new_box", pt)
            pen = QPen(QColor(255, 210, 0), 1.5, Qt.PenStyle.DashLine)
            pen.setCosmetic(True)
            self._rubber = self.scene().addRect(QRectF(pt, pt), pen)
            return
        if self.mode == "keypoint" and self.selected_person >= 0:
            self._drag = ("place_kp", self.selected_person, self.current_keypoint)
            return
        if self.mode == "dp" and self.selected_person >= 0:
            x, y, w, h = self._people[self.selected_person].bbox
            if x <= pt.x() <= x + w and y <= pt.y() <= y + h:
                self._drag = ("add_dp", self.selected_person)
                return
        hit = self._hit(pt)
        if hit[0] == "proposal":
            self.proposalClicked.emit(hit[1])
            return
        if hit[0] == "none":
            if self.selected_person != -1:
                self.selected_person = -1
                self._rebuild()
                self.personSelected.emit(-1)
            return
        person = hit[1]
        if person != self.selected_person:
            self.selected_person = person
            self.personSelected.emit(person)
        if hit[0] == "kp":
            self.current_keypoint = hit[2]
        elif hit[0] == "dp":
            self.selected_dp = hit[2]
            self.dpPointSelected.emit(person, hit[2])
        self._rebuild()
        self._drag = (hit[0], person, hit[2], pt, tuple(self._people[person].bbox))

    def mouseMoveEvent(self, event) -> None:
        if self._drag is None:
            super().mouseMoveEvent(event)
            return
        pt = self._clamp(self._scene_pos(event))
        kind = self._drag[0]
        if kind == "new_box" and self._rubber is not None:
            self._rubber.setRect(QRectF(self._drag[1], pt).normalized())
        elif kind == "kp":
            item = self._kp_items.get((self._drag[1], self._drag[2]))
            if item is not None:
                item.setPos(pt)
        elif kind == "dp":
            item = self._dp_items.get((self._drag[1], self._drag[2]))
            if item is not None:
                item.setPos(pt)
        elif kind == "box":
            box = self._box_items.get(self._drag[1])
            if box is not None:
                new = self._dragged_box(pt)
                box.setRect(QRectF(*new))
                self._move_points_with_box(self._drag[1], self._drag[4], new)

    def _move_points_with_box(self, n: int, old: tuple, new: tuple) -> None:
        """Show person ``n``'s DensePose points where a box change ``old`` -> ``new`` (XYWH) puts them."""
        if not self.points_follow_box:
            return
        (x, y, w, h), (nx, ny, nw, nh) = old, new
        for j, (px, py) in enumerate(np.asarray(self._people[n].dp_xy, np.float64).reshape(-1, 2)):
            item = self._dp_items.get((n, j))
            if item is not None and w > 0 and h > 0:
                item.setPos(nx + (px - x) / w * nw, ny + (py - y) / h * nh)

    def _dragged_box(self, pt: QPointF) -> tuple[float, float, float, float]:
        _, _, edges, start, (x, y, w, h) = self._drag
        dx, dy = pt.x() - start.x(), pt.y() - start.y()
        if edges == "":
            r = self.scene().sceneRect()
            nx = min(max(x + dx, r.left()), r.right() - w)
            ny = min(max(y + dy, r.top()), r.bottom() - h)
            return nx, ny, w, h
        x0, y0, x1, y1 = x, y, x + w, y + h
        if "l" in edges:
            x0 = min(x0 + dx, x1 - 1)
        if "r" in edges:
            x1 = max(x1 + dx, x0 + 1)
        if "t" in edges:
            y0 = min(y0 + dy, y1 - 1)
        if "b" in edges:
            y1 = max(y1 + dy, y0 + 1)
        return x0, y0, x1 - x0, y1 - y0

    def mouseReleaseEvent(self, event) -> None:
        if self._drag is None or event.button() != Qt.MouseButton.LeftButton:
            super().mouseReleaseEvent(event)
            return
        pt = self._clamp(self._scene_pos(event))
        drag, self._drag = self._drag, None
        kind = drag[0]
        if kind == "new_box":
            if self._rubber is not None:
                self.scene().removeItem(self._rubber)
                self._rubber = None
            rect = QRectF(drag[1], pt).normalized()
            if rect.width() >= 2 and rect.height() >= 2:
                self.boxDrawn.emit(rect.x(), rect.y(), rect.width(), rect.height())
        elif kind == "place_kp":
            self.keypointPlaced.emit(drag[1], drag[2], pt.x(), pt.y())
        elif kind == "add_dp":
            self.dpPointAdded.emit(drag[1], pt.x(), pt.y())
        elif drag[3] == pt:
            return  # a click without movement only selects
        elif kind == "kp":
            self.keypointMoved.emit(drag[1], drag[2], pt.x(), pt.y())
        elif kind == "dp":
            self.dpPointMoved.emit(drag[1], drag[2], pt.x(), pt.y())
        elif kind == "box":
            self.boxEdited.emit(drag[1], *self._dragged_box_from(drag, pt))

    def _dragged_box_from(self, drag: tuple, pt: QPointF) -> tuple[float, float, float, float]:
        saved, self._drag = self._drag, drag
        try:
            return self._dragged_box(pt)
        finally:
            self._drag = saved

    def wheelEvent(self, event) -> None:
        factor = 1.25 if event.angleDelta().y() > 0 else 0.8
        self.scale(factor, factor)
        self._fitted = False

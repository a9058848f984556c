"""Shows one image array scaled to fit, keeping its aspect ratio."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage, QPainter, QPaintEvent, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget


def array_to_qimage(image: np.ndarray, bgr: bool = True) -> QImage:
    """uint8 (H, W, 3) BGR (or RGB when ``bgr`` is False) or (H, W) gray -> a QImage owning its data."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        arr = np.ascontiguousarray(arr)
        h, w = arr.shape
        return QImage(arr.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ValueError(f"expected (H, W, 3) or (H, W) uint8, got shape {arr.shape}")
    arr = arr[:, :, :3]
    if bgr:
        arr = arr[:, :, ::-1]
    arr = np.ascontiguousarray(arr)
    h, w, _ = arr.shape
    return QImage(arr.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class ImageView(QWidget):
    """Paints an image centred and scaled to the widget; shows ``placeholder`` text when empty."""

    def __init__(self, parent: QWidget | None = None, placeholder: str = "No image") -> None:
        super().__init__(parent)
        self._pixmap: QPixmap | None = None
        self._array: np.ndarray | None = None
        self.placeholder = placeholder
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(120, 90)

    def set_image(self, image: np.ndarray | None, bgr: bool = True) -> None:
        """Show uint8 (H, W, 3) in BGR order (RGB when ``bgr`` is False), or clear with None."""
        if image is None:
            self._pixmap, self._array = None, None
        else:
            self._array = np.asarray(image)
            self._pixmap = QPixmap.fromImage(array_to_qimage(self._array, bgr=bgr))
        self.update()

    def image(self) -> np.ndarray | None:
        """The array last given to :meth:`set_image` (colour order as given)."""
        return self._array

    def has_image(self) -> bool:
        return self._pixmap is not None

    def sizeHint(self) -> QSize:
        return QSize(480, 360)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window())
        if self._pixmap is None:
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(self.rect().adjusted(12, 12, -12, -12),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
            return
        scaled = self._pixmap.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        x = (self.width() - scaled.width()) // 2
        y = (self.height() - scaled.height()) // 2
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawPixmap(x, y, scaled.width(), scaled.height(), self._pixmap)

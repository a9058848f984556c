"""Per-instance table of a FramePrediction: score, box and keypoint confidences."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from app.backend.structures import KEYPOINT_NAMES, FramePrediction

FIXED_COLUMNS = ("#", "score", "x0", "y0", "x1", "y1", "DensePose", "kp mean")


class InstanceTable(QTableWidget):
    """One row per instance; keypoint columns hold the third keypoint value (score or visibility)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(FIXED_COLUMNS) + len(KEYPOINT_NAMES), parent)
        self.setHorizontalHeaderLabels([*FIXED_COLUMNS, *KEYPOINT_NAMES])
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setAlternatingRowColors(True)
        self.verticalHeader().setVisible(False)
        # every header readable (keypoint names are long): the table scrolls sideways instead
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)

    def set_prediction(self, pred: FramePrediction | None) -> None:
        """Fill from ``pred`` (boxes XYXY_ABS in pixels of ``pred.image_size``); None clears."""
        self.setRowCount(0)
        if pred is None:
            return
        self.setRowCount(len(pred))
        for i in range(len(pred)):
            box = pred.boxes[i]
            has_dp = pred.densepose is not None and pred.densepose[i] is not None
            kps = pred.keypoints[i] if pred.keypoints is not None else None
            kp_mean = float(np.mean(kps[:, 2])) if kps is not None else float("nan")
            cells = [str(i), f"{pred.scores[i]:.3f}", *(f"{v:.1f}" for v in box), "yes" if has_dp else "no",
                     "" if kps is None else f"{kp_mean:.2f}"]
            if kps is not None:
                cells += [f"{v:.2f}" for v in kps[:, 2]]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.setItem(i, col, item)

    def cell_text(self, row: int, column: str) -> str:
        """Text of ``column`` (a header label) in ``row``."""
        labels = [self.horizontalHeaderItem(c).text() for c in range(self.columnCount())]
        item = self.item(row, labels.index(column))
        return "" if item is None else item.text()

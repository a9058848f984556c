"""Fixtures of the dataset view and annotation editor tests."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGraphicsRectItem, QGraphicsSimpleTextItem


def _drawn(canvas) -> tuple[list[tuple[int, int, int, int]], list[str]]:
    items = canvas.scene().items()
    dashed = sorted(tuple(round(v) for v in item.rect().getRect()) for item in items
                    if isinstance(item, QGraphicsRectItem) and item.pen().style() == Qt.PenStyle.DashLine)
    return dashed, sorted(item.text() for item in items if isinstance(item, QGraphicsSimpleTextItem))


@pytest.fixture
def drawn():
    """``drawn(canvas)``: what an annotation canvas shows the user: the boxes drawn dashed
    (proposals and pseudo labels) as (x, y, w, h) and the label texts."""
    return _drawn

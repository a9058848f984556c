"""Widgets on their own, built from in-memory data: thumbnail model/proxy, UV chart, heatmaps, canvas."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from app.widgets.annotation_canvas import AnnotationCanvas, CanvasPerson
from app.widgets.heatmap_view import HeatmapView, csi_image
from app.widgets.thumbnail_grid import DatasetTableModel, MaskFilterProxy, ThumbnailGrid
from app.widgets.uv_chart import UvChart


def test_thumbnail_model_loads_lazily_off_thread_and_filters(qtbot) -> None:
    calls: list[int] = []
    threads: set[str] = set()

    def loader(row: int):
        calls.append(row)
        threads.add(threading.current_thread().name)
        if row == 5:
            raise OSError("unreadable file")
        return None if row == 3 else np.full((24, 32, 3), row, np.uint8)

    model = DatasetTableModel(thumb_size=32)
    names = [f"img{i}.jpg" for i in range(10)]
    model.set_table(["file", "CSI"], [names, np.arange(10) % 2 == 0], loader)
    assert model.rowCount() == 10 and calls == []  # nothing is loaded before a view asks
    assert model.index(4, 1).data() == "✓" and model.index(5, 1).data() == ""
    with qtbot.waitSignal(model.thumbnailReady, timeout=5000) as got:
        model.index(2, 0).data(Qt.ItemDataRole.DecorationRole)
    assert got.args == [2] and model.has_thumbnail(2)
    pix = model.index(2, 0).data(Qt.ItemDataRole.DecorationRole)
    assert (pix.width(), pix.height()) == (32, 24)
    model.request(3)  # no image: placeholder stays
    model.request(5)  # the loader raises: placeholder stays, the job goes on
    model.request(6)
    qtbot.waitUntil(lambda: model.has_thumbnail(6), timeout=5000)
    assert not model.has_thumbnail(3) and not model.has_thumbnail(5) and sorted(calls[-3:]) == [3, 5, 6]
    assert all(name.startswith("thumbnails-") for name in threads)  # off the GUI thread, on the model's job
    proxy = MaskFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_mask(np.arange(10) >= 7)
    assert proxy.rowCount() == 3 and proxy.index(0, 0).data(Qt.ItemDataRole.UserRole) == 7
    grid = ThumbnailGrid(thumb_size=32)
    qtbot.addWidget(grid)
    grid.setModel(proxy)
    with qtbot.waitSignal(grid.rowActivated) as act:
        grid.activated.emit(proxy.index(1, 0))
    assert act.args == [8]
    model.shutdown()


def test_thumbnail_job_takes_the_newest_request_first_and_stops_when_cancelled() -> None:
    from collections import deque

    from app.widgets.job_runner import TaskState
    from app.widgets.thumbnail_grid import load_thumbnails

    got: list = []
    state = TaskState(lambda kind, value: got.append(value))
    load_thumbnails(state, lambda row: np.full((4, 6, 3), row, np.uint8), deque([1, 2, 3]))
    assert [row for row, _ in got] == [3, 2, 1]  # the rows a view painted last come first
    assert (got[0][1].width(), got[0][1].height()) == (6, 4)
    state.cancel()
    queue = deque([7, 8])
    load_thumbnails(state, lambda row: None, queue)
    assert len(got) == 3 and list(queue) == [7, 8]


def test_uv_chart_click_and_part(qtbot) -> None:
    chart = UvChart()
    qtbot.addWidget(chart)
    chart.resize(200, 240)
    chart.show()
    with qtbot.waitSignal(chart.partChanged) as part:
        chart.combo.setCurrentIndex(23)
    assert part.args == [24] and chart.part == 24
    sq = chart.square
    with qtbot.waitSignal(chart.uvChanged) as uv:
        qtbot.mouseClick(sq, Qt.MouseButton.LeftButton, pos=sq.point_at(0.1, 0.9).toPoint())
    assert uv.args == pytest.approx([0.1, 0.9], abs=0.02)
    chart.set_part(3)  # programmatic: no signal, no edit
    assert chart.part == 3 and chart.combo.currentIndex() == 2


def test_csi_image_layout_and_heatmap(qtbot) -> None:
    p, s, r, t = 4, 3, 2, 2
    values = np.zeros((p, s, r, t), np.float32)
    values[1, 2, 1, 0] = 7.0  # packet 1, subcarrier 2, rx 1, tx 0
    values[0, 0, 0, 0] = np.nan
    img = csi_image(values)
    assert img.shape == (r * t * s, p)
    assert img[(1 * t + 0) * s + 2, 1] == 7.0
    assert np.isnan(img[0, 0])
    view = HeatmapView("t")
    qtbot.addWidget(view)
    view.set_data(img)
    assert view.data is img
    view.set_data(np.zeros((5, 6, 3), np.uint8))
    view.set_region(1, 3)
    assert view.region.getRegion() == (1, 3)


def test_canvas_resize_box_by_dragging_its_corner(qtbot) -> None:
    canvas = AnnotationCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(500, 400)
    canvas.show()
    qtbot.waitExposed(canvas)
    canvas.set_image(np.zeros((200, 250, 3), np.uint8))
    canvas.set_people([CanvasPerson((50, 40, 100, 80))])
    canvas.set_selection(0)
    vp = canvas.viewport()
    p0, p1 = canvas.mapFromScene(QPointF(150, 120)), canvas.mapFromScene(QPointF(180, 150))
    with qtbot.waitSignal(canvas.boxEdited) as edited:
        qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=p0)
        qtbot.mouseMove(vp, pos=p1)
        qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=p1)
    n, x, y, w, h = edited.args
    assert (n, x, y) == (0, 50, 40)
    assert w == pytest.approx(130, abs=1.5) and h == pytest.approx(110, abs=1.5)

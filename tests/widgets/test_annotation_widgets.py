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


def test_uv_chart_body_picture_shows_the_part_and_picks_part_and_uv(qtbot) -> None:
    from app.backend.data.demo_body import CHART_AXES, chart_figures
    from app.widgets.uv_chart import part_qcolor

    chart = UvChart()
    qtbot.addWidget(chart)
    chart.resize(320, 360)
    chart.set_body_views(chart_figures(240))
    chart.set_axes_text(CHART_AXES)
    chart.show()
    qtbot.waitExposed(chart)
    body = chart.body
    chart.set_part(1)  # torso_back: only the view from the back shows it
    assert body.view_name == "seen from the back" and "hips → neck" in chart.axes.text()
    chart.set_part(2)
    t, (h, w) = body.target(), body.labels.shape
    image = body.grab().toImage()

    def at(r: int, c: int) -> QPointF:
        return QPointF(t.left() + (c + 0.5) * t.width() / w, t.top() + (r + 0.5) * t.height() / h)

    # the chosen part is drawn in its colour (away from its iso-lines), the other parts grey
    ys, xs = np.nonzero(body.labels == 2)
    # the torso pixel farthest from the iso-lines (the middle of a band in U and in V)
    k = int(np.argmin(np.abs(body.u[ys, xs] % 0.25 - 0.125) + np.abs(body.v[ys, xs] % 0.25 - 0.125)))
    pixel, want = image.pixelColor(at(ys[k], xs[k]).toPoint()), part_qcolor(2)
    assert abs(pixel.red() - want.red()) + abs(pixel.green() - want.green()) + abs(pixel.blue() - want.blue()) < 30
    ly, lx = np.nonzero(body.labels == 11)
    grey = image.pixelColor(at(ly[len(ly) // 2], lx[len(lx) // 2]).toPoint())
    assert grey.red() == grey.green() == grey.blue() > 150
    chart.set_part(16)
    chart.set_uv(0.9, 0.5)
    t = body.target()
    # the marker sits on the part's pixel whose (U, V) is nearest the chosen one
    spot = body.position_of(0.9, 0.5)
    r, c = int((spot.y() - t.top()) / t.height() * h), int((spot.x() - t.left()) / t.width() * w)
    my = body.labels == 16
    best = np.sqrt((body.u[my] - 0.9) ** 2 + (body.v[my] - 0.5) ** 2).min()
    assert body.labels[r, c] == 16 and np.hypot(body.u[r, c] - 0.9, body.v[r, c] - 0.5) < best + 0.03
    # a click on another part picks it and the (U, V) under the cursor
    ky, kx = np.nonzero(body.labels == 9)
    k = len(kx) // 2
    with qtbot.waitSignal(chart.pointPicked) as picked:
        qtbot.mouseClick(body, Qt.MouseButton.LeftButton, pos=at(ky[k], kx[k]).toPoint())
    part, u, v = picked.args
    assert part == 9 and chart.part == 9 and chart.combo.currentIndex() == 8
    assert (u, v) == pytest.approx((body.u[ky[k], kx[k]], body.v[ky[k], kx[k]]), abs=0.05)
    assert chart.uv == (u, v) and "hip → knee" in chart.axes.text()


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

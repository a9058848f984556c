"""Annotation editor with real widgets and simulated mouse input on the demo dataset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, Qt

from app.backend.annotations import AnnotationDocument, AnnotationSession
from app.ui.dataset.annotation_editor import AnnotationEditor
from app.widgets.annotation_canvas import HIT_PX


@pytest.fixture
def editor(qtbot, demo_copy: Path):
    session = AnnotationSession.open(demo_copy / "train.json")
    ed = AnnotationEditor()
    qtbot.addWidget(ed)
    ed.resize(1000, 700)
    ed.add_session(session)
    ed.show_image(session.doc.images[0]["id"], session.source)
    ed.show()
    qtbot.waitExposed(ed)
    # shortcuts fire only in the active window: offscreen every shown window is active, on a
    # real X server the test must activate it as a user's click would
    ed.activateWindow()
    qtbot.waitUntil(ed.isActiveWindow, timeout=5000)
    ed.canvas.fit()
    yield ed
    ed.autosave_timer.stop()


def _drag(qtbot, canvas, start: tuple[float, float], end: tuple[float, float]) -> None:
    vp = canvas.viewport()
    p0 = canvas.mapFromScene(QPointF(*start))
    p1 = canvas.mapFromScene(QPointF(*end))
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=p0)
    qtbot.mouseMove(vp, pos=(p0 + p1) / 2)
    qtbot.mouseMove(vp, pos=p1)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=p1)


def test_move_keypoint_undo_redo_save_reload(qtbot, editor: AnnotationEditor) -> None:
    session = editor.session
    image_id = editor.image_id
    original = json.loads(json.dumps(session.doc.to_coco()))
    person = session.doc.person(image_id, 0)
    k = next(k for k in range(17) if person.keypoint(k)[2] == 2)
    x, y, _ = person.keypoint(k)
    target = (x + 12.0, y + 9.0)
    _drag(qtbot, editor.canvas, (x, y), target)

    moved = session.doc.person(image_id, 0).keypoint(k)
    scale = editor.canvas.transform().m11()
    assert abs(moved[0] - target[0]) <= 1.0 / scale + 1e-6 and abs(moved[1] - target[1]) <= 1.0 / scale + 1e-6
    assert moved[2] == 2
    assert editor.stack.count() == 1
    edited = json.loads(json.dumps(session.doc.to_coco()))

    editor.undo()
    assert session.doc.to_coco() == original
    editor.redo()
    assert session.doc.to_coco() == edited

    editor.save()
    reloaded = AnnotationDocument.load(session.source)
    assert reloaded.to_coco() == edited
    assert reloaded.person(image_id, 0).keypoint(k) == moved


def test_add_densepose_point_with_part_and_uv(qtbot, editor: AnnotationEditor) -> None:
    session = editor.session
    image_id = editor.image_id
    chart = editor.panel.uv_chart
    chart.combo.setCurrentIndex(6)  # part I = 7
    square = chart.square
    qtbot.mouseClick(square, Qt.MouseButton.LeftButton, pos=square.point_at(0.25, 0.75).toPoint())
    assert chart.uv == pytest.approx((0.25, 0.75), abs=0.02)
    u, v = chart.uv

    editor.set_mode("dp")
    before = len(session.doc.person(image_id, 0).dp)
    x0, y0, w, h = session.doc.person(image_id, 0).bbox
    click = editor.canvas.mapFromScene(QPointF(x0 + w / 2, y0 + h / 2))
    qtbot.mouseClick(editor.canvas.viewport(), Qt.MouseButton.LeftButton, pos=click)
    dp = session.doc.person(image_id, 0).dp
    assert len(dp) == before + 1
    assert (dp[-1].i, dp[-1].u, dp[-1].v) == (7, u, v)
    assert dp[-1].x == pytest.approx(128, abs=2) and dp[-1].y == pytest.approx(128, abs=2)

    editor.save()
    saved = json.loads(session.source.read_text())
    ann = next(a for a in saved["annotations"] if a["image_id"] == image_id)
    assert (ann["dp_I"][-1], ann["dp_U"][-1], ann["dp_V"][-1]) == (7, u, v)
    assert len(ann["dp_x"]) == before + 1


def test_draw_box_adds_person_then_delete_and_duplicate(qtbot, editor: AnnotationEditor) -> None:
    session = editor.session
    image_id = editor.image_id
    n0 = len(session.doc.anns(image_id))
    editor.set_mode("box")
    _drag(qtbot, editor.canvas, (10.0, 10.0), (60.0, 90.0))
    assert len(session.doc.anns(image_id)) == n0 + 1
    new = session.doc.person(image_id, n0)
    assert new.bbox == pytest.approx([10, 10, 50, 80], abs=1.5)
    assert editor.canvas.mode == "keypoint"
    # place the first keypoint by clicking, then it advances to the next keypoint
    qtbot.mouseClick(
        editor.canvas.viewport(), Qt.MouseButton.LeftButton, pos=editor.canvas.mapFromScene(QPointF(30, 20))
    )
    assert session.doc.person(image_id, n0).keypoint(0)[2] == 2
    assert editor.canvas.current_keypoint == 1
    editor.duplicate_person()
    assert len(session.doc.anns(image_id)) == n0 + 2
    ids = [a["id"] for a in session.doc.anns(image_id)]
    assert len(set(ids)) == len(ids)
    editor.delete_person()
    assert len(session.doc.anns(image_id)) == n0 + 1
    for _ in range(4):
        editor.undo()
    assert len(session.doc.anns(image_id)) == n0


def test_keyboard_shortcuts_step_keypoints_and_images(qtbot, editor: AnnotationEditor) -> None:
    doc = editor.session.doc
    editor.set_navigation([(editor.session.source, img["id"]) for img in doc.images])
    first = editor.image_id
    editor.canvas.setFocus()
    qtbot.keyClick(editor.canvas, Qt.Key.Key_BracketRight)
    assert editor.canvas.current_keypoint == 1
    qtbot.keyClick(editor.canvas, Qt.Key.Key_1)
    assert editor.session.doc.person(first, 0).keypoint(1)[2] == 1
    qtbot.keyClick(editor.canvas, Qt.Key.Key_PageDown)
    assert editor.image_id == doc.images[1]["id"]
    qtbot.keyClick(editor.canvas, Qt.Key.Key_A)
    assert editor.image_id == first


def _marker_drawn(chart, uv: tuple[float, float]) -> bool:
    """Whether the UV square shows the point marker (a disk in the part's full colour) at ``uv``."""
    from app.widgets.uv_chart import part_qcolor

    square = chart.square
    square.repaint()
    pixel = square.grab().toImage().pixelColor(square.point_at(*uv).toPoint())
    want = part_qcolor(chart.part)
    return max(abs(pixel.red() - want.red()), abs(pixel.green() - want.green()), abs(pixel.blue() - want.blue())) <= 8


def test_uv_chart_drops_the_marker_of_an_undone_point_and_on_the_next_image(qtbot, editor: AnnotationEditor) -> None:
    session, image_id, chart = editor.session, editor.image_id, editor.panel.uv_chart
    editor.set_navigation([(session.source, img["id"]) for img in session.doc.images])
    chart.combo.setCurrentIndex(6)  # part I = 7
    square = chart.square
    qtbot.mouseClick(square, Qt.MouseButton.LeftButton, pos=square.point_at(0.3, 0.6).toPoint())
    uv = chart.uv
    editor.set_mode("dp")
    x0, y0, w, h = session.doc.person(image_id, 0).bbox
    centre = editor.canvas.mapFromScene(QPointF(x0 + w / 2, y0 + h / 2))
    qtbot.mouseClick(editor.canvas.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert editor.canvas.selected_dp == len(session.doc.person(image_id, 0).dp) - 1
    assert _marker_drawn(chart, uv)  # the new point, selected

    editor.undo()  # the point is gone, and so is its marker
    assert not _marker_drawn(chart, uv)
    assert "click one to see or change its part" in editor.panel.dp_info.text()  # a sentence, not "none selected"
    editor.redo()
    assert _marker_drawn(chart, uv)
    editor.next_image()  # another image: no point of it is selected
    assert editor.image_id != image_id and not _marker_drawn(chart, uv)


def test_image_line_names_the_image_its_place_and_whether_it_is_saved(qtbot, editor: AnnotationEditor) -> None:
    session, line = editor.session, editor.image_line
    images = session.doc.images
    editor.set_navigation([(session.source, img["id"]) for img in images])
    assert line.isVisible()
    first = Path(images[0]["file_name"]).name
    assert first in line.text() and f"1 of {len(images)}" in line.text() and "saved" in line.text()
    x, y, w, h = session.doc.person(editor.image_id, 0).bbox
    editor.canvas.boxEdited.emit(0, x + 3.0, y, w, h)
    assert "unsaved edits" in line.text()
    editor.save()
    assert "unsaved" not in line.text() and "saved" in line.text()
    editor.next_image()
    assert Path(images[1]["file_name"]).name in line.text() and f"2 of {len(images)}" in line.text()


def _free_spot(person, tol: float) -> tuple[float, float]:
    """A point inside the person's box farther than ``tol`` from its keypoints and DensePose points
    (a press there grabs the box itself)."""
    import numpy as np

    x, y, w, h = person.bbox
    taken = [(kx, ky) for kx, ky, kv in (person.keypoint(k) for k in range(17)) if kv > 0]
    taken += [person.dp_to_abs(q) for q in person.dp]
    taken = np.array(taken)
    for fy in np.linspace(0.2, 0.8, 25):
        for fx in np.linspace(0.2, 0.8, 25):
            px, py = x + fx * w, y + fy * h
            if np.hypot(taken[:, 0] - px, taken[:, 1] - py).min() > 2 * tol:
                return float(px), float(py)
    raise AssertionError("no free spot in the box")


def _dp_markers(canvas) -> set[tuple[int, int]]:
    """Where the canvas draws DensePose points (small squares), rounded to pixels."""
    from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem

    flag = QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations
    return {(round(i.pos().x()), round(i.pos().y())) for i in canvas.scene().items()
            if isinstance(i, QGraphicsRectItem) and i.flags() & flag}


def test_box_drag_moves_densepose_points_with_the_box_or_keeps_them(qtbot, editor: AnnotationEditor) -> None:
    session, image_id, canvas = editor.session, editor.image_id, editor.canvas
    toggle = editor.toolbar.follow_box
    button = editor.toolbar.widgetForAction(toggle)
    assert toggle.isChecked() and button is not None and button.isVisible()  # a visible toggle, on by default
    assert "(the default)" in toggle.toolTip()
    before = session.doc.person(image_id, 0)
    rel = [(q.x, q.y) for q in before.dp]
    start = _free_spot(before, HIT_PX / canvas.transform().m11())
    vp = canvas.viewport()
    p0 = canvas.mapFromScene(QPointF(*start))
    p1 = p0 + canvas.mapFromScene(QPointF(30, 20)) - canvas.mapFromScene(QPointF(0, 0))
    delta = canvas.mapToScene(p1) - canvas.mapToScene(p0)
    dx, dy = delta.x(), delta.y()

    # on: while dragging, the points move with the box on screen; after, they keep their place in the box
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=p0)
    qtbot.mouseMove(vp, pos=p1)
    moved_on_screen = _dp_markers(canvas)
    assert all((round(ax + dx), round(ay + dy)) in moved_on_screen for ax, ay in map(before.dp_to_abs, before.dp))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=p1)
    after = session.doc.person(image_id, 0)
    assert after.bbox[:2] == pytest.approx([before.bbox[0] + dx, before.bbox[1] + dy], abs=0.01)
    assert [(q.x, q.y) for q in after.dp] == rel
    editor.undo()
    assert session.doc.person(image_id, 0).bbox == before.bbox

    # off: the points stay where they are on the image; one undo restores box and points
    toggle.setChecked(False)
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=p0)
    qtbot.mouseMove(vp, pos=p1)
    still = _dp_markers(canvas)
    assert all((round(ax), round(ay)) in still for ax, ay in map(before.dp_to_abs, before.dp))
    messages: list[str] = []
    editor.message.connect(messages.append)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=p1)
    kept = session.doc.person(image_id, 0)
    x0, y0, w, h = kept.bbox
    assert (x0, y0) == pytest.approx((before.bbox[0] + dx, before.bbox[1] + dy), abs=0.01)
    outside = 0
    for q_old, q_new in zip(before.dp, kept.dp):
        ax, ay = before.dp_to_abs(q_old)
        nx, ny = kept.dp_to_abs(q_new)
        if x0 <= ax <= x0 + w and y0 <= ay <= y0 + h:
            assert (nx, ny) == pytest.approx((ax, ay), abs=0.05)
        else:  # left out by the moved box: on its edge
            outside += 1
            assert x0 - 0.05 <= nx <= x0 + w + 0.05 and y0 - 0.05 <= ny <= y0 + h + 0.05
    assert outside and any(f"{outside} DensePose point" in m for m in messages)
    assert editor.stack.undoText() == "edit box (points kept)"
    editor.undo()
    assert session.doc.person(image_id, 0).to_ann() == before.to_ann()


def test_body_picture_click_sets_part_and_uv_of_the_selected_point(qtbot, editor: AnnotationEditor) -> None:
    import numpy as np

    session, image_id, chart = editor.session, editor.image_id, editor.panel.uv_chart
    editor.set_mode("dp")
    assert editor.panel.tabs.currentWidget().isAncestorOf(chart)  # DensePose mode shows the chart's tab
    person = session.doc.person(image_id, 0)
    x, y = person.dp_to_abs(person.dp[0])
    editor.set_mode("edit")
    qtbot.mouseClick(editor.canvas.viewport(), Qt.MouseButton.LeftButton, pos=editor.canvas.mapFromScene(QPointF(x, y)))
    assert editor.canvas.selected_dp == 0
    body = chart.body
    target = 9 if person.dp[0].i != 9 else 10
    chart.set_part(target)  # show the view where part 9 is
    ys, xs = np.nonzero(body.labels == target)
    k = len(xs) // 2
    t = body.target()
    h, w = body.labels.shape
    at = QPointF(t.left() + (xs[k] + 0.5) * t.width() / w, t.top() + (ys[k] + 0.5) * t.height() / h)
    depth = editor.stack.count()
    qtbot.mouseClick(body, Qt.MouseButton.LeftButton, pos=at.toPoint())
    q = session.doc.person(image_id, 0).dp[0]
    assert q.i == target
    assert (q.u, q.v) == pytest.approx((float(body.u[ys[k], xs[k]]), float(body.v[ys[k], xs[k]])), abs=0.05)
    assert editor.stack.count() == depth + 1  # part and U/V in one undo step
    assert chart.part == target and chart.combo.currentIndex() == target - 1
    editor.undo()
    assert session.doc.person(image_id, 0).dp[0] == person.dp[0]


def test_toolbar_tooltips_name_the_shortcuts(editor: AnnotationEditor) -> None:
    tips = {a.text(): a.toolTip() for a in editor.toolbar.actions() if a.text()}
    assert "(D or PgDown)" in tips["Next image"] and "(A or PgUp)" in tips["Prev image"]
    assert tips["Box"].endswith("(B)") and tips["Save"].endswith("(Ctrl+Shift+S)")
    for action in editor.toolbar.actions():
        for seq in action.shortcuts():
            assert seq.toString() in action.toolTip()
    icons = [a for a in editor.toolbar.actions() if a.text() in ("Prev image", "Next image", "Save", "Undo", "Redo")]
    assert len(icons) == 5 and all(not a.icon().isNull() for a in icons)

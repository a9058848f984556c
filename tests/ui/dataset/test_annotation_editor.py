"""Annotation editor with real widgets and simulated mouse input on the demo dataset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, Qt

from app.backend.annotations import AnnotationDocument, AnnotationSession
from app.ui.dataset.annotation_editor import AnnotationEditor


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

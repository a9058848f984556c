"""Pseudo labels in the annotation editor: drawn dashed, accepted (Shift+Y) or edited into human labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.backend.annotations import AnnotationSession
from app.ui.dataset.annotation_editor import AnnotationEditor


@pytest.fixture
def editor(qtbot, demo_copy: Path):
    path = demo_copy / "train.json"
    data = json.loads(path.read_text())
    first = data["images"][0]["id"]
    for a in data["annotations"]:
        if a["image_id"] == first:
            a["pseudo_label"] = {"model": "teacher.pth", "score": 0.9, "keypoint_model": None}
    path.write_text(json.dumps(data))
    session = AnnotationSession.open(path)
    ed = AnnotationEditor()
    qtbot.addWidget(ed)
    ed.add_session(session)
    ed.show_image(first, session.source)
    yield ed
    ed.autosave_timer.stop()


def test_pseudo_labels_are_distinct_and_accepting_drops_the_marker(editor: AnnotationEditor, drawn) -> None:
    anns = editor.session.doc.anns(editor.image_id)
    n = len(anns)
    assert n >= 1 and all("pseudo_label" in a for a in anns)
    dashed, labels = drawn(editor.canvas)  # drawn dashed and tagged, like proposals
    assert len(dashed) == n and labels == sorted(f"#{i + 1} pseudo" for i in range(n))
    assert "pseudo label" in editor.panel.people.item(0).text()
    editor.accept_pseudo_labels()
    anns = editor.session.doc.anns(editor.image_id)
    assert len(anns) == n and not any("pseudo_label" in a for a in anns)
    assert drawn(editor.canvas) == ([], sorted(f"#{i + 1}" for i in range(n)))
    editor.undo()  # one macro: every person is pseudo again
    assert all("pseudo_label" in a for a in editor.session.doc.anns(editor.image_id))


def test_editing_a_pseudo_label_makes_it_a_human_label(editor: AnnotationEditor) -> None:
    person = editor.session.doc.person(editor.image_id, 0)
    k = next(k for k in range(17) if person.keypoint(k)[2] == 2)
    editor.canvas.set_selection(0, k, -1)
    editor.set_visibility(1)
    anns = editor.session.doc.anns(editor.image_id)
    assert "pseudo_label" not in anns[0] and anns[0]["keypoints"][3 * k + 2] == 1
    assert all("pseudo_label" in a for a in anns[1:])

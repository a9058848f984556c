"""Model-assisted labelling: proposals from a real (tiny, untrained) checkpoint run off the UI thread;
accepting, rejecting and undoing proposals in the editor."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.backend.annotations import AnnotationSession
from app.backend.annotations.proposals import people_from_prediction
from app.backend.structures import FramePrediction
from app.ui.dataset.annotation_assist import AssistController
from app.ui.dataset.annotation_editor import AnnotationEditor
from tests.tiny_config import tiny_opts


def _editor(qtbot, path: Path) -> AnnotationEditor:
    ed = AnnotationEditor()
    qtbot.addWidget(ed)
    session = AnnotationSession.open(path)
    ed.add_session(session)
    ed.show_image(session.doc.images[0]["id"], session.source)
    return ed


def test_accept_and_reject_proposals(qtbot, demo_copy: Path, drawn) -> None:
    ed = _editor(qtbot, demo_copy / "train.json")
    doc, image_id = ed.session.doc, ed.image_id
    n0 = len(doc.anns(image_id))
    kps = np.zeros((2, 17, 3), np.float32)
    kps[:, :, :2], kps[:, :, 2] = 50, 3.0
    pred = FramePrediction(
        (240, 320),
        np.array([[10, 10, 60, 90], [100, 20, 150, 120]], np.float32),
        np.array([0.9, 0.8], np.float32),
        keypoints=kps,
    )
    ed.set_proposals(ed.session.source, image_id, people_from_prediction(pred, image_id))
    assert drawn(ed.canvas)[0] == [(10, 10, 50, 80), (100, 20, 50, 100)] and ed.panel.proposal_info.text().startswith("2 proposals:")
    ed.reject_proposal()
    assert drawn(ed.canvas)[0] == [(100, 20, 50, 100)] and len(doc.anns(image_id)) == n0
    ed.accept_proposal()
    assert len(doc.anns(image_id)) == n0 + 1 and drawn(ed.canvas)[0] == [] and not ed.current_proposals()
    accepted = doc.person(image_id, n0)
    assert accepted.bbox == [100, 20, 50, 100] and accepted.keypoint(0) == (50, 50, 2)
    assert accepted.ann_id not in [a["id"] for a in doc.anns(image_id)[:n0]]
    ed.undo()
    assert len(doc.anns(image_id)) == n0
    ed.autosave_timer.stop()


def test_real_checkpoint_proposals_arrive_off_the_ui_thread(qtbot, demo_copy: Path) -> None:
    from app.backend.config import builtin_config

    ed = _editor(qtbot, demo_copy / "train.json")
    assist = AssistController(ed)
    assist.set_model(builtin_config("demo_cpu"), "", tiny_opts())
    assist.score_threshold = 0.0
    with qtbot.waitSignal(assist.proposalsDone, timeout=120000) as done:
        assert assist.propose([(ed.session.source, ed.image_id)])
        assert not assist.propose([(ed.session.source, ed.image_id)])  # one run at a time
    assert done.args == [1]
    key = (ed.session.source.resolve(), ed.image_id)
    assert key in ed.proposals
    for person in ed.proposals[key]:
        person.validate()
    assert ed.banner.isHidden()
    assist.shutdown()
    ed.autosave_timer.stop()

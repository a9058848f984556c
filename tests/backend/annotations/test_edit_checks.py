"""Edits are checked before they are confirmed, are all-or-nothing, and files with NaN stay saveable."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.backend.annotations import AnnotationDocument, AnnotationSession, EditRefused, insert_op, replace_op
from app.backend.annotations.journal import journal_path_for
from app.backend.atomic_write import atomic_write_json
from app.backend.data.validate import validate_dataset
from tests.backend.annotations.session_probe import PROBE_PATH, digest, move_keypoint_op


def _strict_json(path: Path) -> dict:
    def refuse(name: str) -> None:
        raise AssertionError(f"{path.name} holds {name}")

    return json.loads(path.read_text(), parse_constant=refuse)


def _state(session: AnnotationSession) -> tuple[str, bytes | None]:
    jpath = journal_path_for(session.source)
    return digest(session.doc), jpath.read_bytes() if jpath.exists() else None


def test_a_box_past_the_image_border_is_refused_before_it_is_journaled(coco_file: Path) -> None:
    s = AnnotationSession.open(coco_file)
    s.apply(move_keypoint_op(s.doc, 1, 0, 9.0, 9.0))
    before = _state(s)
    person = s.doc.person(1, 0)
    person.set_bbox(50, 10, 30, 20)  # the image is 64 wide: the box ends at x = 80
    with pytest.raises(EditRefused, match="outside the 64x48 image"):
        s.apply(replace_op(1, 0, s.doc.anns(1)[0], person.to_ann()))
    person.set_keypoint(3, float("nan"), 5, 2)
    with pytest.raises(EditRefused, match="not a finite number"):
        s.apply(replace_op(1, 0, s.doc.anns(1)[0], person.to_ann()))
    in_use = dict(s.doc.anns(1)[0])  # a second person with an id the file already has
    with pytest.raises(EditRefused, match="duplicate annotation id"):
        s.apply(insert_op(1, 1, in_use))
    assert _state(s) == before
    del s
    assert AnnotationSession.open(coco_file).recovered_ops == 1


def test_an_edit_may_keep_a_problem_the_person_had_but_not_add_one(tmp_path: Path) -> None:
    from tests.backend.annotations.conftest import make_coco

    path = make_coco(tmp_path)
    data = json.loads(path.read_text())
    data["annotations"][0]["bbox"] = [40, 30, 60, 40]  # already past the border in the file
    path.write_text(json.dumps(data))
    s = AnnotationSession.open(path)
    assert not s.writable
    s.apply(move_keypoint_op(s.doc, 1, 2, 12.0, 13.0))  # a keypoint edit of that person is fine
    assert s.doc.person(1, 0).keypoint(2) == (12.0, 13.0, 2)


def test_what_is_confirmed_is_what_replays(coco_file: Path) -> None:
    s = AnnotationSession.open(coco_file)
    after = dict(s.doc.anns(2)[1], bbox=(1.5, 2.25, 10, 12), extra={7: "int key"})
    confirmed = s.apply(replace_op(2, 1, s.doc.anns(2)[1], after))
    # the document holds the journal's JSON form of the edit: a list, a string key
    assert s.doc.anns(2)[1]["bbox"] == [1.5, 2.25, 10, 12] and s.doc.anns(2)[1]["extra"] == {"7": "int key"}
    assert confirmed["after"] == s.doc.anns(2)[1]
    expected = digest(s.doc)
    del s
    s = AnnotationSession.open(coco_file)
    assert s.recovered_ops == 1 and digest(s.doc) == expected


def test_a_failing_journal_write_leaves_document_and_journal_unchanged(coco_file: Path) -> None:
    """The probe makes one edit, caps its file size (RLIMIT_FSIZE, a full disk for this process) and edits."""
    out = subprocess.run([sys.executable, str(PROBE_PATH), "fsize", str(coco_file)],
                         capture_output=True, text=True, timeout=120)
    lines = dict(ln.split(" ", 1) for ln in out.stdout.splitlines())
    assert out.returncode == 0, out.stderr[-3000:]
    assert lines["REFUSED"].startswith("cannot write the edit journal")
    assert lines["BEFORE"] == lines["AFTER_FAILURE"]  # document digest and journal size unchanged
    s = AnnotationSession.open(coco_file)
    assert s.recovered_ops == 2 and digest(s.doc) == lines["LAST"]


def test_a_nan_area_is_recomputed_and_the_file_stays_saveable(coco_file: Path) -> None:
    text = coco_file.read_text().replace('"area": 600.0', '"area": NaN', 1)
    text = text.replace('"area": 600.0', '"area": -Infinity', 1)
    coco_file.write_text(text)
    s = AnnotationSession.open(coco_file)
    assert s.writable, s.problems
    assert any("area of 2 annotations (ids 1, 2) was not a finite number" in n for n in s.notes)
    s.apply(move_keypoint_op(s.doc, 1, 4, 14.0, 15.0))  # an edit of the person with the NaN area
    s.apply(move_keypoint_op(s.doc, 2, 4, 14.0, 15.0))
    s.save()
    saved = _strict_json(coco_file)
    assert [a["area"] for a in saved["annotations"][:2]] == [600, 600]  # bbox 30 x 20
    assert validate_dataset(coco_file).ok


def test_other_non_finite_values_are_listed_and_the_file_is_saved_beside_it(coco_file: Path) -> None:
    data = json.loads(coco_file.read_text())
    data["annotations"][2]["bbox"][2] = float("inf")
    data["annotations"][3]["dp_U"][1] = float("nan")
    data["info"]["scale"] = float("nan")
    coco_file.write_text(json.dumps(data))  # Python's json writes NaN / Infinity
    report = "\n".join(str(p) for p in validate_dataset(coco_file).problems)
    assert "annotation 3: bbox must be 4 finite numbers" in report and "dp arrays hold non-finite values" in report
    s = AnnotationSession.open(coco_file)
    assert not s.writable
    problems = "\n".join(s.problems)
    for where in ("annotations[2].bbox[2] (annotation 3) is Infinity", "annotations[3].dp_U[1] (annotation 4) is NaN",
                  "info.scale is NaN"):
        assert where in problems
    assert s.doc.people(2)  # the editor can still show these people
    s.apply(move_keypoint_op(s.doc, 1, 4, 14.0, 15.0))
    saved = s.save()
    assert saved.name == "train.edited.json"
    assert _strict_json(saved)["annotations"][2]["bbox"][2] is None


def test_json_is_written_without_nan(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("{}")
    with pytest.raises(ValueError):
        atomic_write_json(target, {"loss": float("nan")})
    assert target.read_text() == "{}"
    doc = AnnotationDocument({"images": [], "annotations": [], "x": float("inf")})
    assert json.loads(doc.to_json_bytes())["x"] is None

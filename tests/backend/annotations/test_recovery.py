"""Journal recovery comes first: it never depends on the rest of the file validating, it says what
was recovered and what could not be applied, and the journal stays until the user keeps or
discards the recovered edits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.backend.annotations import AnnotationSession
from app.backend.annotations.journal import journal_path_for
from app.backend.errors import DatasetError
from tests.backend.annotations.session_probe import digest, move_keypoint_op


def _crash_after_edits(path: Path, count: int) -> str:
    """Edit ``count`` keypoints and drop the session without saving (as a crash does); returns the digest."""
    s = AnnotationSession.open(path)
    for n in range(count):
        s.apply(move_keypoint_op(s.doc, 1 + n % 3, n % 17, 20.0 + n, 11.0))
    d = digest(s.doc)
    del s
    return d


def test_recovery_does_not_depend_on_the_file_validating(coco_file: Path) -> None:
    expected = _crash_after_edits(coco_file, 4)
    (coco_file.parent / "images" / "train" / "000002.jpg").rename(coco_file.parent / "moved.jpg")
    s = AnnotationSession.open(coco_file)
    assert s.problems and not s.writable  # an image it references was moved
    assert s.recovered_ops == 4 and digest(s.doc) == expected
    assert s.recovery_pending and s.recovery.not_applied == []
    assert any("recovered 4 unsaved edits" in n for n in s.notes)
    assert journal_path_for(coco_file).exists()
    assert not s.autosave_due()  # nothing is written until the user decides
    saved = s.keep_recovered()  # a later save includes the recovered edits (next to the file it was not allowed to overwrite)
    assert saved.name == "train.edited.json"
    assert digest(AnnotationSession.open(saved).doc) == expected
    assert not journal_path_for(coco_file).exists()


def test_what_could_not_be_applied_is_reported_and_kept(coco_file: Path) -> None:
    _crash_after_edits(coco_file, 3)
    jpath = journal_path_for(coco_file)
    lines = jpath.read_bytes().splitlines()
    bad = json.loads(lines[2])
    bad["before"]["bbox"] = [0, 0, 1, 1]  # the second edit no longer fits the file
    jpath.write_bytes(b"\n".join([lines[0], lines[1], json.dumps(bad).encode(), lines[3]]) + b"\n")
    original = jpath.read_bytes()
    s = AnnotationSession.open(coco_file)
    assert s.recovered_ops == 1
    assert len(s.recovery.not_applied) == 2 and "edit 2" in s.recovery.not_applied[0]
    assert any("2 could not be applied" in n for n in s.notes)
    assert s.recovery.kept_aside is not None and s.recovery.kept_aside.read_bytes() == original
    del s
    again = AnnotationSession.open(coco_file)  # undecided: the next open recovers the same again
    assert again.recovered_ops == 1 and again.recovery_pending


def test_discarding_reverts_to_the_file_and_keeps_the_journal_aside(coco_file: Path) -> None:
    original = coco_file.read_bytes()
    _crash_after_edits(coco_file, 2)
    s = AnnotationSession.open(coco_file)
    assert s.recovery_pending and s.dirty
    s.discard_recovered()
    assert not s.recovery_pending and not s.dirty
    assert digest(s.doc) == digest(AnnotationSession.open(coco_file, read_only=True).doc)
    assert not journal_path_for(coco_file).exists()
    assert list(coco_file.parent.glob("train.json.journal.jsonl.discarded-*"))
    s.close()
    assert coco_file.read_bytes() == original


def test_closing_without_a_decision_keeps_the_journal(coco_file: Path) -> None:
    expected = _crash_after_edits(coco_file, 2)
    s = AnnotationSession.open(coco_file)
    s.apply(move_keypoint_op(s.doc, 2, 5, 30.0, 9.0))  # edits go on being journaled meanwhile
    after = digest(s.doc)
    assert after != expected
    s.close()
    assert journal_path_for(coco_file).exists()
    s = AnnotationSession.open(coco_file)
    assert s.recovered_ops == 3 and digest(s.doc) == after


def test_a_file_that_does_not_parse_says_its_journal_is_kept(coco_file: Path) -> None:
    _crash_after_edits(coco_file, 2)
    coco_file.write_text('{"images": [')
    with pytest.raises(DatasetError, match=r"edit journal with 2 unsaved edits.* is kept"):
        AnnotationSession.open(coco_file)
    assert journal_path_for(coco_file).exists()

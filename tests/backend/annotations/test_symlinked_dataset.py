"""A dataset opened through a symlink is saved through to the real file; everything the session writes
beside it (journal, lock, a copy it may not overwrite) lives beside the real file, so relative
paths keep resolving."""

from __future__ import annotations

import json
from pathlib import Path

from app.backend.annotations import AnnotationSession
from app.backend.annotations.journal import journal_path_for
from app.backend.data.validate import validate_dataset
from tests.backend.annotations.conftest import make_coco
from tests.backend.annotations.session_probe import digest, move_keypoint_op


def _linked(tmp_path: Path, with_files: bool = True) -> tuple[Path, Path]:
    real = make_coco(tmp_path / "data", with_files=with_files)
    (tmp_path / "elsewhere").mkdir()
    link = tmp_path / "elsewhere" / "train.json"
    link.symlink_to(real)
    return real, link


def test_saving_through_a_symlink_writes_the_real_file(tmp_path: Path) -> None:
    real, link = _linked(tmp_path)
    s = AnnotationSession.open(link)
    assert s.writable
    s.apply(move_keypoint_op(s.doc, 1, 0, 21.0, 22.0))
    assert journal_path_for(real).exists() and sorted(p.name for p in link.parent.iterdir()) == ["train.json"]
    s.save()
    s.close()
    assert link.is_symlink() and link.resolve() == real
    assert json.loads(real.read_text())["annotations"][0]["keypoints"][:2] == [21, 22]
    assert validate_dataset(link).ok and validate_dataset(real).ok  # relative file_names still resolve
    assert sorted(p.name for p in link.parent.iterdir()) == ["train.json"]


def test_a_crash_through_a_symlink_recovers_through_either_path(tmp_path: Path) -> None:
    real, link = _linked(tmp_path)
    s = AnnotationSession.open(link)
    s.apply(move_keypoint_op(s.doc, 2, 3, 11.0, 12.0))
    expected = digest(s.doc)
    del s
    s = AnnotationSession.open(real)
    assert s.recovered_ops == 1 and digest(s.doc) == expected


def test_the_copy_of_a_file_that_fails_validation_goes_beside_the_real_file(tmp_path: Path) -> None:
    real, link = _linked(tmp_path, with_files=False)
    s = AnnotationSession.open(link)
    assert not s.writable
    s.apply(move_keypoint_op(s.doc, 1, 0, 21.0, 22.0))
    saved = s.save()
    s.close()
    assert saved.parent == real.parent and saved.name == "train.edited.json"
    assert sorted(p.name for p in link.parent.iterdir()) == ["train.json"]
    assert real.read_text() == link.read_text()  # the original was not overwritten through the link

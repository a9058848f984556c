"""Session durability: journal replay after a crash, autosave policy, never overwriting invalid files."""

from __future__ import annotations

import json
from pathlib import Path

from app.backend.annotations import AnnotationSession, replace_op
from app.backend.annotations.journal import journal_path_for


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _move_kp(session: AnnotationSession, image_id: int, k: int, x: float) -> None:
    person = session.doc.person(image_id, 0)
    person.set_keypoint(k, x, 10, 2)
    session.apply(replace_op(image_id, 0, session.doc.anns(image_id)[0], person.to_ann()))


def test_opening_writes_nothing_but_its_lock(coco_file: Path) -> None:
    before = sorted(p.name for p in coco_file.parent.iterdir())
    s = AnnotationSession.open(coco_file)
    assert sorted(p.name for p in coco_file.parent.iterdir()) == sorted([*before, "train.json.lock"])
    s.close()
    assert sorted(p.name for p in coco_file.parent.iterdir()) == before


def test_journal_replay_recovers_every_edit_after_a_crash(coco_file: Path) -> None:
    original = coco_file.read_bytes()
    s = AnnotationSession.open(coco_file)
    for k in range(5):
        _move_kp(s, 1, k, 20 + k)
    expected = s.doc.to_coco()
    # "crash": the session is dropped without save or close; the file is untouched
    assert coco_file.read_bytes() == original
    with open(journal_path_for(coco_file), "ab") as f:
        f.write(b'{"op": "replace", "ima')  # a torn last line, as a kill mid-write leaves
    del s
    s2 = AnnotationSession.open(coco_file)
    assert s2.recovered_ops == 5
    assert s2.doc.to_coco() == expected
    assert s2.dirty
    _move_kp(s2, 1, 6, 33)  # continues the recovered journal
    del s2  # crashes too
    s3 = AnnotationSession.open(coco_file)
    assert s3.recovered_ops == 6


def test_autosave_after_interval_and_journal_cleared(coco_file: Path) -> None:
    clock = FakeClock()
    s = AnnotationSession.open(coco_file, clock=clock)
    assert s.autosave_interval_s == 5.0
    _move_kp(s, 1, 0, 42)
    assert not s.maybe_autosave()
    clock.t += 4.9
    assert not s.maybe_autosave()
    clock.t += 0.2
    assert s.maybe_autosave()
    assert not journal_path_for(coco_file).exists()
    saved = json.loads(coco_file.read_text())
    ann = next(a for a in saved["annotations"] if a["image_id"] == 1)
    assert ann["keypoints"][:3] == [42, 10, 2]
    assert AnnotationSession.open(coco_file).recovered_ops == 0


def test_journal_for_another_file_version_is_kept_aside(coco_file: Path) -> None:
    s = AnnotationSession.open(coco_file)
    _move_kp(s, 1, 0, 42)
    del s
    data = json.loads(coco_file.read_text())
    data["info"]["description"] = "edited elsewhere"
    coco_file.write_text(json.dumps(data))
    s2 = AnnotationSession.open(coco_file)
    assert s2.recovered_ops == 0
    assert any("another version" in n for n in s2.notes)
    assert list(coco_file.parent.glob("*.stale-*"))


def test_invalid_file_is_never_overwritten(tmp_path: Path) -> None:
    from tests.backend.annotations.conftest import make_coco

    path = make_coco(tmp_path, with_files=False)
    original = path.read_bytes()
    s = AnnotationSession.open(path)
    assert not s.writable and any("file_name not found" in p for p in s.problems)
    assert s.save_path.name == "train.edited.json"
    _move_kp(s, 1, 0, 42)
    s.save()
    s.close()
    assert path.read_bytes() == original
    assert json.loads(s.save_path.read_text())["annotations"][0]["keypoints"][0] == 42

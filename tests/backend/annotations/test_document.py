"""Document model: load, edit by ops, save; exact round trip through pycocotools and detectron2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.backend.annotations import (
    AnnotationDocument,
    AnnotationValidationError,
    DensePosePoint,
    OpConflictError,
    Person,
    insert_op,
    inverse,
    remove_op,
    replace_op,
)
from app.backend.errors import DatasetError

DP_KEYS = ["dp_x", "dp_y", "dp_I", "dp_U", "dp_V"]


def _pycoco_anns(path: Path) -> dict:
    from pycocotools.coco import COCO

    coco = COCO(str(path))
    return {img_id: coco.imgToAnns[img_id] for img_id in sorted(coco.imgs)}


def _d2_dicts(path: Path) -> list[dict]:
    from detectron2.data.datasets.coco import load_coco_json

    return load_coco_json(str(path), str(path.parent), extra_annotation_keys=DP_KEYS)


def test_unedited_save_reproduces_the_file(coco_file: Path, tmp_path: Path) -> None:
    doc = AnnotationDocument.load(coco_file)
    out = tmp_path / "copy.json"
    out.write_bytes(doc.to_json_bytes())
    assert json.loads(out.read_text()) == json.loads(coco_file.read_text())


def test_edit_round_trips_through_pycocotools_and_detectron2(coco_file: Path) -> None:
    before_d2 = _d2_dicts(coco_file)
    doc = AnnotationDocument.load(coco_file)
    person = doc.person(2, 1)
    before = doc.anns(2)[1]
    person.set_keypoint(0, 11.25, 7.5, 2)
    person.set_keypoint(1, 0, 0, 0)
    person.dp.append(DensePosePoint(100.5, 12.25, 7, 0.25, 0.75))
    doc.apply(replace_op(2, 1, before, person.to_ann()))
    coco_file.write_bytes(doc.to_json_bytes())

    reloaded = AnnotationDocument.load(coco_file)
    assert reloaded.person(2, 1) == person
    assert reloaded.anns(2)[1]["num_keypoints"] == sum(1 for k in range(17) if person.keypoints[3 * k + 2] > 0)
    assert reloaded.anns(2)[1]["custom"] == {"keep": [1, 2]}

    pyc = _pycoco_anns(coco_file)
    for img_id in reloaded.image_ids():
        assert pyc[img_id] == reloaded.anns(img_id)
    after_d2 = _d2_dicts(coco_file)
    changed = [d["image_id"] for d, e in zip(before_d2, after_d2) if d != e]
    assert changed == [2]
    kp = after_d2[1]["annotations"][1]["keypoints"]
    assert kp[:3] == [11.25 + 0.5, 7.5 + 0.5, 2]  # detectron2 adds 0.5 to COCO keypoint x/y
    assert after_d2[1]["annotations"][1]["dp_I"][-1] == 7


def test_insert_remove_and_inverse(coco_file: Path) -> None:
    doc = AnnotationDocument.load(coco_file)
    original = doc.to_coco()
    dup = doc.person(1, 0)
    dup.ann_id = doc.new_ann_id()
    op = insert_op(1, 2, dup.to_ann())
    doc.apply(op)
    assert len(doc.anns(1)) == 3 and doc.anns(1)[2]["id"] == dup.ann_id
    doc.apply(inverse(op))
    assert doc.to_coco() == original
    rm = remove_op(1, 0, doc.anns(1)[0])
    doc.apply(rm)
    assert len(doc.anns(1)) == 1
    doc.apply(inverse(rm))
    assert doc.to_coco() == original


def test_conflicting_op_is_refused(coco_file: Path) -> None:
    doc = AnnotationDocument.load(coco_file)
    wrong = dict(doc.anns(1)[0], bbox=[0, 0, 1, 1])
    with pytest.raises(OpConflictError):
        doc.apply(replace_op(1, 0, wrong, wrong))
    with pytest.raises(OpConflictError):
        doc.apply(remove_op(99, 0, wrong))


def test_malformed_json_names_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"images": [\n  {"id": 1,}\n]}')
    with pytest.raises(DatasetError, match=r"line 2, column"):
        AnnotationDocument.load(bad)
    bad.write_text("[1, 2]")
    with pytest.raises(DatasetError, match="not a JSON object"):
        AnnotationDocument.load(bad)


def test_validation_reports_broken_annotations_and_missing_files(tmp_path: Path) -> None:
    from tests.backend.annotations.conftest import make_coco

    path = make_coco(tmp_path)
    (tmp_path / "images" / "train" / "000002.jpg").unlink()
    data = json.loads(path.read_text())
    data["annotations"][0]["dp_I"][0] = 30
    data["annotations"][1]["keypoints"][2] = 5
    data["annotations"][2]["id"] = data["annotations"][3]["id"]
    doc = AnnotationDocument(data, path)
    problems = "\n".join(doc.validate())
    assert "dp_I must be integers in 1..24" in problems
    assert "visibility must be 0, 1 or 2, got [5]" in problems
    assert "duplicate annotation id" in problems
    assert "file_name not found" in problems


def test_person_validation_and_geometry() -> None:
    p = Person(ann_id=1, image_id=1, bbox=[10, 20, 128, 64])
    assert p.dp_to_abs(DensePosePoint(128, 128, 1, 0.5, 0.5)) == (74.0, 52.0)
    assert p.abs_to_dp(74, 52) == (128.0, 128.0)
    p.dp = [DensePosePoint(1, 1, 0, 0.5, 0.5)]
    with pytest.raises(AnnotationValidationError, match="part index 0"):
        p.validate()
    p.dp = [DensePosePoint(1, 1, 3, 1.5, 0.5)]
    with pytest.raises(AnnotationValidationError, match="U/V"):
        p.validate()


def test_our_loader_reads_saved_file_identically(demo_dataset_dir: Path, tmp_path: Path) -> None:
    import shutil

    from app.backend.data import load_coco_densepose_json

    shutil.copytree(demo_dataset_dir, tmp_path / "demo")
    path = tmp_path / "demo" / "train.json"
    before = load_coco_densepose_json(path)
    doc = AnnotationDocument.load(path)
    path.write_bytes(doc.to_json_bytes())  # unedited save: the loader sees exactly the same records
    assert load_coco_densepose_json(path) == before
    image_id = doc.images[0]["id"]
    person = doc.person(image_id, 0)
    person.set_keypoint(3, 40.25, 50.5, 1)
    person.dp[0].i, person.dp[0].u = 9, 0.125
    doc.apply(replace_op(image_id, 0, doc.anns(image_id)[0], person.to_ann()))
    path.write_bytes(doc.to_json_bytes())
    after = load_coco_densepose_json(path)
    assert [r["image_id"] for r, s in zip(before, after) if r != s] == [image_id]
    ann = after[0]["annotations"][0]
    assert ann["keypoints"][9:12] == [40.75, 51.0, 1]  # +0.5 on x, y like detectron2's COCO loader
    assert ann["dp_I"][0] == 9 and ann["dp_U"][0] == 0.125
    assert ann["dp_masks"] is not None  # untouched fields survive the edit

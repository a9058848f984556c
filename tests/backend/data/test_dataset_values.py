"""Hostile values in dataset JSON (huge ints, bools as sizes) are problems to list, never tracebacks."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from app.backend.data.dataset import load_coco_densepose_json
from app.backend.data.validate import validate_dataset
from app.cli import main

BIG = 10**400


def _small(demo_dataset_dir: Path) -> dict:
    data = json.loads((demo_dataset_dir / "val.json").read_text())
    data["images"] = data["images"][:2]
    for img in data["images"]:
        img["file_name"] = str(demo_dataset_dir / img["file_name"])
        img["csi_file"] = str(demo_dataset_dir / img["csi_file"])
    ids = {img["id"] for img in data["images"]}
    data["annotations"] = [a for a in data["annotations"] if a["image_id"] in ids]
    return data


MUTATIONS = {
    "bbox": (lambda d: d["annotations"][0]["bbox"].__setitem__(0, BIG), "bbox must be 4 finite numbers"),
    "keypoints": (lambda d: d["annotations"][0]["keypoints"].__setitem__(0, BIG), "keypoints must be finite"),
    "dp_x": (lambda d: d["annotations"][0]["dp_x"].__setitem__(0, BIG), "dp arrays must hold"),
    "image id": (lambda d: d["images"][0].__setitem__("id", BIG), "image id must be a 64-bit int"),
    "iscrowd": (lambda d: d["annotations"][0].__setitem__("iscrowd", BIG), "iscrowd must be 0 or 1"),
    "height true": (lambda d: d["images"][0].__setitem__("height", True), "width/height must be ints"),
    "width false": (lambda d: d["images"][0].__setitem__("width", False), "width/height must be ints"),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_hostile_values_are_listed_and_the_loader_skips_them(name: str, demo_dataset_dir: Path, tmp_path: Path) -> None:
    mutate, message = MUTATIONS[name]
    data = copy.deepcopy(_small(demo_dataset_dir))
    mutate(data)
    path = tmp_path / "ds.json"
    path.write_text(json.dumps(data))
    report = validate_dataset(path)
    texts = [str(p) for p in report.problems]
    assert any(message in t for t in texts), texts
    assert all("\n" not in t and len(t) < 400 for t in texts)
    records = load_coco_densepose_json(path)
    assert len(records) < len(data["images"]) or sum(len(r["annotations"]) for r in records) < len(data["annotations"])


def test_an_integer_of_5000_digits_is_a_listed_problem(demo_dataset_dir: Path, tmp_path: Path, capsys) -> None:
    text = json.dumps(_small(demo_dataset_dir)).replace('"iscrowd": 0', '"iscrowd": ' + "9" * 5000, 1)
    path = tmp_path / "ds.json"
    path.write_text(text)
    assert main(["validate-dataset", str(path)]) == 1
    out = capsys.readouterr().out
    assert "not usable JSON" in out and "9999" not in out

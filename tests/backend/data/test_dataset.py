"""COCO-DensePose(+CSI) loading: pycocotools, detectron2's catalogs, masks, skipped bad records."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from detectron2.data import DatasetCatalog, MetadataCatalog
from pycocotools.coco import COCO

from app.backend.config import get_cfg
from app.backend.data import register_datasets
from app.backend.data.dataset import load_coco_densepose_json
from app.backend.data.rle import RleError, decode_dp_masks, decode_rle, encode_dp_masks, encode_mask, rle_counts
from app.backend.errors import DatasetError
from app.backend.structures.body import KEYPOINT_NAMES


def test_demo_loads_through_pycocotools_and_catalog(demo_dataset_dir: Path) -> None:
    coco = COCO(str(demo_dataset_dir / "train.json"))
    assert len(coco.getImgIds()) == 12 and coco.getCatIds() == [1]
    cfg = get_cfg()
    cfg.DATASETS.DEMO.ROOT = str(demo_dataset_dir)
    cfg.DATASETS.JSON_FILES = [f"my_val={demo_dataset_dir / 'val.json'}"]
    names = register_datasets(cfg)
    assert names == ["wifi_demo_train", "wifi_demo_val", "my_val"]
    dicts = DatasetCatalog.get("wifi_demo_train")
    assert len(dicts) == 12
    d = dicts[0]
    assert Path(d["file_name"]).is_file() and Path(d["csi_file"]).is_file()
    assert (d["height"], d["width"]) == (240, 320)
    ann = d["annotations"][0]
    assert ann["category_id"] == 0 and len(ann["keypoints"]) == 51 and len(ann["dp_masks"]) == 14
    assert len(DatasetCatalog.get("my_val")) == 6
    meta = MetadataCatalog.get("wifi_demo_val")
    assert meta.thing_classes == ["person"] and meta.keypoint_names == list(KEYPOINT_NAMES)
    assert ("left_eye", "right_eye") in meta.keypoint_flip_map and meta.evaluator_type == "coco_densepose"
    # keypoints in detectron2's continuous convention: COCO pixel index + 0.5
    raw = json.loads((demo_dataset_dir / "train.json").read_text())["annotations"]
    first = next(a for a in raw if a["id"] == ann["id"])
    assert ann["keypoints"][0] == pytest.approx(first["keypoints"][0] + 0.5)


def test_bad_json_files_entry_is_a_dataset_error() -> None:
    cfg = get_cfg()
    cfg.DATASETS.JSON_FILES = ["no-equals-sign.json"]
    with pytest.raises(DatasetError, match="NAME=path"):
        register_datasets(cfg)


def test_masks_round_trip() -> None:
    rng = np.random.default_rng(0)
    segm = np.zeros((256, 256), np.uint8)
    for k in range(1, 15):
        y, x = rng.integers(0, 220, size=2)
        segm[y : y + rng.integers(5, 36), x : x + rng.integers(5, 36)] = k
    assert np.array_equal(decode_dp_masks(encode_dp_masks(segm)), segm)
    m = rng.random((256, 256)) < 0.3
    rle = encode_mask(m)
    assert np.array_equal(decode_rle(rle), m.astype(np.uint8))
    runs, _, _ = rle_counts(rle)
    assert np.array_equal(decode_rle({"size": [256, 256], "counts": runs}), m.astype(np.uint8))


def test_overlapping_part_masks_decode_as_painted_in_order() -> None:
    """Mask k paints label k + 1 over the earlier ones, string and list RLEs alike (one decode call)."""
    rng = np.random.default_rng(1)
    masks = [rng.random((256, 256)) < 0.2 for _ in range(14)]
    dp_masks = [encode_mask(m) for m in masks]
    dp_masks[3] = []  # an absent part
    dp_masks[5] = {"size": [256, 256], "counts": rle_counts(dp_masks[5])[0]}  # uncompressed counts
    expected = np.zeros((256, 256), np.uint8)
    for k, m in enumerate(masks):
        if k != 3:
            expected[m] = k + 1
    got = decode_dp_masks(dp_masks)
    assert got.dtype == np.uint8 and got.flags.c_contiguous
    assert np.array_equal(got, expected)
    assert not decode_dp_masks([[]] * 14).any()
    wrong = [[]] * 13 + [encode_mask(np.ones((128, 256), bool))]
    with pytest.raises(RleError, match=r"dp_masks\[13\] has size \(128, 256\)"):
        decode_dp_masks(wrong)


@pytest.mark.parametrize(
    "counts",
    ["0" * 5 + "!", "ooooo", "", [65536, 5], [-1, 65537]],
)
def test_broken_rle_is_refused_before_decoding(counts: object) -> None:
    with pytest.raises(RleError):
        decode_rle({"size": [256, 256], "counts": counts})


def test_malformed_json_is_a_dataset_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"images": [1, 2')
    with pytest.raises(DatasetError, match="not valid JSON"):
        load_coco_densepose_json(bad)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100000 + "]" * 100000)
    with pytest.raises(DatasetError):
        load_coco_densepose_json(deep)
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(DatasetError, match="top level"):
        load_coco_densepose_json(tmp_path / "list.json")
    with pytest.raises(DatasetError, match="not found"):
        load_coco_densepose_json(tmp_path / "missing.json")


def test_loader_skips_bad_records_with_reason(demo_dataset_dir: Path, tmp_path: Path, caplog) -> None:
    data = json.loads((demo_dataset_dir / "train.json").read_text())
    for img in data["images"]:
        for key in ("file_name", "csi_file"):
            img[key] = str(demo_dataset_dir / img[key])
    data["images"][1]["file_name"] = "nowhere.jpg"
    anns = data["annotations"]
    anns[0]["dp_I"][0] = 30
    anns[-1]["bbox"] = [300.0, 10.0, 100.0, 50.0]
    (tmp_path / "ds.json").write_text(json.dumps(data))
    bad_image = data["images"][1]["id"]
    with caplog.at_level(logging.WARNING):
        dicts = load_coco_densepose_json(tmp_path / "ds.json")
    assert len(dicts) == 11 and bad_image not in {d["image_id"] for d in dicts}
    ids = {a["id"] for d in dicts for a in d["annotations"]}
    assert anns[0]["id"] not in ids and anns[-1]["id"] not in ids
    expected = sum(1 for a in anns if a["image_id"] != bad_image) - 2
    assert len(ids) == expected
    text = caplog.text
    assert "nowhere.jpg" in text and "dp_I" in text and "outside" in text


def _mutate(node: object, rng: np.random.Generator, weird: list) -> object:
    """Randomly replace ~3% of the values in a JSON tree with values of the wrong kind."""
    if rng.random() < 0.03:
        return weird[int(rng.integers(len(weird)))]
    if isinstance(node, dict):
        return {k: _mutate(v, rng, weird) for k, v in node.items()}
    if isinstance(node, list):
        return [_mutate(v, rng, weird) for v in node]
    return node


def test_hostile_json_never_crashes_loader_validator_or_mapper(demo_dataset_dir: Path, tmp_path: Path) -> None:
    from app.backend.data.mapper import WiFiDensePoseDatasetMapper
    from app.backend.data.validate import validate_dataset

    base = json.loads((demo_dataset_dir / "val.json").read_text())
    for img in base["images"]:
        for key in ("file_name", "csi_file"):
            img[key] = str(demo_dataset_dir / img[key])
    weird = [
        None,
        "x",
        -1,
        1e308,
        float("nan"),
        [],
        {},
        [1, 2],
        {"size": [256, 256], "counts": "9"},
        True,
        "../../etc/passwd",
    ]
    cfg = get_cfg()
    cfg.MODEL.MTN.OUTPUT_SIZE = [32, 32]
    mapper = WiFiDensePoseDatasetMapper(cfg, is_train=True)
    kept = 0
    for seed in range(12):
        data = _mutate(base, np.random.default_rng(seed), weird)
        path = tmp_path / f"fuzz{seed}.json"
        path.write_text(json.dumps(data))
        report = validate_dataset(path)
        try:
            records = load_coco_densepose_json(path)
        except DatasetError:
            continue
        assert report.problems or len(records) == len(base["images"])
        for rec in records:
            out = mapper(rec)
            assert out is None or torch.isfinite(out["csi"]).all()
            kept += out is not None
    assert kept > 0

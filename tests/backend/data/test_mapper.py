"""WiFiDensePoseDatasetMapper: both modalities, transforms on boxes/keypoints/DensePose, flip rules, skipping."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from detectron2.data import transforms as T

from app.backend.config import ConfigError, load_config
from app.backend.data.dataset import load_coco_densepose_json
from app.backend.data.loader import build_test_loader, build_train_loader
from app.backend.data.mapper import COARSE_FLIP, WiFiDensePoseDatasetMapper
from app.backend.data.rle import decode_dp_masks
from app.backend.structures.body import FINE_TO_COARSE, PART_FLIP
from app.backend.structures.densepose import DensePoseTargets

CONFIG = "resources/configs/demo_cpu.yaml"


def _cfg(*opts: str):
    return load_config(CONFIG, ["MODEL.MTN.OUTPUT_SIZE", "[64, 96]", *opts])


@pytest.fixture(scope="module")
def records(demo_dataset_dir: Path) -> list[dict]:
    return load_coco_densepose_json(demo_dataset_dir / "train.json")


def test_csi_modality_scales_annotations_to_mtn_output(records: list[dict]) -> None:
    mapper = WiFiDensePoseDatasetMapper(_cfg(), is_train=True)
    rec = records[0]
    out = mapper(rec)
    assert out["csi"].shape == (2, 150, 3, 3) and out["csi"].dtype == torch.float32
    assert torch.isfinite(out["csi"]).all()
    assert "image" not in out and (out["height"], out["width"]) == (240, 320)
    inst = out["instances"]
    assert inst.image_size == (64, 96)
    x, y, w, h = rec["annotations"][0]["bbox"]
    expected = torch.tensor([x * 96 / 320, y * 64 / 240, (x + w) * 96 / 320, (y + h) * 64 / 240])
    assert torch.allclose(inst.gt_boxes.tensor[0], expected, atol=1e-3)
    kp = np.array(rec["annotations"][0]["keypoints"]).reshape(17, 3)
    vis = kp[:, 2] > 0
    got = inst.gt_keypoints.tensor[0].numpy()
    assert np.allclose(got[vis, 0], kp[vis, 0] * 96 / 320, atol=1e-3)
    assert isinstance(inst.gt_densepose, DensePoseTargets) and inst.gt_densepose.has_annotation().all()
    dp = inst.gt_densepose[0]
    assert dp.segm.shape == (256, 256) and int(dp.segm.max()) <= 14
    # resizing leaves box-relative DensePose coordinates where they were
    assert np.allclose(dp.x.numpy(), np.array(rec["annotations"][0]["dp_x"]), atol=1e-3)


def test_transfer_loads_the_teacher_image_at_mtn_size(records: list[dict]) -> None:
    out = WiFiDensePoseDatasetMapper(_cfg("MODEL.TRANSFER.ENABLED", "True"), is_train=True)(records[1])
    assert out["image"].shape == (3, 64, 96) and out["csi"].shape == (2, 150, 3, 3)


def test_densepose_point_stays_on_the_body_through_resize_and_flip(records: list[dict]) -> None:
    cfg = _cfg("INPUT.MODALITY", "image", "INPUT.RANDOM_FLIP", "horizontal", "INPUT.DENSEPOSE_FLIP", "mirror_charts")
    augs = [T.ResizeShortestEdge(120, 1000), T.RandomFlip(prob=1.0)]
    mapper = WiFiDensePoseDatasetMapper(cfg, is_train=True, augmentations=augs)
    plain = WiFiDensePoseDatasetMapper(cfg, is_train=True, augmentations=[])
    checked = 0
    for rec in records[:4]:
        out, ref = mapper(rec), plain(rec)
        img = out["image"].numpy().transpose(1, 2, 0)
        orig = ref["image"].numpy().transpose(1, 2, 0)
        assert img.shape == (120, 160, 3)
        for k in range(len(out["instances"])):
            dp, dp0 = out["instances"].gt_densepose[k], ref["instances"].gt_densepose[k]
            box, box0 = out["instances"].gt_boxes.tensor[k].numpy(), ref["instances"].gt_boxes.tensor[k].numpy()
            ax = box[0] + dp.x.numpy() / 256 * (box[2] - box[0])
            ay = box[1] + dp.y.numpy() / 256 * (box[3] - box[1])
            ax0 = box0[0] + dp0.x.numpy() / 256 * (box0[2] - box0[0])
            ay0 = box0[1] + dp0.y.numpy() / 256 * (box0[3] - box0[1])
            # the same body point: mirrored and halved in the image, left/right part swapped, U/V kept
            assert np.allclose(ax, 160 - ax0 * 0.5, atol=1e-3) and np.allclose(ay, ay0 * 0.5, atol=1e-3)
            assert torch.equal(dp.i, torch.tensor(PART_FLIP)[dp0.i])
            assert torch.equal(dp.u, dp0.u) and torch.equal(dp.v, dp0.v)
            # the mirrored coarse mask holds each point's (flipped) coarse part
            coarse = np.array(FINE_TO_COARSE)[dp.i.numpy()]
            at = dp.segm.numpy()[dp.y.long().clamp(0, 255).numpy(), dp.x.long().clamp(0, 255).numpy()]
            assert np.mean(at == coarse) > 0.9
            assert np.array_equal(dp.segm.numpy(), COARSE_FLIP[dp0.segm.numpy()[:, ::-1]])
            # and the flipped frame shows the same colour there as the original frame did
            c1 = img[ay.astype(int).clip(0, 119), ax.astype(int).clip(0, 159)]
            c0 = orig[ay0.astype(int), ax0.astype(int)]
            assert np.median(np.abs(c1 - c0).max(axis=1)) < 30
            checked += 1
    assert checked >= 4


def test_flip_rules_are_enforced() -> None:
    with pytest.raises(ConfigError, match="vertical"):
        WiFiDensePoseDatasetMapper(_cfg("INPUT.MODALITY", "image", "INPUT.RANDOM_FLIP", "vertical"), is_train=True)
    with pytest.raises(ConfigError, match="mirror"):
        WiFiDensePoseDatasetMapper(_cfg("INPUT.MODALITY", "image", "INPUT.RANDOM_FLIP", "horizontal"), is_train=True)
    # CSI cannot be mirrored: flip is ignored in CSI modality, annotations stay unflipped
    csi_mapper = WiFiDensePoseDatasetMapper(
        _cfg("INPUT.RANDOM_FLIP", "horizontal", "INPUT.DENSEPOSE_FLIP", "mirror_charts"), is_train=True
    )
    assert not csi_mapper.augmentations.augs
    with pytest.raises(ConfigError, match="DENSEPOSE_FLIP"):
        WiFiDensePoseDatasetMapper(_cfg("INPUT.DENSEPOSE_FLIP", "sideways"), is_train=True)
    # flip is a train-time augmentation: the test mapper accepts the config
    WiFiDensePoseDatasetMapper(_cfg("INPUT.MODALITY", "image", "INPUT.RANDOM_FLIP", "horizontal"), is_train=False)


def test_rejected_csi_is_skipped_by_the_loaders(demo_dataset_dir: Path, tmp_path: Path) -> None:
    data = json.loads((demo_dataset_dir / "val.json").read_text())
    for img in data["images"]:
        for key in ("file_name", "csi_file"):
            img[key] = str(demo_dataset_dir / img[key])
    bad = tmp_path / "bad.npz"
    bad.write_bytes(np.random.default_rng(0).bytes(500))
    data["images"][0]["csi_file"] = str(bad)
    with np.load(data["images"][1]["csi_file"]) as z:
        amp = z["amplitude"].copy()
        arrays = {k: z[k] for k in z.files}
    amp[2, 4, 1, 1] = np.nan
    arrays["amplitude"] = amp
    nan_file = tmp_path / "nan.npz"
    np.savez(nan_file, **arrays)
    data["images"][1]["csi_file"] = str(nan_file)
    (tmp_path / "ds.json").write_text(json.dumps(data))

    from app.backend.data.dataset import register_coco_densepose_json

    register_coco_densepose_json("bad_csi_test", tmp_path / "ds.json")
    cfg = _cfg(
        "INPUT.CSI.NONFINITE_POLICY", "reject", "DATASETS.TRAIN", "('bad_csi_test',)", "SOLVER.IMS_PER_BATCH", "2"
    )
    mapper = WiFiDensePoseDatasetMapper(cfg, is_train=True)
    assert mapper(load_coco_densepose_json(tmp_path / "ds.json")[0]) is None
    seen = set()
    loader = iter(build_train_loader(cfg))
    for _ in range(8):
        batch = next(loader)
        assert len(batch) == 2
        seen.update(b["image_id"] for b in batch)
    assert seen and not seen & {data["images"][0]["id"], data["images"][1]["id"]}
    test_ids = [b[0]["image_id"] for b in build_test_loader(cfg, "bad_csi_test")]
    assert sorted(test_ids) == [img["id"] for img in data["images"][2:]]
    with pytest.raises(Exception, match="bad.npz"):
        WiFiDensePoseDatasetMapper(cfg, is_train=False, skip_bad=False)(
            load_coco_densepose_json(tmp_path / "ds.json")[0]
        )


def test_undecodable_image_is_skipped(records: list[dict], tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not really a jpeg")
    rec = dict(records[0], file_name=str(broken))
    mapper = WiFiDensePoseDatasetMapper(_cfg("INPUT.MODALITY", "image"), is_train=True)
    assert mapper(rec) is None
    small = tmp_path / "small.png"
    cv2.imwrite(str(small), np.zeros((10, 10, 3), np.uint8))
    assert mapper(dict(records[0], file_name=str(small))) is None


def test_broken_dp_masks_keep_the_points(records: list[dict]) -> None:
    rec = json.loads(json.dumps(records[0]))
    rec["annotations"][0]["dp_masks"][0] = {"size": [256, 256], "counts": "zzz"}
    out = WiFiDensePoseDatasetMapper(_cfg(), is_train=True)(rec)
    dp = out["instances"].gt_densepose[0]
    assert dp.segm is None and len(dp) == len(rec["annotations"][0]["dp_x"])
    good = decode_dp_masks(records[0]["annotations"][1]["dp_masks"])
    assert np.array_equal(out["instances"].gt_densepose[1].segm.numpy(), good)

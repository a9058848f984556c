"""Pseudo-labelling end to end: a tiny image teacher trained here labels demo frames; the result
validates, loads, and trains a CSI model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.backend.capture.pseudo_label import (
    PseudoLabelOptions,
    accept_pseudo_label,
    densepose_fields,
    is_pseudo,
    pseudo_label_dataset,
)
from app.backend.config import builtin_config, load_config
from app.backend.structures import DensePoseResult


def _opts(demo: Path, out: Path, max_iter: int, **extra: object) -> list[str]:
    opts: dict[str, object] = {
        "DATASETS.DEMO.ROOT": str(demo),
        "OUTPUT_DIR": str(out),
        "MODEL.MTN.OUTPUT_SIZE": [64, 64],
        "SOLVER.IMS_PER_BATCH": 2,
        "SOLVER.MAX_ITER": max_iter,
        "SOLVER.WARMUP_ITERS": 1,
        "SOLVER.STEPS": (max_iter + 10,),
        "SOLVER.CHECKPOINT_PERIOD": 100,
        "SOLVER.MTN_PRETRAIN.ITERS": 0,  # demo_cpu pretrains 2,500 steps; a 2-iteration student needs none
        "DATASETS.TEST": (),
        "SEED": 3,
        "UI.PREVIEW_PERIOD": 0,
        "TEST.DETECTIONS_PER_IMAGE": 2,
    }
    opts.update({k.replace("__", "."): v for k, v in extra.items()})
    flat: list[str] = []
    for k, v in opts.items():
        flat += [k, v if isinstance(v, str) else repr(v)]
    return flat


IMAGE = {"INPUT__MODALITY": "image", "INPUT__MIN_SIZE_TRAIN": (64,), "INPUT__MAX_SIZE_TRAIN": 96,
         "INPUT__MIN_SIZE_TEST": 64, "INPUT__MAX_SIZE_TEST": 96}  # fmt: skip


def _unlabelled_copy(demo: Path, dst: Path, n: int) -> Path:
    data = json.loads((demo / "train.json").read_text())
    images = data["images"][:n]
    for im in images:
        im["file_name"] = str(demo / im["file_name"])
        im["csi_file"] = str(demo / im["csi_file"])
    keep = {im["id"] for im in images}
    human = [a for a in data["annotations"] if a["image_id"] == images[0]["id"]]  # one frame keeps human labels
    data.update(images=images, annotations=human)
    dst.write_text(json.dumps(data))
    assert all(a["image_id"] in keep for a in human)
    return dst


@pytest.mark.slow
def test_teacher_labels_validate_load_and_train_csi(demo_dataset_dir, tmp_path):
    from app.backend.data import load_coco_densepose_json, validate_dataset
    from app.backend.engine import run_training

    teacher = run_training(load_config(builtin_config("demo_cpu"), _opts(demo_dataset_dir, tmp_path / "t", 1, **IMAGE)))
    assert teacher["status"] == "finished"
    src = _unlabelled_copy(demo_dataset_dir, tmp_path / "unlabelled.json", 5)
    out = tmp_path / "labels" / "pseudo.json"
    opt = PseudoLabelOptions(
        dataset=src,
        out=out,
        config_file=builtin_config("demo_cpu"),
        opts=[*_opts(demo_dataset_dir, tmp_path / "t", 1, **IMAGE), "MODEL.WEIGHTS", teacher["last_checkpoint"]],
        score_thresh=0.0,
        keypoint_thresh=-1e9,  # a one-iteration teacher's keypoint logits are all near 0
        keypoint_config=builtin_config("demo_cpu"),  # the same model as keypoint teacher: boxes match exactly
        keypoint_weights=teacher["last_checkpoint"],
        keypoint_opts=_opts(demo_dataset_dir, tmp_path / "t", 1, **IMAGE),
    )
    calls: list[int] = []
    first = pseudo_label_dataset(opt, should_stop=lambda: calls.append(1) or len(calls) > 2)
    assert not first.complete and first.images_labelled_this_run == 2 and not out.exists()
    progress = []
    second = pseudo_label_dataset(opt, progress=progress.append)
    assert second.complete and second.images_labelled_this_run == 2 and second.skipped_human_labels == 1
    assert progress[-1].done == progress[-1].total == 4
    assert not out.with_name("pseudo.json.progress.jsonl").exists()

    report = validate_dataset(out)
    assert report.ok, report.summary()
    data = json.loads(out.read_text())
    pseudo = [a for a in data["annotations"] if is_pseudo(a)]
    assert len(pseudo) == second.people >= 4
    assert all(a["pseudo_label"]["model"] == teacher["last_checkpoint"] for a in pseudo)
    assert all(a["pseudo_label"]["keypoint_model"] == teacher["last_checkpoint"] for a in pseudo)
    assert all(a["num_keypoints"] > 0 for a in pseudo)  # matched by box IoU, keypoints copied
    with_dp = [a for a in pseudo if "dp_I" in a]
    assert with_dp and all(0 < len(a["dp_I"]) <= 100 and len(a["dp_masks"]) == 14 for a in with_dp)
    assert all(len(a["keypoints"]) == 51 for a in pseudo)
    assert len({a["id"] for a in data["annotations"]}) == len(data["annotations"])
    records = load_coco_densepose_json(out)
    assert sum(len(r["annotations"]) for r in records) == len(data["annotations"])
    assert Path(records[0]["csi_file"]).is_file()

    csi_cfg = load_config(
        builtin_config("demo_cpu"),
        _opts(demo_dataset_dir, tmp_path / "student", 2, DATASETS__JSON_FILES=[f"pseudo_set={out}"],
              DATASETS__TRAIN=("pseudo_set",)),
    )  # fmt: skip
    student = run_training(csi_cfg)
    assert student["status"] == "finished" and student["iteration"] == 1


def test_densepose_fields_sample_points_inside_the_body():
    labels = np.zeros((40, 20), np.uint8)
    labels[5:35, 4:16] = 2  # torso front
    labels[30:35, 4:16] = 24  # head left
    uv = np.stack([np.full((40, 20), 0.25, np.float32), np.full((40, 20), 0.75, np.float32)])
    res = DensePoseResult(labels, uv, (100.0, 50.0, 120.0, 90.0))
    f = densepose_fields(res, [100.0, 50.0, 20.0, 40.0], np.random.default_rng(0), 100)
    assert len(f["dp_x"]) == 100 and set(f["dp_I"]) <= {2, 24}
    x, y = np.array(f["dp_x"]), np.array(f["dp_y"])
    assert x.min() >= 4 / 20 * 256 and x.max() <= 16 / 20 * 256 and y.min() >= 5 / 40 * 256 and y.max() <= 35 / 40 * 256
    assert set(f["dp_U"]) == {0.25} and set(f["dp_V"]) == {0.75}
    from app.backend.data.rle import decode_dp_masks

    segm = decode_dp_masks(f["dp_masks"])
    assert set(np.unique(segm)) == {0, 1, 14}  # torso (coarse 1) and head (coarse 14)
    assert segm[128, 128] == 1 and segm[250, 128] == 0


def test_accept_drops_the_pseudo_marker_and_bad_teachers_are_refused(tmp_path, demo_dataset_dir):
    ann = {"id": 3, "bbox": [0, 0, 1, 1], "pseudo_label": {"model": "m", "score": 0.9}}
    accepted = accept_pseudo_label(ann)
    assert is_pseudo(ann) and not is_pseudo(accepted) and accepted["bbox"] == ann["bbox"]
    from app.backend.errors import UserFacingError

    src = _unlabelled_copy(demo_dataset_dir, tmp_path / "u.json", 2)
    with pytest.raises(UserFacingError, match="image model"):  # a CSI config is no image teacher
        pseudo_label_dataset(PseudoLabelOptions(src, tmp_path / "o.json", builtin_config("demo_cpu"),
                                                ["MODEL.WEIGHTS", "x.pth"]))  # fmt: skip
    with pytest.raises(UserFacingError, match="no weights"):
        pseudo_label_dataset(PseudoLabelOptions(src, tmp_path / "o.json", builtin_config("demo_cpu"),
                                                ["INPUT.MODALITY", "image"]))  # fmt: skip
    with pytest.raises(UserFacingError, match="both"):
        PseudoLabelOptions(src, tmp_path / "o.json", builtin_config("demo_cpu"), keypoint_config="k.yaml")

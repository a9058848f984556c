"""The evaluator on the real (untrained, tiny) model through detectron2's inference_on_dataset."""

from __future__ import annotations

import json
import math

import pytest
import torch
from detectron2.evaluation import inference_on_dataset

from app.backend.config import builtin_config, load_config
from app.backend.data import register_datasets
from app.backend.engine.trainer import Trainer
from app.backend.evaluation import DensePoseCOCOEvaluator
from app.backend.evaluation.threshold import best_threshold, sweep_person_threshold
from app.backend.modeling import build_model

EVERY_KEY = {
    "bbox": {"AP", "AP50", "AP75", "APs", "APm", "APl"},
    "keypoints": {"AP", "AP50", "AP75", "APm", "APl"},
    "densepose": {
        "dp_mask_AP", "dp_mask_AP50", "dp_mask_AP75", "dp_mask_APs", "dp_mask_APm", "dp_mask_APl",
        "dp_part_acc", "dp_uv_err", "dp_match_rate", "dp_num_points",
    },
}  # fmt: skip


def _tiny_model(demo_dataset_dir, tmp_path, seed=0):
    opts = [
        "DATASETS.DEMO.ROOT", str(demo_dataset_dir), "OUTPUT_DIR", str(tmp_path),
        "MODEL.MTN.OUTPUT_SIZE", "[64, 64]", "MODEL.ROI_HEADS.SCORE_THRESH_TEST", "0.0",
        "TEST.DETECTIONS_PER_IMAGE", "3",
    ]  # fmt: skip
    cfg = load_config(builtin_config("demo_cpu"), opts)
    register_datasets(cfg)
    torch.manual_seed(seed)
    model = build_model(cfg)
    model.eval()
    return cfg, model


@pytest.mark.slow
def test_every_metric_from_model_outputs(demo_dataset_dir, tmp_path):
    cfg, model = _tiny_model(demo_dataset_dir, tmp_path)
    loader = Trainer.build_test_loader(cfg, "wifi_demo_val")
    evaluator = DensePoseCOCOEvaluator("wifi_demo_val", cfg, output_dir=str(tmp_path))
    results = inference_on_dataset(model, loader, evaluator)
    assert {t: set(m) for t, m in results.items()} == EVERY_KEY
    assert all(isinstance(v, float) for m in results.values() for v in m.values())
    assert 0.0 <= results["bbox"]["AP50"] <= 100.0
    preds = evaluator._predictions
    assert len(preds) == 6 and all(p.image_size == (240, 320) for p in preds.values())
    assert any(r is not None for p in preds.values() for r in (p.densepose or [])), "DensePose reached the evaluator"
    pts = results["densepose"]["dp_num_points"]
    assert math.isnan(results["densepose"]["dp_part_acc"]) == (pts == 0)
    saved = json.loads((tmp_path / "evaluation_results.json").read_text())
    assert set(saved["results"]) == set(EVERY_KEY)


@pytest.mark.slow
def test_person_threshold_sweep_scores_the_evaluators_outputs(demo_dataset_dir, tmp_path):
    # an untrained model: the first seed whose random boxes match annotated people whose points include
    # the front torso (deterministic)
    for seed in range(20):
        cfg, model = _tiny_model(demo_dataset_dir, tmp_path, seed)
        loader = Trainer.build_test_loader(cfg, "wifi_demo_val")
        evaluator = DensePoseCOCOEvaluator("wifi_demo_val", cfg, output_dir=str(tmp_path))
        with torch.no_grad():  # every pixel's fine part: the front torso (part 2), so some annotated points are right
            model.roi_heads.densepose_predictor.index_uv_lowres.bias[2] += 100.0
        reference = inference_on_dataset(model, loader, evaluator)["densepose"]
        if reference["dp_num_points"] > 0 and sweep_person_threshold(cfg, model, "wifi_demo_val", [0.02])[0]["dp_part_acc"] > 0:
            break
    else:
        pytest.fail("no seed gave a detection matching an annotated person")
    model.train()
    seen = []
    own = cfg.MODEL.ROI_DENSEPOSE_HEAD.PERSON_THRESHOLD  # what the evaluator decoded with
    rows = sweep_person_threshold(cfg, model, "wifi_demo_val", [own, 0.02, 0.98], progress=lambda d, n: seen.append((d, n)))
    assert model.training and model.roi_heads.densepose_person_threshold == own  # left as it was
    assert seen[-1] == (6, 6) and [r["threshold"] for r in rows] == [own, 0.02, 0.98]
    assert all(r["num_frames"] == 6 for r in rows)
    # at the config's own threshold the sweep reproduces the evaluator's numbers
    for key in ("dp_mask_AP", "dp_mask_AP50", "dp_part_acc", "dp_uv_err"):
        assert rows[0][key] == pytest.approx(reference[key], nan_ok=True), key
    # annotated points are all on the body: a lower threshold can only turn background calls into parts
    assert rows[1]["dp_part_acc"] >= rows[0]["dp_part_acc"] >= rows[2]["dp_part_acc"]
    assert rows[1]["dp_part_acc"] > rows[2]["dp_part_acc"]
    # (the config's own threshold may tie with 0.02 on an untrained model: compare the two that differ)
    assert best_threshold(rows[1:], "dp_part_acc") == 0.02
    assert best_threshold(rows, "dp_part_acc") in (own, 0.02)
    assert len(sweep_person_threshold(cfg, model, "wifi_demo_val", [0.5], max_frames=2)) == 1
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        sweep_person_threshold(cfg, model, "wifi_demo_val", [0.5, 1.0])

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
from app.backend.modeling import build_model

EVERY_KEY = {
    "bbox": {"AP", "AP50", "AP75", "APs", "APm", "APl"},
    "keypoints": {"AP", "AP50", "AP75", "APm", "APl"},
    "densepose": {
        "dp_mask_AP", "dp_mask_AP50", "dp_mask_AP75", "dp_mask_APs", "dp_mask_APm", "dp_mask_APl",
        "dp_part_acc", "dp_uv_err", "dp_match_rate", "dp_num_points",
    },
}  # fmt: skip


@pytest.mark.slow
def test_every_metric_from_model_outputs(demo_dataset_dir, tmp_path):
    opts = [
        "DATASETS.DEMO.ROOT", str(demo_dataset_dir), "OUTPUT_DIR", str(tmp_path),
        "MODEL.MTN.OUTPUT_SIZE", "[64, 64]", "MODEL.ROI_HEADS.SCORE_THRESH_TEST", "0.0",
        "TEST.DETECTIONS_PER_IMAGE", "3",
    ]  # fmt: skip
    cfg = load_config(builtin_config("demo_cpu"), opts)
    register_datasets(cfg)
    torch.manual_seed(0)
    model = build_model(cfg)
    model.eval()
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

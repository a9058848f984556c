"""Choose ``MODEL.ROI_DENSEPOSE_HEAD.PERSON_THRESHOLD``: DensePose mask AP for several thresholds.

The coarse segmentation gives each pixel P(person). DensePose calls a pixel the person's when
that is the larger class (P > 0.5), which maximises pixel accuracy, not the mask's IoU: when the
model is unsure where a thin limb lies, adding a pixel of probability p raises the expected IoU J
whenever p > J / (1 + J), below 0.5 for any J < 1. This module runs a trained model once over a
split and scores the same raw outputs decoded at each threshold, so the threshold can be picked
on the training split by mask AP and then checked on held-out data.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import torch
from detectron2.config import CfgNode
from detectron2.data import DatasetCatalog

from app.backend.data import build_test_loader
from app.backend.evaluation.metrics import evaluate_predictions
from app.backend.modeling import to_frame_prediction
from app.backend.modeling.densepose import check_person_threshold

#: The DensePose metrics each sweep row reports (the ones the threshold can change).
SWEEP_KEYS = ("dp_mask_AP", "dp_mask_AP50", "dp_mask_AP75", "dp_part_acc", "dp_uv_err")


def sweep_person_threshold(
    cfg: CfgNode,
    model: torch.nn.Module,
    dataset_name: str,
    thresholds: Sequence[float],
    max_frames: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, float]]:
    """DensePose metrics of ``model`` on ``dataset_name`` for each person threshold.

    Args:
        cfg: the model's config (its test loader reads the split).
        model: a built model with DensePose on; its inference runs once per frame, in eval
            mode, and its own threshold is left as it was.
        thresholds: each strictly between 0 and 1.
        max_frames: score only the first frames of the split (all when None).
        progress: called with (frames done, frames in all) after each frame.
    Returns:
        One dict per threshold, in order: ``threshold``, ``dp_mask_AP``, ``dp_mask_AP50``,
        ``dp_mask_AP75``, ``dp_part_acc``, ``dp_uv_err``, ``num_frames``.
    """
    if not thresholds:
        raise ValueError("no person thresholds to sweep")
    thresholds = [check_person_threshold(t, "a person threshold") for t in thresholds]
    records = {r["image_id"]: r for r in DatasetCatalog.get(dataset_name)}
    total = len(records) if max_frames is None else min(max_frames, len(records))
    loader = build_test_loader(cfg, dataset_name)
    raw = {}
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for inputs in itertools.islice(loader, total):
                for inp, out in zip(inputs, model(inputs)):
                    raw[inp["image_id"]] = out["instances"].to("cpu")
                if progress is not None:
                    progress(len(raw), total)
    finally:
        model.train(was_training)
    scored = [records[i] for i in raw]
    rows = []
    for t in thresholds:
        preds = {}
        for image_id, inst in raw.items():
            if inst.has("pred_densepose"):
                inst.pred_densepose.person_threshold = float(t)
            preds[image_id] = to_frame_prediction(inst)
        dp = evaluate_predictions(scored, preds, tasks=("densepose",))["densepose"]
        rows.append({"threshold": float(t), **{k: dp[k] for k in SWEEP_KEYS}, "num_frames": float(len(scored))})
    return rows


def best_threshold(rows: Sequence[dict[str, float]], key: str = "dp_mask_AP") -> float:
    """The threshold of the row with the highest ``key`` (the first among equals)."""
    return max(rows, key=lambda r: r[key])["threshold"]

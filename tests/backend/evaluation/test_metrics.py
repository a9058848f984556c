"""evaluate_predictions: perfect predictions score 100, degraded ones score less; key sets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.backend.evaluation import evaluate_predictions, prediction_from_ground_truth
from app.backend.structures import DensePoseResult, FramePrediction

GPS_KEYS = {f"{p}_{n}" for p in ("GPS", "GPSm") for n in ("AP", "AP50", "AP75", "APm", "APl")}


def perfect(records) -> dict:
    return {r["image_id"]: prediction_from_ground_truth(r) for r in records}


def test_ground_truth_as_prediction_scores_100(records):
    res = evaluate_predictions(records, perfect(records))
    assert list(res) == ["bbox", "keypoints", "densepose"]
    assert res["bbox"]["AP"] == pytest.approx(100.0) and res["bbox"]["AP50"] == pytest.approx(100.0)
    assert res["keypoints"]["AP"] == pytest.approx(100.0)
    dp = res["densepose"]
    assert dp["dp_mask_AP"] == pytest.approx(100.0) and dp["dp_mask_AP50"] == pytest.approx(100.0)
    assert dp["dp_part_acc"] == pytest.approx(100.0)
    assert dp["dp_uv_err"] == pytest.approx(0.0, abs=1e-6)
    assert dp["dp_match_rate"] == pytest.approx(100.0)
    assert dp["dp_num_points"] == 5 * 88
    assert not GPS_KEYS & set(dp), "no GPS without a geodesic table"
    assert all(isinstance(v, float) for m in res.values() for v in m.values())


def test_tasks_subset_scores_only_those_tasks(records):
    preds = {k: shifted(p, 0.1) for k, p in perfect(records).items()}
    full = evaluate_predictions(records, preds)
    only_dp = evaluate_predictions(records, preds, tasks=("densepose",))
    assert list(only_dp) == ["densepose"]
    assert only_dp["densepose"] == pytest.approx(full["densepose"], nan_ok=True)
    both = evaluate_predictions(records, preds, tasks=("keypoints", "bbox"))
    assert list(both) == ["bbox", "keypoints"], "the result keeps evaluate_predictions' order"
    assert both["keypoints"] == pytest.approx(full["keypoints"], nan_ok=True)
    with pytest.raises(ValueError, match="segm"):
        evaluate_predictions(records, preds, tasks=("densepose", "segm"))


def shifted(pred: FramePrediction, frac: float) -> FramePrediction:
    w = pred.boxes[:, 2] - pred.boxes[:, 0]
    boxes = pred.boxes.copy()
    boxes[:, [0, 2]] += (frac * w)[:, None]
    dps = [
        DensePoseResult(
            r.labels, r.uv, (r.box_xyxy[0] + frac * wk, r.box_xyxy[1], r.box_xyxy[2] + frac * wk, r.box_xyxy[3])
        )
        for r, wk in zip(pred.densepose, w)
    ]
    kps = pred.keypoints.copy()
    kps[..., 0] += (frac * w)[:, None]
    return FramePrediction(pred.image_size, boxes, pred.scores, kps, dps)


def test_shifted_boxes_lower_every_ap(records):
    base = evaluate_predictions(records, perfect(records))
    moved = evaluate_predictions(records, {k: shifted(p, 0.2) for k, p in perfect(records).items()})
    assert moved["bbox"]["AP"] < base["bbox"]["AP"] - 20
    assert moved["bbox"]["AP50"] == pytest.approx(100.0), "IoU 0.67 still counts at 0.5"
    assert moved["keypoints"]["AP"] < base["keypoints"]["AP"] - 20
    assert moved["densepose"]["dp_mask_AP"] < base["densepose"]["dp_mask_AP"] - 20
    assert moved["densepose"]["dp_part_acc"] < 90.0


def test_wrong_parts_and_uv_errors_are_measured(records):
    preds = perfect(records)
    for p in preds.values():
        for r in p.densepose:
            on = r.labels > 0
            if r is p.densepose[0]:
                r.labels[on] = r.labels[on] % 24 + 1  # every part wrong for the first person
            else:
                r.uv[0][on] = np.clip(r.uv[0][on] + 0.1, 0, 1)
    dp = evaluate_predictions(records, preds)["densepose"]
    first_people = 3  # one per image
    assert dp["dp_part_acc"] == pytest.approx(100.0 * (5 - first_people) / 5)
    assert 0.05 < dp["dp_uv_err"] <= 0.1 + 1e-6


def test_missing_predictions_and_unmatched_people(records):
    preds = perfect(records)
    preds[1] = preds[1].select(np.array([True, False]))
    res = evaluate_predictions(records, preds)
    assert res["bbox"]["AP"] < 100.0
    assert res["densepose"]["dp_match_rate"] == pytest.approx(80.0)
    assert res["densepose"]["dp_part_acc"] == pytest.approx(100.0)
    empty = {r["image_id"]: FramePrediction.empty((200, 240)) for r in records}
    res = evaluate_predictions(records, empty)
    assert res["bbox"]["AP"] == 0.0 and math.isnan(res["densepose"]["dp_part_acc"])


def test_people_are_matched_within_their_own_image(records):
    """A detection is never scored against a person of another image, even one with the same box."""
    import copy

    first = records[0]
    twin = copy.deepcopy(first)
    twin["image_id"] = 99
    for a in twin["annotations"]:
        a["dp_I"] = [i % 24 + 1 for i in a["dp_I"]]  # same boxes and points, other parts
    preds = {first["image_id"]: prediction_from_ground_truth(first), 99: FramePrediction.empty((200, 240))}
    dp = evaluate_predictions([twin, first], preds)["densepose"]
    assert dp["dp_part_acc"] == pytest.approx(100.0)
    assert dp["dp_match_rate"] == pytest.approx(50.0)

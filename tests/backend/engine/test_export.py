"""Predictions JSON: COCO results with DensePose as an IUV PNG."""

from __future__ import annotations

import json

import numpy as np

from app.backend.engine.export import decode_densepose, frame_to_coco_results
from app.backend.structures import FramePrediction
from app.backend.structures.densepose import DensePoseResult


def test_round_trip_keeps_parts_exact_and_uv_within_quantisation() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 25, size=(30, 17)).astype(np.uint8)
    uv = rng.random((2, 30, 17)).astype(np.float32) * (labels > 0)
    dp = DensePoseResult(labels=labels, uv=uv, box_xyxy=(10.0, 20.0, 27.0, 50.0))
    kps = rng.random((1, 17, 3)).astype(np.float32) * 50
    pred = FramePrediction((64, 64), boxes=[[10, 20, 27, 50]], scores=[0.9], keypoints=kps, densepose=[dp])
    results = json.loads(json.dumps(frame_to_coco_results(pred, image_id=3, file_name="a.npz")))
    assert len(results) == 1
    r = results[0]
    assert r["image_id"] == 3 and r["category_id"] == 1 and r["bbox"] == [10.0, 20.0, 17.0, 30.0]
    assert len(r["keypoints"]) == 51
    back = decode_densepose(r["densepose"])
    assert np.array_equal(back.labels, labels)
    assert np.abs(back.uv - uv).max() <= 0.5 / 255 + 1e-6
    assert back.box_xyxy == (10.0, 20.0, 27.0, 50.0)


def test_instances_without_densepose_have_no_densepose_field() -> None:
    pred = FramePrediction((64, 64), boxes=[[0, 0, 5, 5], [1, 1, 9, 9]], scores=[0.5, 0.4], densepose=[None, None])
    results = frame_to_coco_results(pred, image_id=0)
    assert [("densepose" in r) for r in results] == [False, False]
    assert "keypoints" not in results[0]

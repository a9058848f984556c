"""Predictions -> proposal people: thresholds, keypoint visibility, DensePose sampling on the box grid."""

from __future__ import annotations

import numpy as np

from app.backend.annotations.proposals import people_from_prediction, sample_densepose_points
from app.backend.structures import DensePoseResult, FramePrediction


def test_people_from_prediction() -> None:
    labels = np.zeros((20, 10), np.uint8)
    labels[10:, :5] = 3
    uv = np.zeros((2, 20, 10), np.float32)
    uv[0, 10:, :5] = 0.25
    uv[1, 10:, :5] = 0.75
    kps = np.zeros((2, 17, 3), np.float32)
    kps[0, :, 0], kps[0, :, 1], kps[0, :, 2] = 15, 25, 1.0
    kps[0, 3, 2] = -2.0
    pred = FramePrediction(
        image_size=(40, 40),
        boxes=np.array([[10, 20, 20, 40], [0, 0, 5, 5]], np.float32),
        scores=np.array([0.9, 0.2], np.float32),
        keypoints=kps,
        densepose=[DensePoseResult(labels, uv, (10, 20, 20, 40)), None],
    )
    people = people_from_prediction(pred, 7, score_threshold=0.5, max_dp_points=8)
    assert len(people) == 1
    p = people[0]
    p.validate()
    assert p.bbox == [10, 20, 10, 20] and p.image_id == 7
    assert p.keypoint(0) == (15, 25, 2) and p.keypoint(3)[2] == 0
    assert len(p.dp) == 8 and {q.i for q in p.dp} == {3}
    assert all(q.x < 128 and q.y >= 128 for q in p.dp)  # lower-left quarter of the box
    assert all((q.u, q.v) == (0.25, 0.75) for q in p.dp)


def test_sampling_empty_result() -> None:
    empty = DensePoseResult(np.zeros((4, 4), np.uint8), np.zeros((2, 4, 4), np.float32), (0, 0, 4, 4))
    assert sample_densepose_points(empty) == []

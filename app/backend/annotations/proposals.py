"""Model predictions -> editable people ("proposals" the user accepts, edits or rejects).

Qt-free. Keypoint scores become COCO visibility (2 above the threshold, else 0);
DensePose results are sampled into at most ``max_dp_points`` points per person on an
even grid over the predicted foreground, converted to the box-relative 0..255 grid.
"""

from __future__ import annotations

import numpy as np

from app.backend.annotations.model import DensePosePoint, Person
from app.backend.sampling import spread_indices
from app.backend.structures import DensePoseResult, FramePrediction
from app.backend.structures.box_grid import DP_GRID, cell_centres_on_dp_grid


def sample_densepose_points(result: DensePoseResult, max_points: int = 100) -> list[DensePosePoint]:
    """Up to ``max_points`` points spread evenly over the foreground of ``result`` (deterministic)."""
    labels = np.asarray(result.labels)
    ys, xs = np.nonzero(labels)
    if len(ys) == 0:
        return []
    pick = spread_indices(len(ys), max_points)
    h, w = labels.shape
    points = []
    for r, c in zip(ys[pick].tolist(), xs[pick].tolist()):
        x, y = cell_centres_on_dp_grid(r, c, (h, w))
        x, y = min(x, DP_GRID - 1.0), min(y, DP_GRID - 1.0)
        u = float(np.clip(result.uv[0, r, c], 0, 1))
        v = float(np.clip(result.uv[1, r, c], 0, 1))
        points.append(DensePosePoint(round(x, 3), round(y, 3), int(labels[r, c]), round(u, 4), round(v, 4)))
    return points


def people_from_prediction(
    pred: FramePrediction,
    image_id,
    *,
    score_threshold: float = 0.5,
    keypoint_threshold: float = 0.05,
    max_dp_points: int = 100,
    category_id: int = 1,
    image_hw: tuple[int, int] | None = None,
) -> list[Person]:
    """People with ``score >= score_threshold`` as :class:`Person` objects (``ann_id`` -1 until accepted).

    Boxes are clipped to ``image_hw`` (height, width) when given.
    """
    people = []
    for n in range(len(pred)):
        score = float(pred.scores[n])
        if score < score_threshold:
            continue
        x0, y0, x1, y1 = (float(c) for c in pred.boxes[n])
        if image_hw is not None:
            h, w = image_hw
            x0, x1 = min(max(x0, 0.0), w), min(max(x1, 0.0), w)
            y0, y1 = min(max(y0, 0.0), h), min(max(y1, 0.0), h)
        if x1 - x0 < 1 or y1 - y0 < 1:
            continue
        person = Person(-1, image_id, [0, 0, 0, 0], None, None, {"category_id": category_id, "iscrowd": 0, "area": 0})
        person.set_bbox(x0, y0, x1 - x0, y1 - y0)
        person.extra["score"] = round(score, 4)
        if pred.keypoints is not None:
            kp = np.asarray(pred.keypoints[n], np.float64).reshape(-1, 3)
            for k, (x, y, s) in enumerate(kp.tolist()):
                visible = s >= keypoint_threshold if not pred.is_ground_truth else s > 0
                person.set_keypoint(k, x if visible else 0, y if visible else 0, 2 if visible else 0)
        if pred.densepose is not None and pred.densepose[n] is not None:
            person.dp = sample_densepose_points(pred.densepose[n], max_dp_points)
        people.append(person)
    return people

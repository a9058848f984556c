"""Ground truth turned into a prediction: the reference a perfect model would produce.

Used to check the evaluator (it must score 100 on it) and as a visual reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import cv2
import numpy as np
from scipy.spatial import cKDTree

from app.backend.data.rle import decode_dp_masks
from app.backend.evaluation.metrics import point_cells
from app.backend.structures.box_grid import annotation_box_xyxy, densepose_points_abs
from app.backend.structures.densepose import DensePoseResult
from app.backend.structures.prediction import FramePrediction


def densepose_result_from_annotation(ann: Mapping[str, Any]) -> DensePoseResult | None:
    """A dense DensePoseResult from one annotation's points and ``dp_masks`` (None without points).

    Labels and U/V at box resolution take the nearest annotated point's values inside the
    person mask (the whole box when ``dp_masks`` is absent); every annotated point's own
    cell carries exactly its annotation (the last one wins if two share a cell).
    """
    box = annotation_box_xyxy(ann)
    pts = densepose_points_abs(ann, box)
    if pts is None:
        return None
    x0, y0, x1, y1 = (float(t) for t in box)
    w, h = max(1, round(x1 - x0)), max(1, round(y1 - y0))
    if ann.get("dp_masks"):
        mask = cv2.resize(
            (decode_dp_masks(list(ann["dp_masks"])) > 0).astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST
        )
    else:
        mask = np.ones((h, w), np.uint8)
    row, col = point_cells(box, (h, w), pts["x"], pts["y"])
    row, col = np.clip(row, 0, h - 1), np.clip(col, 0, w - 1)
    labels = np.zeros((h, w), np.uint8)
    uv = np.zeros((2, h, w), np.float32)
    rr, cc = np.nonzero(mask)
    if len(rr):
        _, nearest = cKDTree(np.stack([row, col], axis=1)).query(np.stack([rr, cc], axis=1))
        labels[rr, cc] = pts["i"][nearest]
        uv[0, rr, cc] = pts["u"][nearest]
        uv[1, rr, cc] = pts["v"][nearest]
    labels[row, col] = pts["i"]
    uv[0, row, col] = pts["u"]
    uv[1, row, col] = pts["v"]
    return DensePoseResult(labels=labels, uv=uv, box_xyxy=(x0, y0, x1, y1))


def prediction_from_ground_truth(record: Mapping[str, Any]) -> FramePrediction:
    """FramePrediction (``is_ground_truth=False``, scores 1) holding a dataset dict's annotations.

    Boxes XYXY_ABS, keypoints with the visibility as score, dense DensePose from
    :func:`densepose_result_from_annotation`. Crowd annotations are left out.
    """
    anns = [a for a in record.get("annotations", []) if not a.get("iscrowd", 0)]
    hw = (int(record["height"]), int(record["width"]))
    if not anns:
        return FramePrediction.empty(hw)
    kps = np.stack([np.asarray(a.get("keypoints") or np.zeros(51), np.float32).reshape(17, 3) for a in anns])
    return FramePrediction(
        hw,
        np.stack([annotation_box_xyxy(a) for a in anns]),
        np.ones(len(anns), np.float32),
        kps,
        [densepose_result_from_annotation(a) for a in anns],
    )

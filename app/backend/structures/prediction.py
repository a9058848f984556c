"""Per-frame predictions or ground truth as plain numpy: what vis, the UI and JSON export use.

No torch or detectron2 types cross this boundary, so the result can be handed across
threads to the UI or written to disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.backend.structures.densepose import DensePoseResult

#: Key of ``FramePrediction.extra`` holding annotated DensePose points of ground truth:
#: a list (one per instance) of None or a dict of float arrays ``x``, ``y`` (absolute image
#: pixels), ``i`` (parts 1..24), ``u``, ``v`` (0..1).
DP_POINTS_KEY = "densepose_points"


@dataclass
class FramePrediction:
    """People found in (or annotated on) one frame.

    Attributes:
        image_size: (height, width) of the frame the coordinates refer to.
        boxes: float32 (N, 4), XYXY_ABS pixels.
        scores: float32 (N,); 1.0 for ground truth.
        keypoints: float32 (N, 17, 3) as (x, y, score-or-visibility), or None.
            For predictions the third value is the keypoint score (logit, as detectron2
            returns); for ground truth it is the COCO visibility 0/1/2.
        densepose: one DensePoseResult (or None) per instance, or None when absent.
        is_ground_truth: True when built from annotations.
    """

    image_size: tuple[int, int]
    boxes: np.ndarray
    scores: np.ndarray
    keypoints: np.ndarray | None = None
    densepose: list[DensePoseResult | None] | None = None
    is_ground_truth: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.boxes = np.asarray(self.boxes, dtype=np.float32).reshape(-1, 4)
        self.scores = np.asarray(self.scores, dtype=np.float32).reshape(-1)
        n = len(self.boxes)
        if len(self.scores) != n:
            raise ValueError(f"{n} boxes but {len(self.scores)} scores")
        if self.keypoints is not None:
            kp = np.asarray(self.keypoints, dtype=np.float32)
            # (0, 17, 3) is valid as is; reshape(0, -1, 3) would be ambiguous
            self.keypoints = kp if kp.ndim == 3 and len(kp) == n else kp.reshape(n, -1, 3)
        if self.densepose is not None and len(self.densepose) != n:
            raise ValueError(f"{n} boxes but {len(self.densepose)} DensePose results")

    def __len__(self) -> int:
        return len(self.boxes)

    def select(self, keep: np.ndarray) -> FramePrediction:
        """Subset by a bool mask or index array of shape (N,)."""
        idx = np.arange(len(self))[keep]
        return FramePrediction(
            image_size=self.image_size,
            boxes=self.boxes[idx],
            scores=self.scores[idx],
            keypoints=None if self.keypoints is None else self.keypoints[idx],
            densepose=None if self.densepose is None else [self.densepose[i] for i in idx],
            is_ground_truth=self.is_ground_truth,
            extra=dict(self.extra),
        )

    @staticmethod
    def empty(image_size: tuple[int, int]) -> FramePrediction:
        return FramePrediction(image_size, np.zeros((0, 4), np.float32), np.zeros((0,), np.float32))


def scale_prediction(pred: FramePrediction, image_hw: tuple[int, int]) -> FramePrediction:
    """Rescale boxes, keypoints, DensePose results and GT points from ``pred.image_size`` to ``image_hw``."""
    h0, w0 = pred.image_size
    h1, w1 = image_hw
    if (h0, w0) == (h1, w1) or h0 <= 0 or w0 <= 0:
        return pred
    sx, sy = w1 / w0, h1 / h0
    scale = np.array([sx, sy, sx, sy], dtype=np.float32)
    kps = None
    if pred.keypoints is not None:
        kps = pred.keypoints.copy()
        kps[..., 0] *= sx
        kps[..., 1] *= sy
    dps = None
    if pred.densepose is not None:
        dps = []
        for r in pred.densepose:
            if r is None:
                dps.append(None)
                continue
            x0, y0, x1, y1 = r.box_xyxy
            dps.append(DensePoseResult(labels=r.labels, uv=r.uv, box_xyxy=(x0 * sx, y0 * sy, x1 * sx, y1 * sy)))
    extra = dict(pred.extra)
    if extra.get(DP_POINTS_KEY) is not None:
        extra[DP_POINTS_KEY] = [
            None if p is None else {**p, "x": np.asarray(p["x"]) * sx, "y": np.asarray(p["y"]) * sy}
            for p in extra[DP_POINTS_KEY]
        ]
    return FramePrediction((h1, w1), pred.boxes * scale, pred.scores, kps, dps, pred.is_ground_truth, extra)

"""Per-frame predictions or ground truth as plain numpy: what vis, the UI and JSON export use.

No torch or detectron2 types cross this boundary, so the result can be handed across
threads to the UI or written to disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.backend.structures.densepose import DensePoseResult


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

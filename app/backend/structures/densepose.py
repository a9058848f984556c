"""DensePose results (numpy only), and lazy access to the torch ground-truth types.

The ground-truth types (``DensePoseInstance``, ``DensePoseTargets``) live in
``densepose_targets`` with the COCO-DensePose point conventions; they need torch and are
loaded only when asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from app.backend.structures.body import NUM_PARTS


@dataclass
class DensePoseResult:
    """Compact DensePose prediction for one instance, at box resolution.

    Attributes:
        labels: uint8 array of shape (h, w), fine part 0..24 per pixel of the
            predicted box (h = round(box height), w = round(box width), each >= 1).
        uv: float32 array of shape (2, h, w), U and V in 0..1 (0 where labels == 0).
        box_xyxy: the predicted box (x0, y0, x1, y1) in absolute image pixels.
    """

    labels: np.ndarray
    uv: np.ndarray
    box_xyxy: tuple[float, float, float, float]

    def __post_init__(self) -> None:
        if self.labels.ndim != 2 or self.uv.shape != (2, *self.labels.shape):
            raise ValueError(f"labels {self.labels.shape} and uv {self.uv.shape} do not match")
        if self.labels.size and int(self.labels.max()) > NUM_PARTS:
            raise ValueError("part labels must lie in 0..24")

    def to_iuv_image(self) -> np.ndarray:
        """uint8 array (h, w, 3): channel 0 = part 0..24, 1 = U*255, 2 = V*255 (DensePose's IUV)."""
        iuv = np.empty((*self.labels.shape, 3), dtype=np.uint8)
        iuv[..., 0] = self.labels
        iuv[..., 1] = np.clip(self.uv[0] * 255.0 + 0.5, 0, 255).astype(np.uint8)
        iuv[..., 2] = np.clip(self.uv[1] * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return iuv


def __getattr__(name: str) -> Any:
    # DensePoseInstance / DensePoseTargets need torch; load them only when asked for, so
    # numpy consumers (vis, widgets) of DensePoseResult do not import torch.
    if name in ("DensePoseInstance", "DensePoseTargets"):
        from app.backend.structures import densepose_targets

        return getattr(densepose_targets, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

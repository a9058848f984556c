"""Synthetic COCO-DensePose ground truth with known geometry for the evaluator tests."""

from __future__ import annotations

import numpy as np
import pytest

from app.backend.data.rle import encode_dp_masks


def make_annotation(box_xywh, rng: np.random.Generator, with_masks: bool = True) -> dict:
    """One person: torso + head coarse masks, a grid of DensePose points on the torso, 17 keypoints."""
    x, y, w, h = box_xywh
    segm = np.zeros((256, 256), np.uint8)
    segm[40:230, 60:196] = 1  # torso
    segm[4:40, 96:160] = 14  # head
    gx, gy = np.meshgrid(np.arange(70.0, 190.0, 16.0), np.arange(50.0, 226.0, 16.0))
    dp_x, dp_y = gx.ravel(), gy.ravel()
    dp_i = (np.arange(len(dp_x)) % 24) + 1
    kps = np.zeros((17, 3))
    kps[:, 0] = x + rng.uniform(0.1, 0.9, 17) * w
    kps[:, 1] = y + np.linspace(0.05, 0.95, 17) * h
    kps[:, 2] = np.where(np.arange(17) % 5 == 0, 1, 2)
    return {
        "bbox": [float(x), float(y), float(w), float(h)],
        "bbox_mode": 1,
        "category_id": 0,
        "iscrowd": 0,
        "keypoints": kps.ravel().tolist(),
        "dp_x": dp_x.tolist(),
        "dp_y": dp_y.tolist(),
        "dp_I": dp_i.tolist(),
        "dp_U": (dp_x / 256.0).tolist(),
        "dp_V": (dp_y / 256.0).tolist(),
        "dp_masks": encode_dp_masks(segm) if with_masks else None,
    }


@pytest.fixture
def records() -> list[dict]:
    """Three images (200x240) with 2, 1 and 2 people; one person lacks dp_masks."""
    rng = np.random.default_rng(0)
    layout = [
        [(10, 20, 70, 150), (120, 30, 80, 160)],
        [(60, 10, 90, 180)],
        [(5, 5, 60, 120), (150, 50, 70, 140)],
    ]
    out = []
    for k, boxes in enumerate(layout):
        anns = [make_annotation(b, rng, with_masks=not (k == 2 and j == 1)) for j, b in enumerate(boxes)]
        out.append({"image_id": k + 1, "height": 200, "width": 240, "file_name": None, "annotations": anns})
    return out

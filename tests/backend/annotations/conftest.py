"""A tiny COCO-DensePose file with real JPEG frames, written fresh for each test."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest


def make_coco(root: Path, num_images: int = 3, with_files: bool = True) -> Path:
    """Write ``root/train.json`` (+ ``root/images/train/*.jpg``): 2 people per image, keypoints and DensePose."""
    rng = np.random.default_rng(0)
    (root / "images" / "train").mkdir(parents=True, exist_ok=True)
    images, anns = [], []
    ann_id = 1
    for n in range(num_images):
        name = f"images/train/{n:06d}.jpg"
        if with_files:
            cv2.imwrite(str(root / name), rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))
        images.append({"id": n + 1, "file_name": name, "width": 64, "height": 48, "csi_file": None})
        for _ in range(2):
            kps = []
            for k in range(17):
                kps += [int(rng.integers(5, 60)), int(rng.integers(5, 44)), int(k % 3)]
            k_dp = 4
            anns.append(
                {
                    "id": ann_id,
                    "image_id": n + 1,
                    "category_id": 1,
                    "iscrowd": 0,
                    "area": 600.0,
                    "bbox": [4.5, 3.0, 30.0, 20.0],
                    "keypoints": kps,
                    "num_keypoints": sum(1 for k in range(17) if kps[3 * k + 2] > 0),
                    "dp_x": [float(x) for x in rng.uniform(0, 255, k_dp)],
                    "dp_y": [float(x) for x in rng.uniform(0, 255, k_dp)],
                    "dp_I": [int(x) for x in rng.integers(1, 25, k_dp)],
                    "dp_U": [float(x) for x in rng.uniform(0, 1, k_dp)],
                    "dp_V": [float(x) for x in rng.uniform(0, 1, k_dp)],
                    "custom": {"keep": [1, 2]},
                }
            )
            ann_id += 1
    data = {
        "info": {"description": "test"},
        "images": images,
        "annotations": anns,
        "categories": [{"id": 1, "name": "person", "keypoints": [], "skeleton": []}],
    }
    path = root / "train.json"
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def coco_file(tmp_path: Path) -> Path:
    return make_coco(tmp_path)

"""Plain data types shared by data loading, modeling, evaluation and the UI."""

from typing import Any

from app.backend.structures.body import (
    COARSE_PART_NAMES,
    FINE_TO_COARSE,
    KEYPOINT_FLIP_MAP,
    KEYPOINT_NAMES,
    KEYPOINT_SKELETON,
    NUM_COARSE_PARTS,
    NUM_KEYPOINTS,
    NUM_PARTS,
    PART_FLIP,
    PART_NAMES,
)
from app.backend.structures.densepose import DensePoseResult
from app.backend.structures.prediction import FramePrediction

__all__ = [
    "COARSE_PART_NAMES",
    "FINE_TO_COARSE",
    "KEYPOINT_FLIP_MAP",
    "KEYPOINT_NAMES",
    "KEYPOINT_SKELETON",
    "NUM_COARSE_PARTS",
    "NUM_KEYPOINTS",
    "NUM_PARTS",
    "PART_FLIP",
    "PART_NAMES",
    "DensePoseInstance",
    "DensePoseResult",
    "DensePoseTargets",
    "FramePrediction",
]


def __getattr__(name: str) -> Any:
    # The torch-backed ground-truth types load lazily (see structures/densepose.py).
    if name in ("DensePoseInstance", "DensePoseTargets"):
        from app.backend.structures import densepose_targets

        return getattr(densepose_targets, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

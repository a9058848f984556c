"""Plain data types shared by data loading, modeling, evaluation and the UI."""

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
from app.backend.structures.densepose import DensePoseInstance, DensePoseResult, DensePoseTargets
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

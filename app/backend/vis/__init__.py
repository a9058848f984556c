"""Visualisation of predictions and ground truth: numpy + OpenCV only (no torch, detectron2 or Qt).

Every image is **BGR** uint8 of shape (H, W, 3) (OpenCV order); use :func:`to_rgb` before
handing one to Qt. Colour tables in :mod:`app.backend.vis.colors` are BGR too.
"""

from app.backend.vis.boxes import draw_boxes
from app.backend.vis.colors import (
    COARSE_PART_COLORS_BGR,
    KEYPOINT_CENTER_BGR,
    KEYPOINT_COLORS_BGR,
    KEYPOINT_LEFT_BGR,
    KEYPOINT_RIGHT_BGR,
    PART_COLORS_BGR,
    colorize_parts,
    colorize_uv,
)
from app.backend.vis.densepose import draw_densepose, draw_densepose_points
from app.backend.vis.keypoints import draw_keypoints, draw_skeleton
from app.backend.vis.overlay import OverlayOptions, ground_truth_frame, render_overlay, side_by_side, to_rgb

__all__ = [
    "COARSE_PART_COLORS_BGR",
    "KEYPOINT_CENTER_BGR",
    "KEYPOINT_COLORS_BGR",
    "KEYPOINT_LEFT_BGR",
    "KEYPOINT_RIGHT_BGR",
    "PART_COLORS_BGR",
    "OverlayOptions",
    "colorize_parts",
    "colorize_uv",
    "draw_boxes",
    "draw_densepose",
    "draw_densepose_points",
    "draw_keypoints",
    "draw_skeleton",
    "ground_truth_frame",
    "render_overlay",
    "side_by_side",
    "to_rgb",
]

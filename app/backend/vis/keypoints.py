"""COCO keypoint skeletons drawn into BGR uint8 images (H, W, 3), in place.

Styles (ground truth, third value = COCO visibility):
- v = 0: not labelled, not drawn (nor its limbs);
- v = 1: labelled but occluded: hollow circle, limbs touching it dashed;
- v = 2: visible: filled circle, solid limbs.
Predictions (third value = keypoint score/logit): a keypoint with score >= ``threshold`` is
drawn like v = 2, anything below is hidden.
Colours: left side orange, right side blue, centre green (:mod:`app.backend.vis.colors`).
"""

from __future__ import annotations

import cv2
import numpy as np

from app.backend.structures.body import KEYPOINT_SKELETON
from app.backend.vis.colors import KEYPOINT_COLORS_BGR, limb_color

HIDDEN, OCCLUDED, VISIBLE = 0, 1, 2
_SKELETON = np.asarray(KEYPOINT_SKELETON, dtype=np.intp)
_LIMB_COLORS = [limb_color(int(a), int(b)) for a, b in _SKELETON]


def keypoint_styles(keypoints: np.ndarray, is_ground_truth: bool, threshold: float = 0.05) -> np.ndarray:
    """Style per keypoint: int array (N, K) of HIDDEN / OCCLUDED / VISIBLE.

    Args:
        keypoints: float (N, K, 3) as (x, y, visibility-or-score).
        is_ground_truth: third value is COCO visibility (True) or a score (False).
        threshold: score threshold for predictions.
    """
    third = keypoints[..., 2]
    if is_ground_truth:
        return np.clip(np.rint(third), 0, 2).astype(np.int8)
    return np.where(third >= threshold, VISIBLE, HIDDEN).astype(np.int8)


def _dashed_line(image: np.ndarray, p0: np.ndarray, p1: np.ndarray, color, thickness: int, dash: int = 6) -> None:
    length = float(np.hypot(*(p1 - p0)))
    n = max(1, int(length // dash))
    ts = np.linspace(0.0, 1.0, n + 1)
    for k in range(0, n, 2):
        a = p0 + (p1 - p0) * ts[k]
        b = p0 + (p1 - p0) * ts[k + 1]
        cv2.line(image, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), color, thickness, cv2.LINE_AA)


def draw_skeleton(
    image: np.ndarray,
    keypoints: np.ndarray,
    styles: np.ndarray,
    *,
    radius: int = 4,
    thickness: int = 2,
) -> np.ndarray:
    """Draw one person's skeleton into ``image`` (BGR uint8, in place) and return it.

    Args:
        keypoints: float (K, 3), absolute image pixels in the first two columns.
        styles: int (K,) from :func:`keypoint_styles`.
    """
    pts = keypoints[:, :2].astype(np.float64)
    finite = np.isfinite(pts).all(axis=1)
    for (a, b), color in zip(_SKELETON, _LIMB_COLORS):
        sa, sb = styles[a], styles[b]
        if sa == HIDDEN or sb == HIDDEN or not (finite[a] and finite[b]):
            continue
        if sa == VISIBLE and sb == VISIBLE:
            p0, p1 = pts[a], pts[b]
            cv2.line(image, (int(p0[0]), int(p0[1])), (int(p1[0]), int(p1[1])), color, thickness, cv2.LINE_AA)
        else:
            _dashed_line(image, pts[a], pts[b], color, thickness)
    for k in range(len(pts)):
        if styles[k] == HIDDEN or not finite[k]:
            continue
        c = (int(pts[k, 0]), int(pts[k, 1]))
        color = tuple(int(t) for t in KEYPOINT_COLORS_BGR[k])
        if styles[k] == VISIBLE:
            cv2.circle(image, c, radius + 1, (0, 0, 0), -1, cv2.LINE_AA)
            cv2.circle(image, c, radius, color, -1, cv2.LINE_AA)
        else:
            cv2.circle(image, c, radius, color, max(1, thickness - 1), cv2.LINE_AA)
    return image


def draw_keypoints(
    image: np.ndarray,
    keypoints: np.ndarray,
    *,
    is_ground_truth: bool,
    threshold: float = 0.05,
    radius: int = 4,
    thickness: int = 2,
) -> np.ndarray:
    """Draw the skeletons of all people: ``keypoints`` float (N, 17, 3); image BGR uint8, in place."""
    keypoints = np.asarray(keypoints, dtype=np.float32).reshape(len(keypoints), -1, 3)
    styles = keypoint_styles(keypoints, is_ground_truth, threshold)
    for kp, st in zip(keypoints, styles):
        draw_skeleton(image, kp, st, radius=radius, thickness=thickness)
    return image

"""One-call overlays of a :class:`FramePrediction` (prediction or ground truth) on a frame.

Every image here is **BGR** uint8 of shape (H, W, 3) (OpenCV order); :func:`to_rgb` converts
for Qt (``QImage.Format_RGB888``) or matplotlib. Inputs are never modified.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import cv2
import numpy as np

from app.backend.structures.box_grid import annotation_box_xyxy, densepose_points_abs
from app.backend.structures.prediction import DP_POINTS_KEY, FramePrediction, scale_prediction
from app.backend.vis.boxes import draw_boxes
from app.backend.vis.colors import GT_BOX_BGR, PRED_BOX_BGR
from app.backend.vis.densepose import draw_densepose, draw_densepose_points
from app.backend.vis.keypoints import draw_keypoints


@dataclass(frozen=True)
class OverlayOptions:
    """What :func:`render_overlay` draws.

    Attributes:
        show_boxes: boxes with instance number (and score for predictions).
        show_keypoints: skeletons (GT visibility styles; predictions above ``kp_threshold``).
        show_parts, show_u, show_v: DensePose fills (part colours, U map, V map), blended in
            that order with ``opacity``; ground-truth points are coloured by part, else U, else V.
        show_contours: U and V iso-lines (``contour_levels`` bins) inside each part.
        opacity: 0..1 weight of the DensePose layers (0 = no DensePose drawn).
        kp_threshold: keypoint score needed to draw a predicted keypoint.
        score_threshold: instance score needed to draw a prediction at all (GT: all drawn).
    """

    show_boxes: bool = True
    show_keypoints: bool = True
    show_parts: bool = True
    show_u: bool = False
    show_v: bool = False
    show_contours: bool = False
    opacity: float = 0.6
    kp_threshold: float = 0.05
    score_threshold: float = 0.5
    contour_levels: int = 10

    def all_layers(self) -> OverlayOptions:
        """A copy with every layer switched on (used by the benchmark)."""
        return replace(
            self, show_boxes=True, show_keypoints=True, show_parts=True, show_u=True, show_v=True, show_contours=True
        )


def to_rgb(image_bgr: np.ndarray) -> np.ndarray:
    """BGR uint8 (H, W, 3) -> new C-contiguous RGB uint8 (H, W, 3) array."""
    return cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)


def render_overlay(image_bgr: np.ndarray, pred: FramePrediction, options: OverlayOptions | None = None) -> np.ndarray:
    """Draw ``pred`` over a copy of ``image_bgr`` and return it.

    Args:
        image_bgr: uint8 (H, W, 3) BGR (or (H, W) grey, converted). Not modified.
        pred: prediction or ground truth; rescaled when ``pred.image_size`` != (H, W).
        options: layers and thresholds (default :class:`OverlayOptions()`).
    Returns:
        uint8 (H, W, 3) BGR. Drawing order: DensePose layers (lowest score first), GT points,
        boxes, keypoints.
    """
    opt = options or OverlayOptions()
    out = cv2.cvtColor(image_bgr, cv2.COLOR_GRAY2BGR) if image_bgr.ndim == 2 else np.array(image_bgr, dtype=np.uint8)
    pred = scale_prediction(pred, out.shape[:2])
    gt = pred.is_ground_truth
    n = len(pred)
    keep = np.ones(n, dtype=bool) if gt else pred.scores >= opt.score_threshold
    order = [int(k) for k in np.argsort(pred.scores, kind="stable") if keep[k]]
    dp_on = opt.opacity > 0 and (opt.show_parts or opt.show_u or opt.show_v or opt.show_contours)
    if dp_on and pred.densepose is not None:
        for k in order:
            res = pred.densepose[k]
            if res is not None:
                draw_densepose(
                    out, res, parts=opt.show_parts, u=opt.show_u, v=opt.show_v,
                    contours=opt.show_contours, opacity=opt.opacity, levels=opt.contour_levels,
                )  # fmt: skip
    points = pred.extra.get(DP_POINTS_KEY)
    if points and opt.opacity > 0 and (opt.show_parts or opt.show_u or opt.show_v):
        color_by = "part" if opt.show_parts else ("u" if opt.show_u else "v")
        for k in order:
            if k < len(points) and points[k] is not None:
                draw_densepose_points(out, points[k], color_by=color_by, opacity=min(1.0, opt.opacity + 0.3))
    idx = np.asarray(order, dtype=np.intp)
    if opt.show_boxes and len(idx):
        draw_boxes(
            out, pred.boxes[idx], None if gt else pred.scores[idx], indices=idx,
            color=GT_BOX_BGR if gt else PRED_BOX_BGR,
        )  # fmt: skip
    if opt.show_keypoints and pred.keypoints is not None and len(idx):
        draw_keypoints(out, pred.keypoints[idx], is_ground_truth=gt, threshold=opt.kp_threshold)
    return out


def side_by_side(
    left: np.ndarray, right: np.ndarray, labels: Sequence[str] = ("ground truth", "prediction"), gap: int = 4
) -> np.ndarray:
    """Two BGR uint8 images next to each other with a caption bar above each.

    ``right`` is resized to the height of ``left`` (aspect kept) when they differ.
    Returns uint8 (bar + H, W_left + gap + W_right, 3) BGR.
    """
    if right.shape[0] != left.shape[0]:
        w = max(1, round(right.shape[1] * left.shape[0] / right.shape[0]))
        right = cv2.resize(right, (w, left.shape[0]), interpolation=cv2.INTER_AREA)
    h = left.shape[0]
    bar = 24
    out = np.zeros((h + bar, left.shape[1] + gap + right.shape[1], 3), dtype=np.uint8)
    out[bar:, : left.shape[1]] = left
    out[bar:, left.shape[1] + gap :] = right
    for x0, text in ((0, labels[0]), (left.shape[1] + gap, labels[1])):
        cv2.putText(out, str(text), (x0 + 6, bar - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def ground_truth_frame(record: Mapping[str, Any]) -> FramePrediction:
    """Ground truth of a detectron2 dataset dict as a FramePrediction (``is_ground_truth=True``).

    Boxes become XYXY_ABS, keypoints (N, 17, 3) keep COCO visibility (zeros for people without
    keypoints), scores are 1. Crowd annotations are skipped. DensePose points go to
    ``extra["densepose_points"]`` (see :data:`DP_POINTS_KEY`); ``densepose`` stays None since
    ground truth has no dense labels.
    """
    anns = [a for a in record.get("annotations", []) if not a.get("iscrowd", 0)]
    size = (int(record["height"]), int(record["width"]))
    if not anns:
        return replace(FramePrediction.empty(size), is_ground_truth=True)
    boxes = np.stack([annotation_box_xyxy(a) for a in anns])
    kps = None
    if any(a.get("keypoints") for a in anns):
        kps = np.zeros((len(anns), 17, 3), dtype=np.float32)
        for k, a in enumerate(anns):
            if a.get("keypoints"):
                kps[k] = np.asarray(a["keypoints"], dtype=np.float32).reshape(17, 3)
    points = [densepose_points_abs(a, b) for a, b in zip(anns, boxes)]
    extra = {DP_POINTS_KEY: points} if any(p is not None for p in points) else {}
    return FramePrediction(size, boxes, np.ones(len(anns), np.float32), kps, None, True, extra)

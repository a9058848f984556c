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

from app.backend.structures.densepose import DensePoseResult
from app.backend.structures.prediction import FramePrediction
from app.backend.vis.boxes import draw_boxes
from app.backend.vis.colors import GT_BOX_BGR, PRED_BOX_BGR
from app.backend.vis.densepose import draw_densepose, draw_densepose_points
from app.backend.vis.keypoints import draw_keypoints

#: Key of ``FramePrediction.extra`` holding annotated DensePose points of ground truth:
#: a list (one per instance) of None or a dict of float arrays ``x``, ``y`` (absolute image
#: pixels), ``i`` (parts 1..24), ``u``, ``v`` (0..1).
DP_POINTS_KEY = "densepose_points"


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


def _box_xyxy(ann: Mapping[str, Any]) -> np.ndarray:
    box = np.asarray(ann["bbox"], dtype=np.float32).reshape(4)
    mode = int(ann.get("bbox_mode", 1))  # detectron2 BoxMode: 0 XYXY_ABS, 1 XYWH_ABS
    if mode == 1:
        return np.array([box[0], box[1], box[0] + box[2], box[1] + box[3]], dtype=np.float32)
    if mode == 0:
        return box
    raise ValueError(f"unsupported bbox_mode {mode} (expected XYXY_ABS=0 or XYWH_ABS=1)")


def densepose_points_abs(ann: Mapping[str, Any], box_xyxy: np.ndarray) -> dict[str, np.ndarray] | None:
    """Annotated DensePose points of one annotation in absolute pixels, or None when absent.

    ``dp_x``/``dp_y`` are 0..255 relative to the box: x_abs = x0 + dp_x / 256 * box_w.
    """
    if not ann.get("dp_x"):
        return None
    x0, y0, x1, y1 = (float(t) for t in box_xyxy)
    return {
        "x": x0 + np.asarray(ann["dp_x"], dtype=np.float32) / 256.0 * (x1 - x0),
        "y": y0 + np.asarray(ann["dp_y"], dtype=np.float32) / 256.0 * (y1 - y0),
        "i": np.asarray(ann["dp_I"], dtype=np.int64),
        "u": np.asarray(ann["dp_U"], dtype=np.float32),
        "v": np.asarray(ann["dp_V"], dtype=np.float32),
    }


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
    boxes = np.stack([_box_xyxy(a) for a in anns])
    kps = None
    if any(a.get("keypoints") for a in anns):
        kps = np.zeros((len(anns), 17, 3), dtype=np.float32)
        for k, a in enumerate(anns):
            if a.get("keypoints"):
                kps[k] = np.asarray(a["keypoints"], dtype=np.float32).reshape(17, 3)
    points = [densepose_points_abs(a, b) for a, b in zip(anns, boxes)]
    extra = {DP_POINTS_KEY: points} if any(p is not None for p in points) else {}
    return FramePrediction(size, boxes, np.ones(len(anns), np.float32), kps, None, True, extra)

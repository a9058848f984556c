"""Draw DensePose results into BGR images: part colours, U map, V map, IUV contour lines, GT points.

Images are **BGR** uint8 arrays of shape (H, W, 3), modified in place by the ``draw_*``
functions. A :class:`DensePoseResult` holds its labels/UV at box resolution: label pixel
(r, c) covers image pixel (round(y0) + r, round(x0) + c). Only pixels inside the box with a
part label > 0 are touched; work is done on the box region only, with OpenCV lookup tables.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import cv2
import numpy as np

from app.backend.structures.box_grid import box_region
from app.backend.structures.densepose import DensePoseResult
from app.backend.vis.colors import PART_COLORS_BGR, UV_LUT, colorize_parts, colorize_uv


def fit_result_to_box(result: DensePoseResult) -> DensePoseResult:
    """Resample a result so its label grid is (round(box h), round(box w)) pixels.

    Returns the input unchanged when it already is (the normal case); otherwise labels are
    resized with nearest neighbour and U/V bilinearly (used after rescaling boxes to another
    image size).
    """
    x0, y0, x1, y1 = result.box_xyxy
    w, h = max(1, round(x1 - x0)), max(1, round(y1 - y0))
    if result.labels.shape == (h, w):
        return result
    labels = cv2.resize(result.labels, (w, h), interpolation=cv2.INTER_NEAREST)
    uv = np.stack([cv2.resize(result.uv[k], (w, h), interpolation=cv2.INTER_LINEAR) for k in range(2)])
    uv[:, labels == 0] = 0.0
    return DensePoseResult(labels=labels, uv=uv.astype(np.float32), box_xyxy=result.box_xyxy)


def _blend_masked(region: np.ndarray, color: np.ndarray, mask: np.ndarray, opacity: float) -> None:
    """region[mask] = (1 - opacity) * region + opacity * color, in place (uint8 BGR; mask uint8 (h, w))."""
    blended = cv2.addWeighted(region, 1.0 - opacity, color, opacity, 0.0)
    out = cv2.copyTo(blended, mask, region)
    if out is not region:  # OpenCV could not write through the view
        region[...] = out


def contour_levels(labels: np.ndarray, values: np.ndarray, levels: int) -> np.ndarray:
    """Iso-lines of a chart coordinate (U or V) within each part.

    Values are binned as ``floor(value * levels)``; a pixel is on a line when its right or
    lower neighbour lies in the same part (> 0) but in another bin, so lines sit at the
    values k / levels and never follow part borders.

    Args:
        labels: uint8 (h, w) parts 0..24.
        values: float32 (h, w) U or V in 0..1.
        levels: number of bins, 2..255.
    Returns:
        uint8 (h, w): 0 off the lines, else k in 1..levels-1 for a pixel on the line at
        value k / levels (the larger k where two lines cross).
    """
    q = (np.clip(values, 0.0, 0.999999) * levels).astype(np.uint8)
    out = np.zeros(labels.shape, dtype=np.uint8)
    for a, b in (
        ((slice(None), slice(1, None)), (slice(None), slice(None, -1))),
        ((slice(1, None),), (slice(None, -1),)),
    ):
        edge = (labels[a] == labels[b]) & (q[a] != q[b]) & (labels[a] > 0)
        np.maximum(out[b], edge.view(np.uint8) * np.maximum(q[a], q[b]), out=out[b])
    return out


@functools.lru_cache(maxsize=16)
def _level_lut(levels: int) -> np.ndarray:
    """(256, 1, 3) BGR LUT: line level k -> UV colour of the value k / levels."""
    idx = np.clip(np.round(np.arange(256) * 255.0 / levels), 0, 255).astype(np.intp)
    lut = np.ascontiguousarray(UV_LUT[idx])
    lut.setflags(write=False)
    return lut


def draw_densepose(
    image: np.ndarray,
    result: DensePoseResult,
    *,
    parts: bool = True,
    u: bool = False,
    v: bool = False,
    contours: bool = False,
    opacity: float = 0.6,
    levels: int = 10,
) -> np.ndarray:
    """Composite one instance's DensePose layers into ``image`` (BGR uint8 (H, W, 3), in place).

    Layers are blended in this order, each with ``opacity`` and only on pixels with a part:
    part colours (:data:`PART_COLORS_BGR`), the U map, the V map (both through
    :data:`UV_COLORMAP`), then U and V iso-lines (``levels`` bins each) coloured by their value
    with twice the opacity (capped at 1), so lines stay visible over the fills.
    ``opacity`` 0 leaves the image unchanged. Returns ``image``.
    """
    if opacity <= 0.0 or not (parts or u or v or contours):
        return image
    opacity = min(1.0, float(opacity))
    result = fit_result_to_box(result)
    reg = box_region(result.box_xyxy, result.labels.shape, image.shape[:2])
    if reg is None:
        return image
    img_sl, grid_sl = reg
    region = image[img_sl]
    labels = result.labels[grid_sl]
    mask = (labels > 0).view(np.uint8)
    if not mask.any():
        return image
    if parts:
        _blend_masked(region, colorize_parts(labels), mask, opacity)
    for k, on in ((0, u), (1, v)):
        if on:
            _blend_masked(region, colorize_uv(result.uv[k][grid_sl]), mask, opacity)
    if contours:
        lv = np.maximum(*(contour_levels(labels, result.uv[k][grid_sl], levels) for k in range(2)))
        line = (lv > 0).view(np.uint8)
        if line.any():
            _blend_masked(region, cv2.applyColorMap(lv, _level_lut(levels)), line, min(1.0, 2.0 * opacity))
    return image


def draw_densepose_points(
    image: np.ndarray,
    points: Mapping[str, np.ndarray],
    *,
    color_by: str = "part",
    radius: int = 2,
    opacity: float = 1.0,
) -> np.ndarray:
    """Draw annotated DensePose points (ground truth) into ``image`` (BGR uint8, in place).

    Args:
        points: ``x``, ``y`` float arrays (K,) in absolute image pixels, ``i`` int (K,) parts
            1..24, ``u``, ``v`` float (K,) in 0..1 (as made by :func:`ground_truth_frame`).
        color_by: "part" (:data:`PART_COLORS_BGR`), "u" or "v" (UV colour map).
        opacity: 0 draws nothing; below 1 the dots are blended.
    """
    if opacity <= 0.0 or len(points["x"]) == 0:
        return image
    if color_by == "part":
        colors = PART_COLORS_BGR[np.clip(np.asarray(points["i"], dtype=np.intp), 0, 24)]
    elif color_by in ("u", "v"):
        colors = colorize_uv(np.asarray(points[color_by], dtype=np.float32).reshape(-1, 1))[:, 0]
    else:
        raise ValueError(f"color_by must be 'part', 'u' or 'v', not {color_by!r}")
    target = image if opacity >= 1.0 else image.copy()
    for x, y, c in zip(np.asarray(points["x"]), np.asarray(points["y"]), colors):
        cv2.circle(target, (round(x), round(y)), radius, tuple(int(t) for t in c), -1, cv2.LINE_AA)
    if target is not image:
        cv2.addWeighted(target, opacity, image, 1.0 - opacity, 0.0, dst=image)
    return image

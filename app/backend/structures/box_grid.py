"""Box-relative coordinates: DensePose's 256-cell grid over a person's box, and other box grids.

COCO-DensePose stores a person's points (``dp_x``, ``dp_y``) and masks (``dp_masks``) on a grid
of :data:`DP_GRID` x :data:`DP_GRID` cells spanning the annotation's box::

    x_abs = x0 + dp_x / 256 * box_w        dp_x = (x_abs - x0) / box_w * 256

so ``dp_x`` lies in 0..256 (the centre of cell k is k + 0.5; annotation tools write 0..255).
A :class:`~app.backend.structures.densepose.DensePoseResult`'s labels are another grid over its
box, one cell per pixel (``grid_hw`` = its labels' shape).

The conversions are plain arithmetic, so they take floats, numpy arrays and torch tensors alike.
A box is XYXY_ABS (x0, y0, x1, y1), or XYWH_ABS (x0, y0, w, h) with ``xywh=True``; its four
values may be 0-d tensors (e.g. one row of a ``Boxes`` tensor).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

#: Cells per side of the COCO-DensePose box grid (points and ``dp_masks``).
DP_GRID = 256

#: detectron2 ``BoxMode`` values of dataset dicts.
XYXY_ABS, XYWH_ABS = 0, 1


def _origin_size(box: Sequence[Any], xywh: bool) -> tuple[Any, Any, Any, Any]:
    x0, y0, a, b = box
    return (x0, y0, a, b) if xywh else (x0, y0, a - x0, b - y0)


def grid_to_abs(gx: Any, gy: Any, box: Sequence[Any], grid_hw: tuple[int, int] = (DP_GRID, DP_GRID), *, xywh: bool = False):
    """Absolute pixel positions ``(x, y)`` of positions ``gx``, ``gy`` on a (h, w)-cell grid over ``box``."""
    x0, y0, bw, bh = _origin_size(box, xywh)
    h, w = grid_hw
    return x0 + gx / w * bw, y0 + gy / h * bh


def abs_to_grid(x: Any, y: Any, box: Sequence[Any], grid_hw: tuple[int, int] = (DP_GRID, DP_GRID), *, xywh: bool = False):
    """Positions ``(gx, gy)`` of absolute pixels on a (h, w)-cell grid over ``box`` (not clipped;
    box sides under 1e-6 count as 1e-6)."""
    x0, y0, bw, bh = _origin_size(box, xywh)
    h, w = grid_hw
    return (x - x0) / _at_least(bw) * w, (y - y0) / _at_least(bh) * h


def cell_centres_on_dp_grid(rows: Any, cols: Any, grid_hw: tuple[int, int]):
    """DensePose-grid positions ``(dp_x, dp_y)`` of the centres of cells (row, col) of a (h, w)-cell
    grid over the same box (e.g. pixels of a result's labels or of a box-sized crop)."""
    h, w = grid_hw
    return (cols + 0.5) * DP_GRID / w, (rows + 0.5) * DP_GRID / h


def _at_least(side: Any, eps: float = 1e-6) -> Any:
    return side.clamp(min=eps) if hasattr(side, "clamp") else np.maximum(side, eps)


def annotation_box_xyxy(ann: Mapping[str, Any]) -> np.ndarray:
    """float32 (4,) XYXY_ABS box of a dataset dict's annotation (``bbox`` in ``bbox_mode``, default XYWH_ABS)."""
    box = np.asarray(ann["bbox"], dtype=np.float32).reshape(4)
    mode = int(ann.get("bbox_mode", XYWH_ABS))
    if mode == XYWH_ABS:
        return np.array([box[0], box[1], box[0] + box[2], box[1] + box[3]], dtype=np.float32)
    if mode == XYXY_ABS:
        return box
    raise ValueError(f"unsupported bbox_mode {mode} (expected XYXY_ABS=0 or XYWH_ABS=1)")


def densepose_points_abs(ann: Mapping[str, Any], box_xyxy: Sequence[float] | None = None) -> dict[str, np.ndarray] | None:
    """An annotation's DensePose points in absolute pixels, or None when it has none.

    Returns float arrays ``x``, ``y`` (pixels), ``u``, ``v`` (0..1) and int ``i`` (parts 1..24).
    ``box_xyxy`` defaults to :func:`annotation_box_xyxy` of ``ann``.
    """
    if not ann.get("dp_x"):
        return None
    x0, y0, x1, y1 = (float(t) for t in (annotation_box_xyxy(ann) if box_xyxy is None else box_xyxy))
    x, y = grid_to_abs(np.asarray(ann["dp_x"], np.float32), np.asarray(ann["dp_y"], np.float32), (x0, y0, x1, y1))
    return {
        "x": x,
        "y": y,
        "i": np.asarray(ann["dp_I"], dtype=np.int64),
        "u": np.asarray(ann["dp_U"], dtype=np.float32),
        "v": np.asarray(ann["dp_V"], dtype=np.float32),
    }


def box_region(box_xyxy: Sequence[float], grid_hw: tuple[int, int], image_hw: tuple[int, int]):
    """Overlap of a box-resolution grid (one cell per pixel, top-left at the box's rounded corner) with the image.

    Returns ``(image_slices, grid_slices)`` (each a (rows, cols) pair of slices) or None when
    the box lies outside the image.
    """
    gh, gw = grid_hw
    ih, iw = image_hw
    ix0, iy0 = round(box_xyxy[0]), round(box_xyxy[1])
    cx0, cy0 = max(0, -ix0), max(0, -iy0)
    cx1, cy1 = min(gw, iw - ix0), min(gh, ih - iy0)
    if cx1 <= cx0 or cy1 <= cy0:
        return None
    img_sl = (slice(iy0 + cy0, iy0 + cy1), slice(ix0 + cx0, ix0 + cx1))
    grid_sl = (slice(cy0, cy1), slice(cx0, cx1))
    return img_sl, grid_sl

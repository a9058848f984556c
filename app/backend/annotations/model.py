"""Qt-free annotation objects: one person with box, 17 COCO keypoints and DensePose points.

Coordinates follow COCO / COCO-DensePose:
- ``bbox`` is XYWH_ABS in pixels of the image the annotation belongs to;
- ``keypoints`` is 17 x (x, y, v) in absolute pixels, ``v`` in {0, 1, 2}
  (0 = not labelled, 1 = labelled but hidden, 2 = visible);
- DensePose points have ``x``, ``y`` box-relative on the 0..255 grid of the box
  (``x_abs = bbox_x + x / 256 * bbox_w``), fine part ``i`` in 1..24, chart ``u``, ``v`` in 0..1.

A :class:`Person` converts to and from one COCO annotation dict; fields it does not
edit (``dp_masks``, ``segmentation``, ``iscrowd``, custom keys) are kept untouched in
``extra`` so a save writes them back exactly.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.backend.data.rle import RleError, decode_dp_masks, encode_dp_masks
from app.backend.structures.body import NUM_KEYPOINTS, NUM_PARTS
from app.backend.structures.box_grid import DP_GRID, abs_to_grid, grid_to_abs

#: Keys a Person owns; everything else in an annotation dict goes to ``Person.extra``.
OWNED_KEYS = ("id", "image_id", "bbox", "keypoints", "num_keypoints", "dp_x", "dp_y", "dp_I", "dp_U", "dp_V")
DP_KEYS = ("dp_x", "dp_y", "dp_I", "dp_U", "dp_V")


class AnnotationValidationError(ValueError):
    """An annotation violates the COCO-DensePose conventions (message names the field)."""


@dataclass
class DensePosePoint:
    """One DensePose point: box-relative ``x``, ``y`` in 0..255, part ``i`` in 1..24, ``u``, ``v`` in 0..1."""

    x: float
    y: float
    i: int
    u: float
    v: float

    def validate(self) -> None:
        for name in ("x", "y", "u", "v"):
            if not math.isfinite(getattr(self, name)):
                raise AnnotationValidationError(f"DensePose {name} is not a finite number")
        if not 0.0 <= self.x <= DP_GRID or not 0.0 <= self.y <= DP_GRID:
            raise AnnotationValidationError(f"DensePose point ({self.x}, {self.y}) outside the box grid 0..{DP_GRID}")
        if not 1 <= int(self.i) <= NUM_PARTS or int(self.i) != self.i:
            raise AnnotationValidationError(f"DensePose part index {self.i} not in 1..{NUM_PARTS}")
        if not 0.0 <= self.u <= 1.0 or not 0.0 <= self.v <= 1.0:
            raise AnnotationValidationError(f"DensePose U/V ({self.u}, {self.v}) outside 0..1")


@dataclass
class Person:
    """One annotated person (a COCO annotation of category ``person``).

    Attributes:
        ann_id: the annotation ``id`` (unique in the file).
        image_id: the ``image_id`` it belongs to.
        bbox: [x, y, w, h] XYWH_ABS pixels.
        keypoints: 51 floats (17 x (x, y, v)) or None when the annotation has none.
        dp: list of DensePose points, or None when the annotation has no ``dp_*`` fields.
        extra: every other key of the annotation dict, kept as loaded.
    """

    ann_id: int | str
    image_id: int | str
    bbox: list[float]
    keypoints: list[float] | None = None
    dp: list[DensePosePoint] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    # -- conversion ---------------------------------------------------------------
    @classmethod
    def from_ann(cls, ann: dict[str, Any]) -> Person:
        """Build from a COCO annotation dict (not validated; call :meth:`validate`).

        A value that is not a number (``null`` where a file had NaN) reads as NaN (a part index
        as 0), so the person can be shown and :meth:`validate` names the field.
        """
        dp = None
        if all(isinstance(ann.get(k), list) for k in DP_KEYS):
            dp = [
                DensePosePoint(_float(x), _float(y), _int(i), _float(u), _float(v))
                for x, y, i, u, v in zip(ann["dp_x"], ann["dp_y"], ann["dp_I"], ann["dp_U"], ann["dp_V"])
            ]
        kps = ann.get("keypoints")
        box = ann.get("bbox")
        return cls(
            ann_id=ann.get("id", -1),
            image_id=ann.get("image_id", -1),
            bbox=[_float(b) for b in box] if isinstance(box, list) else [0.0, 0.0, 0.0, 0.0],
            keypoints=[_float(k) for k in kps] if isinstance(kps, list) else None,
            dp=dp,
            extra={k: copy.deepcopy(v) for k, v in ann.items() if k not in OWNED_KEYS},
        )

    def to_ann(self) -> dict[str, Any]:
        """The COCO annotation dict (JSON-serialisable; integral floats written as ints)."""
        ann: dict[str, Any] = {"id": self.ann_id, "image_id": self.image_id}
        ann.update(copy.deepcopy(self.extra))
        ann["bbox"] = [_num(b) for b in self.bbox]
        if self.keypoints is not None:
            ann["keypoints"] = [_num(k) for k in self.keypoints]
            ann["num_keypoints"] = sum(1 for k in range(NUM_KEYPOINTS) if self.keypoints[3 * k + 2] > 0)
        if self.dp is not None:
            ann["dp_x"] = [_num(p.x) for p in self.dp]
            ann["dp_y"] = [_num(p.y) for p in self.dp]
            ann["dp_I"] = [int(p.i) for p in self.dp]
            ann["dp_U"] = [_num(p.u) for p in self.dp]
            ann["dp_V"] = [_num(p.v) for p in self.dp]
        return ann

    def copy(self) -> Person:
        return Person(
            ann_id=self.ann_id,
            image_id=self.image_id,
            bbox=list(self.bbox),
            keypoints=None if self.keypoints is None else list(self.keypoints),
            dp=None if self.dp is None else [DensePosePoint(p.x, p.y, p.i, p.u, p.v) for p in self.dp],
            extra=copy.deepcopy(self.extra),
        )

    # -- geometry helpers -----------------------------------------------------------
    def set_bbox(self, x: float, y: float, w: float, h: float) -> None:
        """Set the box (XYWH_ABS); a stored ``area`` follows the box when there is no segmentation."""
        self.bbox = [round(float(x), 2), round(float(y), 2), round(max(float(w), 0.0), 2), round(max(float(h), 0.0), 2)]
        if "area" in self.extra and not self.extra.get("segmentation"):
            self.extra["area"] = _num(self.bbox[2] * self.bbox[3])

    def set_bbox_keep_densepose(self, x: float, y: float, w: float, h: float) -> int:
        """Set the box (XYWH_ABS) but keep the DensePose points and the coarse masks (``dp_masks``)
        where they are on the image (with :meth:`set_bbox` they move and stretch with the box).

        A point the new box leaves out moves to its edge; mask cells it leaves out are dropped.
        Masks that do not decode are left as they are (they then follow the box).

        Returns:
            The number of points that were outside the new box.
        """
        old = list(self.bbox)
        where = [self.dp_to_abs(p) for p in self.dp or ()]
        self.set_bbox(x, y, w, h)
        x0, y0, bw, bh = self.bbox
        outside = 0
        for p, (ax, ay) in zip(self.dp or (), where):
            outside += not (x0 <= ax <= x0 + bw and y0 <= ay <= y0 + bh)
            p.x, p.y = self.abs_to_dp(ax, ay)  # clamped to the box
        masks = self.extra.get("dp_masks")
        if masks and old[2] > 0 and old[3] > 0:
            try:
                segm = decode_dp_masks(masks)
            except RleError:
                return outside
            self.extra["dp_masks"] = encode_dp_masks(_regrid(segm, old, self.bbox))
        return outside

    def keypoint(self, k: int) -> tuple[float, float, int]:
        """(x, y, v) of keypoint ``k`` (0-based), v = 0 when the person has no keypoints."""
        if self.keypoints is None:
            return 0.0, 0.0, 0
        return self.keypoints[3 * k], self.keypoints[3 * k + 1], int(self.keypoints[3 * k + 2])

    def set_keypoint(self, k: int, x: float, y: float, v: int) -> None:
        if self.keypoints is None:
            self.keypoints = [0.0] * (3 * NUM_KEYPOINTS)
        self.keypoints[3 * k : 3 * k + 3] = [round(float(x), 2), round(float(y), 2), float(v)]

    def dp_to_abs(self, p: DensePosePoint) -> tuple[float, float]:
        """Absolute pixel position of a box-relative DensePose point."""
        return grid_to_abs(p.x, p.y, self.bbox, xywh=True)

    def abs_to_dp(self, x: float, y: float) -> tuple[float, float]:
        """Box-relative 0..255 grid position of an absolute pixel position (clamped to the box)."""
        _, _, w, h = self.bbox
        rx, ry = abs_to_grid(x, y, self.bbox, xywh=True)
        rx, ry = (rx if w > 0 else 0.0), (ry if h > 0 else 0.0)
        top = DP_GRID - 1.0
        return round(min(max(rx, 0.0), top), 3), round(min(max(ry, 0.0), top), 3)

    # -- validation -------------------------------------------------------------------
    def validate(self) -> None:
        """Raise :class:`AnnotationValidationError` naming the first broken field."""
        if len(self.bbox) != 4 or not all(math.isfinite(b) for b in self.bbox):
            raise AnnotationValidationError(f"annotation {self.ann_id}: bbox must be 4 finite numbers")
        if self.bbox[2] < 0 or self.bbox[3] < 0:
            raise AnnotationValidationError(f"annotation {self.ann_id}: bbox has negative width or height")
        if self.keypoints is not None:
            if len(self.keypoints) != 3 * NUM_KEYPOINTS:
                raise AnnotationValidationError(
                    f"annotation {self.ann_id}: {len(self.keypoints)} keypoint values, expected {3 * NUM_KEYPOINTS}"
                )
            for k in range(NUM_KEYPOINTS):
                if self.keypoints[3 * k + 2] not in (0, 1, 2):
                    raise AnnotationValidationError(
                        f"annotation {self.ann_id}: keypoint {k} visibility {self.keypoints[3 * k + 2]} not in 0/1/2"
                    )
        for p in self.dp or ():
            try:
                p.validate()
            except AnnotationValidationError as exc:
                raise AnnotationValidationError(f"annotation {self.ann_id}: {exc}") from None


def _regrid(segm: np.ndarray, old_box: list[float], new_box: list[float]) -> np.ndarray:
    """Labels (DP_GRID, DP_GRID) over ``old_box`` -> the same image pixels' labels over ``new_box``
    (XYWH_ABS; cells of the new box outside the old one get 0)."""
    centres = np.arange(DP_GRID) + 0.5
    ax, ay = grid_to_abs(centres, centres, new_box, xywh=True)  # image x of each column, y of each row
    gx, gy = abs_to_grid(ax, ay, old_box, xywh=True)
    cols, rows = np.floor(gx).astype(np.int64), np.floor(gy).astype(np.int64)
    keep_c, keep_r = (cols >= 0) & (cols < DP_GRID), (rows >= 0) & (rows < DP_GRID)
    out = np.zeros_like(segm)
    out[np.ix_(keep_r, keep_c)] = segm[np.ix_(rows[keep_r], cols[keep_c])]
    return out


def _float(v: Any) -> float:
    return float(v) if isinstance(v, (int, float)) else math.nan


def _int(v: Any) -> int:
    return int(v) if isinstance(v, (int, float)) and math.isfinite(v) else 0


def _num(x: float) -> float | int:
    """Write integral floats as ints (as COCO files do); other values unchanged (no precision loss)."""
    xf = float(x)
    if xf.is_integer() and abs(xf) < 2**53:
        return int(xf)
    return xf

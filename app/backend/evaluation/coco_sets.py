"""COCO-format ground truth and detections built in memory from dataset dicts and FramePredictions.

Coordinates: boxes XYWH_ABS in COCO anns; keypoints as (x, y, v-or-score) in the same
continuous pixel space as the dataset dicts (no +-0.5 shift on either side, so ground
truth turned into a prediction scores exactly 100); masks are COCO RLEs of the full image.

Person masks for the DensePose mask AP:
- ground truth: the union of the 14 ``dp_masks`` (256x256 on the box) resized (nearest) to
  the box size in pixels and pasted at the box's rounded top-left corner;
- prediction: ``DensePoseResult.labels > 0`` (already at box size) pasted the same way.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import cv2
import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from app.backend.data.rle import decode_dp_masks
from app.backend.structures.body import PERSON_CATEGORY_ID, person_category
from app.backend.structures.box_grid import annotation_box_xyxy, box_region, densepose_points_abs
from app.backend.structures.densepose import DensePoseResult

CATEGORIES = [person_category()]


def paste_mask(mask: np.ndarray, box_xyxy: Sequence[float], image_hw: tuple[int, int]) -> np.ndarray:
    """Paste a box-grid mask into an empty image.

    Args:
        mask: (h, w) mask on the box grid; resized (nearest) to (round(box h), round(box w))
            pixels when it has another size (e.g. the 256x256 ``dp_masks`` grid).
        box_xyxy: the box in absolute pixels.
        image_hw: (H, W) of the image.
    Returns:
        uint8 (H, W) 0/1, Fortran-ordered for pycocotools.
    """
    x0, y0, x1, y1 = (float(t) for t in box_xyxy)
    w, h = max(1, round(x1 - x0)), max(1, round(y1 - y0))
    m = (np.asarray(mask) > 0).astype(np.uint8)
    if m.shape != (h, w):
        m = cv2.resize(m, (w, h), interpolation=cv2.INTER_NEAREST)
    out = np.zeros(image_hw, dtype=np.uint8, order="F")
    reg = box_region((x0, y0, x1, y1), (h, w), image_hw)
    if reg is not None:
        out[reg[0]] = m[reg[1]]
    return out


def encode(mask: np.ndarray) -> dict:
    """uint8 (H, W) -> compressed COCO RLE."""
    return mask_utils.encode(np.asfortranarray(mask, dtype=np.uint8))


def _xywh(box: np.ndarray) -> list[float]:
    return [float(box[0]), float(box[1]), float(box[2] - box[0]), float(box[3] - box[1])]


def gt_annotations(record: Mapping[str, Any]) -> list[dict]:
    """COCO ground-truth anns of one image with every field the tasks need.

    Extra (non-COCO) fields: ``has_dp_mask``, ``mask_rle`` (person mask or the box when
    ``dp_masks`` is absent), ``dp_points`` (absolute points dict or None).
    ``area`` is the person-mask area when ``dp_masks`` is present, else the box area.
    """
    hw = (int(record["height"]), int(record["width"]))
    anns = []
    for a in record.get("annotations", []):
        box = annotation_box_xyxy(a)
        segm = None
        if a.get("dp_masks"):
            segm = decode_dp_masks(list(a["dp_masks"]))
        if segm is not None and segm.any():
            mask = paste_mask(segm, box, hw)
        else:
            segm = None
            mask = paste_mask(np.ones((1, 1), np.uint8), box, hw)
        kps = np.asarray(a.get("keypoints") or np.zeros(51), dtype=np.float64).reshape(-1)
        xywh = _xywh(box)
        anns.append(
            {
                "image_id": record["image_id"],
                "category_id": PERSON_CATEGORY_ID,
                "bbox": xywh,
                "area": float(mask.sum()) if segm is not None else xywh[2] * xywh[3],
                "iscrowd": int(a.get("iscrowd", 0)),
                "keypoints": kps.tolist(),
                "num_keypoints": int((kps[2::3] > 0).sum()),
                "has_dp_mask": segm is not None,
                "mask_rle": encode(mask),
                "dp_points": densepose_points_abs(a, box),
            }
        )
    return anns


def dt_annotations(image_id: Any, pred, image_hw: tuple[int, int]) -> list[dict]:
    """COCO detection anns of one FramePrediction (already at the image size ``image_hw``).

    Extra fields: ``densepose`` (DensePoseResult or None), ``mask_rle`` (None without DensePose).
    """
    anns = []
    for k in range(len(pred)):
        box = pred.boxes[k]
        res: DensePoseResult | None = None if pred.densepose is None else pred.densepose[k]
        kps = None if pred.keypoints is None else pred.keypoints[k].astype(np.float64).reshape(-1).tolist()
        xywh = _xywh(box)
        anns.append(
            {
                "image_id": image_id,
                "category_id": PERSON_CATEGORY_ID,
                "bbox": xywh,
                "area": xywh[2] * xywh[3],
                "score": float(pred.scores[k]),
                "keypoints": kps,
                "densepose": res,
                "mask_rle": None if res is None else encode(paste_mask(res.labels, res.box_xyxy, image_hw)),
            }
        )
    return anns


class SimilarityCOCOeval(COCOeval):
    """COCOeval whose detection-to-truth similarity comes from a function (GPS, GPSm).

    ``similarity(dt, gt) -> float`` replaces the IoU; matching, thresholds 0.50:0.95,
    area ranges, crowd handling and AP averaging stay COCO's (``iouType='segm'``).
    """

    def __init__(self, coco_gt: COCO, coco_dt: COCO, similarity: Callable[[dict, dict], float]):
        super().__init__(coco_gt, coco_dt, "segm")
        self._similarity = similarity

    def computeIoU(self, imgId, catId):
        gts = self._gts[imgId, catId]
        dts = self._dts[imgId, catId]
        if not gts or not dts:
            return []
        order = np.argsort([-d["score"] for d in dts], kind="mergesort")
        dts = [dts[i] for i in order][: self.params.maxDets[-1]]
        return np.array([[self._similarity(d, g) for g in gts] for d in dts], dtype=np.float64)


def run_cocoeval(
    images: list[dict],
    gt_anns: list[dict],
    dt_anns: list[dict],
    iou_type: str,
    similarity: Callable[[dict, dict], float] | None = None,
) -> np.ndarray:
    """Run pycocotools on in-memory anns; returns ``COCOeval.stats`` (-1 where undefined).

    ``images``: [{"id", "height", "width"}]; ``iou_type``: "bbox", "segm" or "keypoints".
    Ids are (re)assigned here; pycocotools' console output is swallowed.
    """
    for i, a in enumerate(gt_anns, 1):
        a["id"] = i
    for i, a in enumerate(dt_anns, 1):
        a["id"] = i
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {"images": images, "annotations": gt_anns, "categories": CATEGORIES}
        gt.createIndex()
        dt = COCO()
        dt.dataset = {"images": images, "annotations": dt_anns, "categories": CATEGORIES}
        dt.createIndex()
        ev = SimilarityCOCOeval(gt, dt, similarity) if similarity is not None else COCOeval(gt, dt, iou_type)
        ev.params.imgIds = [im["id"] for im in images]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats, dtype=np.float64)

"""Offline COCO and DensePose metrics of FramePredictions against detectron2 dataset dicts.

Result keys (all percentages except ``dp_uv_err``; NaN where undefined, e.g. no ground truth):

- ``bbox``: ``AP, AP50, AP75, APs, APm, APl`` — COCO box AP (pycocotools).
- ``keypoints``: ``AP, AP50, AP75, APm, APl`` — COCO keypoint AP with OKS (COCO sigmas).
- ``densepose``:
  - ``dp_mask_AP, dp_mask_AP50, dp_mask_AP75, dp_mask_APs, dp_mask_APm, dp_mask_APl`` — COCO
    mask AP (``iouType='segm'``) of the person mask (predicted labels > 0 vs the union of the
    GT ``dp_masks``); persons without ``dp_masks`` are ignore regions;
  - ``dp_part_acc`` — % of annotated GT points whose predicted fine part at that pixel equals
    ``dp_I``, over GT persons matched to a detection of the same image (box IoU >= 0.5, greedy
    by score; a point predicted as background counts as wrong);
  - ``dp_uv_err`` — mean Euclidean (U, V) distance (chart units, 0..sqrt 2) between
    prediction and annotation at the correctly classified points;
  - ``dp_match_rate`` — % of DensePose-annotated GT persons matched to a detection;
  - ``dp_num_points`` — number of annotated points evaluated for ``dp_part_acc``;
  - only with a geodesic table: ``GPS_AP, GPS_AP50, GPS_AP75, GPS_APm, GPS_APl`` (COCO AP with
    the per-person GPS = mean over GT points of exp(-g^2 / (2 * 0.255^2)) as similarity) and
    the same five for ``GPSm_*`` (similarity sqrt(GPS * mask IoU)).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

from app.backend.evaluation.coco_sets import dt_annotations, gt_annotations, run_cocoeval
from app.backend.evaluation.geodesic import GPS_KAPPA, GeodesicTable
from app.backend.structures.box_grid import abs_to_grid
from app.backend.structures.densepose import DensePoseResult
from app.backend.structures.prediction import FramePrediction, scale_prediction

BOX_NAMES = ("AP", "AP50", "AP75", "APs", "APm", "APl")
KEYPOINT_NAMES_ = ("AP", "AP50", "AP75", "APm", "APl")
GPS_NAMES = ("AP", "AP50", "AP75", "APm", "APl")
#: COCOeval.stats positions of the names above (segm/bbox stats: 0..5; keypoints: 0..4).
_BOX_IDX = (0, 1, 2, 3, 4, 5)
_GPS_IDX = (0, 1, 2, 4, 5)
_KP_IDX = (0, 1, 2, 3, 4)


def _pct(stats: np.ndarray, idx: Sequence[int], names: Sequence[str], prefix: str = "") -> dict[str, float]:
    return {prefix + n: (float(stats[i]) * 100.0 if stats[i] >= 0 else math.nan) for n, i in zip(names, idx)}


def point_cells(box_xyxy, grid_hw: tuple[int, int], x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) int arrays of absolute pixels ``x``, ``y`` on a box grid of ``grid_hw`` cells."""
    box = tuple(float(t) for t in box_xyxy)
    gx, gy = abs_to_grid(np.asarray(x, np.float64), np.asarray(y, np.float64), box, grid_hw)
    return np.floor(gy).astype(np.int64), np.floor(gx).astype(np.int64)


def sample_result(res: DensePoseResult | None, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Predicted (part int (K,), uv float (K, 2)) at absolute pixels ``x``, ``y``; part 0 off the box.

    Pixel (x, y) falls in label cell col = floor((x - x0) * w / box_w), row likewise.
    """
    parts = np.zeros(len(x), dtype=np.int64)
    uv = np.zeros((len(x), 2), dtype=np.float32)
    if res is None or len(x) == 0:
        return parts, uv
    h, w = res.labels.shape
    row, col = point_cells(res.box_xyxy, (h, w), x, y)
    ok = (col >= 0) & (col < w) & (row >= 0) & (row < h)
    parts[ok] = res.labels[row[ok], col[ok]]
    uv[ok, 0] = res.uv[0, row[ok], col[ok]]
    uv[ok, 1] = res.uv[1, row[ok], col[ok]]
    return parts, uv


def _box_iou(a: list[float], b: list[float]) -> float:
    return float(mask_utils.iou([a], [b], [0])[0, 0])


def match_people(gts: list[dict], dts: list[dict], iou_threshold: float = 0.5) -> list[tuple[dict, dict]]:
    """Greedy one-to-one matching within each image, by descending detection score, box IoU >= threshold.

    Only non-crowd GT with DensePose points and detections with a DensePoseResult take part; a
    detection is only ever paired with a person of its own ``image_id``.
    """
    by_image: dict[Any, tuple[list[dict], list[dict]]] = {}
    for g in gts:
        if not g["iscrowd"] and g["dp_points"] is not None:
            by_image.setdefault(g["image_id"], ([], []))[0].append(g)
    for d in dts:
        if d["densepose"] is not None and d["image_id"] in by_image:
            by_image[d["image_id"]][1].append(d)
    pairs = []
    for cand_g, cand_d in by_image.values():
        if not cand_d:
            continue
        cand_d = sorted(cand_d, key=lambda d: -d["score"])
        ious = mask_utils.iou([d["bbox"] for d in cand_d], [g["bbox"] for g in cand_g], [0] * len(cand_g))
        taken = np.zeros(len(cand_g), dtype=bool)
        for i, d in enumerate(cand_d):
            row = np.where(taken, -1.0, ious[i])
            j = int(np.argmax(row))
            if row[j] >= iou_threshold:
                taken[j] = True
                pairs.append((d, cand_g[j]))
    return pairs


def point_metrics(pairs: list[tuple[dict, dict]], num_annotated: int) -> dict[str, float]:
    """``dp_part_acc``, ``dp_uv_err``, ``dp_match_rate``, ``dp_num_points`` over matched pairs."""
    correct = total = 0
    uv_err: list[np.ndarray] = []
    for d, g in pairs:
        pts = g["dp_points"]
        parts, uv = sample_result(d["densepose"], pts["x"], pts["y"])
        ok = parts == pts["i"]
        correct += int(ok.sum())
        total += len(ok)
        gt_uv = np.stack([pts["u"], pts["v"]], axis=1)
        uv_err.append(np.linalg.norm(uv[ok] - gt_uv[ok], axis=1))
    errs = np.concatenate(uv_err) if uv_err else np.zeros(0)
    return {
        "dp_part_acc": 100.0 * correct / total if total else math.nan,
        "dp_uv_err": float(errs.mean()) if len(errs) else math.nan,
        "dp_match_rate": 100.0 * len(pairs) / num_annotated if num_annotated else math.nan,
        "dp_num_points": float(total),
    }


def _gps(table: GeodesicTable, d: dict, g: dict) -> float:
    """Per-person GPS of detection ``d`` against GT ``g`` (0 without points or DensePose)."""
    pts = g["dp_points"]
    if pts is None or d["densepose"] is None or len(pts["x"]) == 0:
        return 0.0
    if "_gt_vertices" not in g:  # the GT side is the same for every detection: map it once
        g["_gt_vertices"] = table.vertices(np.asarray(pts["i"]), np.stack([pts["u"], pts["v"]], axis=1))
    parts, uv = sample_result(d["densepose"], pts["x"], pts["y"])
    dist = table.distances(g["_gt_vertices"], table.vertices(parts, uv))
    return float(np.exp(-(dist**2) / (2.0 * GPS_KAPPA**2)).mean())


def _mask_iou(d: dict, g: dict) -> float:
    if d["mask_rle"] is None:
        return 0.0
    return float(mask_utils.iou([d["mask_rle"]], [g["mask_rle"]], [int(g["iscrowd"])])[0, 0])


#: The tasks :func:`evaluate_predictions` scores, in the order of its result.
EVAL_TASKS = ("bbox", "keypoints", "densepose")


def evaluate_predictions(
    dataset_dicts: Sequence[Mapping[str, Any]],
    predictions: Mapping[Any, FramePrediction],
    geodesic: GeodesicTable | None = None,
    tasks: Sequence[str] = EVAL_TASKS,
) -> OrderedDict:
    """Evaluate predictions against ground truth; returns detectron2's OrderedDict of task -> {metric: float}.

    Args:
        dataset_dicts: detectron2 dataset dicts (``image_id``, ``height``, ``width``, ``annotations``).
        predictions: image_id -> FramePrediction (rescaled to the dict's height/width when its
            ``image_size`` differs). Only images present here are evaluated (all when empty).
        geodesic: a geodesic table enables the GPS/GPSm keys; None leaves them out.
        tasks: the tasks to score, a subset of :data:`EVAL_TASKS` (the result keeps their order).
    """
    unknown = sorted(set(tasks) - set(EVAL_TASKS))
    if unknown:
        raise ValueError(f"unknown evaluation tasks {unknown}; choose from {list(EVAL_TASKS)}")
    records = [r for r in dataset_dicts if not predictions or r["image_id"] in predictions]
    images, gts, dts = [], [], []
    for r in records:
        hw = (int(r["height"]), int(r["width"]))
        images.append({"id": r["image_id"], "height": hw[0], "width": hw[1]})
        gts.extend(gt_annotations(r))
        pred = predictions.get(r["image_id"])
        if pred is not None and len(pred):
            dts.extend(dt_annotations(r["image_id"], scale_prediction(pred, hw), hw))
    results: OrderedDict = OrderedDict()
    if "bbox" in tasks:
        results["bbox"] = _pct(run_cocoeval(images, _fresh(gts), _fresh(dts), "bbox"), _BOX_IDX, BOX_NAMES)
    if "keypoints" in tasks:
        kp_dts = [d for d in _fresh(dts) if d["keypoints"] is not None]
        results["keypoints"] = _pct(run_cocoeval(images, _fresh(gts), kp_dts, "keypoints"), _KP_IDX, KEYPOINT_NAMES_)
    if "densepose" in tasks:
        results["densepose"] = _densepose_metrics(images, gts, dts, geodesic)
    return results


def _densepose_metrics(images: list[dict], gts: list[dict], dts: list[dict], geodesic: GeodesicTable | None) -> dict:
    """Mask AP of the coarse segmentation, the point metrics and, with a geodesic table, GPS/GPSm AP."""
    dp: dict[str, float] = {}
    seg_gts = [{**g, "segmentation": g["mask_rle"], "iscrowd": int(g["iscrowd"] or not g["has_dp_mask"])} for g in gts]
    seg_dts = [{**d, "segmentation": d["mask_rle"]} for d in dts if d["mask_rle"] is not None]
    dp.update(_pct(run_cocoeval(images, seg_gts, seg_dts, "segm"), _BOX_IDX, BOX_NAMES, "dp_mask_"))
    pairs = match_people(gts, dts)
    num_annotated = sum(1 for g in gts if not g["iscrowd"] and g["dp_points"] is not None)
    dp.update(point_metrics(pairs, num_annotated))
    if geodesic is not None:
        gps_gts = [
            {**g, "segmentation": g["mask_rle"], "iscrowd": int(g["iscrowd"] or g["dp_points"] is None)} for g in gts
        ]
        gps_dts = [{**d, "segmentation": d["mask_rle"]} for d in dts if d["densepose"] is not None]

        def gps(d: dict, g: dict) -> float:
            return _mask_iou(d, g) if g["iscrowd"] else _gps(geodesic, d, g)

        def gpsm(d: dict, g: dict) -> float:
            return _mask_iou(d, g) if g["iscrowd"] else math.sqrt(_gps(geodesic, d, g) * _mask_iou(d, g))

        dp.update(
            _pct(run_cocoeval(images, _fresh(gps_gts), _fresh(gps_dts), "segm", gps), _GPS_IDX, GPS_NAMES, "GPS_")
        )
        dp.update(
            _pct(run_cocoeval(images, _fresh(gps_gts), _fresh(gps_dts), "segm", gpsm), _GPS_IDX, GPS_NAMES, "GPSm_")
        )
    return dp


def _fresh(anns: list[dict]) -> list[dict]:
    """Shallow copies, since COCOeval writes ``id``/``ignore`` into the dicts it is given."""
    return [dict(a) for a in anns]

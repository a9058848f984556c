"""Pseudo-label RGB frames with image teachers (DensePose R-CNN, optionally Keypoint R-CNN).

What one detected person becomes (COCO-DensePose, in the dataset's image coordinates):

* ``bbox``: the teacher's box as XYWH_ABS;
* ``keypoints``: 17 COCO (x, y, v); v = 2 where the keypoint score (detectron2's heatmap
  logit) exceeds ``keypoint_thresh``, else (0, 0, 0). From the keypoint teacher when given
  (its person with the highest box IoU >= 0.5), else from the DensePose teacher's keypoint
  head when it has one;
* ``dp_x``, ``dp_y``, ``dp_I``, ``dp_U``, ``dp_V``: up to ``points_per_person`` (100) pixels
  drawn uniformly without replacement from the predicted body pixels (part > 0) of the
  box-resolution IUV, at pixel centres scaled to the 256-cell box grid (a person whose
  IUV has no body pixel gets no DensePose fields);
* ``dp_masks``: the predicted fine parts resized (nearest) to 256x256, mapped to the 14
  coarse parts and encoded as 14 RLEs (pycocotools);
* ``pseudo_label``: ``{"model": weights, "score": box score, "keypoint_model": ... or None}``.
  Editing or accepting an annotation in the app drops this field (it then counts as a
  human label).

Images that already hold a human (non-pseudo) annotation are left alone; earlier pseudo
labels of a processed image are replaced. Images without an RGB frame are skipped.

Resuming: each finished image is appended as one JSON line to ``<out>.progress.jsonl``
(first line: the settings); a rerun with the same settings skips those images. The output
JSON is written atomically at the end, after which the progress file is removed.
"""

from __future__ import annotations

import json
import os
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.backend.atomic_write import atomic_write_json
from app.backend.capture.recording_import import ImportProgress, ProgressCallback, StopCheck
from app.backend.data.rle import encode_dp_masks
from app.backend.data.validate import read_dataset_json, resolve_path
from app.backend.errors import DatasetError, UserFacingError
from app.backend.structures.body import FINE_TO_COARSE, person_category
from app.backend.structures.box_grid import DP_GRID, abs_to_grid, grid_to_abs

PROGRESS_SUFFIX = ".progress.jsonl"
PSEUDO_KEY = "pseudo_label"
_FINE_TO_COARSE = np.asarray(FINE_TO_COARSE, dtype=np.uint8)


@dataclass
class PseudoLabelOptions:
    """Teachers, input and output of :func:`pseudo_label_dataset`."""

    dataset: Path
    out: Path
    config_file: str
    opts: list[str] = field(default_factory=list)
    keypoint_config: str | None = None
    keypoint_weights: str | None = None
    keypoint_opts: list[str] = field(default_factory=list)
    score_thresh: float = 0.7
    keypoint_thresh: float = 0.05
    points_per_person: int = 100
    image_ids: Sequence[Any] | None = None  #: only these images (the app's selection); None = all
    restart: bool = False

    def __post_init__(self) -> None:
        self.dataset, self.out = Path(self.dataset), Path(self.out)
        self.config_file = str(self.config_file)
        self.opts = [str(o) for o in self.opts]
        self.keypoint_config = str(self.keypoint_config) if self.keypoint_config else None
        self.keypoint_weights = str(self.keypoint_weights) if self.keypoint_weights else None
        if not self.dataset.is_file():
            raise FileNotFoundError(f"dataset not found: {self.dataset}")
        if bool(self.keypoint_config) != bool(self.keypoint_weights):
            raise UserFacingError("the keypoint teacher needs both --keypoint-config and --keypoint-weights")
        if not 0 <= self.score_thresh <= 1:
            raise UserFacingError(f"score threshold must be in 0..1, got {self.score_thresh}")


@dataclass
class PseudoLabelReport:
    out: Path
    complete: bool
    images_total: int
    images_done: int
    images_labelled_this_run: int
    people: int
    skipped_no_rgb: int
    skipped_human_labels: int
    elapsed_s: float

    def lines(self) -> list[str]:
        rate = self.images_labelled_this_run / self.elapsed_s if self.elapsed_s > 0 else 0.0
        out = [
            f"pseudo-labelled {self.images_done}/{self.images_total} images ({self.people} people); "
            f"this run {self.images_labelled_this_run} in {self.elapsed_s:.1f} s ({rate:.2f} images/s)",
            f"skipped: {self.skipped_no_rgb} without an RGB frame, {self.skipped_human_labels} with human labels",
        ]
        out.append(f"dataset: {self.out}" if self.complete else "interrupted: run the same command again to resume")
        return out


def is_pseudo(ann: dict) -> bool:
    """True for an annotation that a teacher made and no person has accepted or edited."""
    return isinstance(ann, dict) and PSEUDO_KEY in ann


def accept_pseudo_label(ann: dict) -> dict:
    """The annotation as an ordinary (human) label: a copy without the ``pseudo_label`` field."""
    return {k: v for k, v in ann.items() if k != PSEUDO_KEY}


def _box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of XYXY boxes a (N, 4) and b (M, 4) -> (N, M)."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area = lambda x: np.prod(np.clip(x[:, 2:] - x[:, :2], 0, None), axis=1)  # noqa: E731
    return inter / np.maximum(area(a)[:, None] + area(b)[None, :] - inter, 1e-9)


def densepose_fields(result, box_xywh: Sequence[float], rng: np.random.Generator, num_points: int = 100) -> dict:
    """COCO-DensePose fields of one :class:`DensePoseResult` (sampling rule in the module doc).

    The result's labels/uv cover its own box; points are expressed on the 256-cell grid of
    ``box_xywh`` (the annotation's box; the same box in practice).
    """
    labels, uv = result.labels, result.uv
    h, w = labels.shape
    rows, cols = np.nonzero(labels > 0)
    pick = rng.choice(rows.size, size=min(num_points, rows.size), replace=False) if rows.size else np.zeros(0, int)
    rows, cols = np.sort(rows[pick]), cols[pick][np.argsort(rows[pick], kind="stable")]
    # pixel centres in absolute coordinates, then on the annotation box's DensePose grid
    ax, ay = grid_to_abs(cols + 0.5, rows + 0.5, result.box_xyxy, (h, w))
    dp_x, dp_y = abs_to_grid(ax, ay, box_xywh, xywh=True)
    dp_x, dp_y = np.clip(dp_x, 0, DP_GRID), np.clip(dp_y, 0, DP_GRID)
    import cv2

    fine = cv2.resize(labels.astype(np.uint8), (DP_GRID, DP_GRID), interpolation=cv2.INTER_NEAREST)
    return {
        "dp_x": [round(float(v), 2) for v in dp_x],
        "dp_y": [round(float(v), 2) for v in dp_y],
        "dp_I": [int(v) for v in labels[rows, cols]],
        "dp_U": [round(float(v), 4) for v in np.clip(uv[0, rows, cols], 0, 1)],
        "dp_V": [round(float(v), 4) for v in np.clip(uv[1, rows, cols], 0, 1)],
        "dp_masks": encode_dp_masks(_FINE_TO_COARSE[fine]),
    }


def teacher_configs(opt: PseudoLabelOptions) -> tuple[Any, Any]:
    """The teachers' configs (DensePose, keypoint or None), checked: image modality, weights given."""
    from app.backend.config import load_config  # on first use, like the predictor below

    cfg = load_config(opt.config_file, list(opt.opts))
    if cfg.INPUT.MODALITY != "image":
        raise UserFacingError(f"{opt.config_file}: the teacher must be an image model (INPUT.MODALITY 'image')")
    if not cfg.MODEL.WEIGHTS:
        raise UserFacingError("the teacher has no weights: pass MODEL.WEIGHTS W")
    kcfg = None
    if opt.keypoint_config:
        kcfg = load_config(opt.keypoint_config, list(opt.keypoint_opts))
        if kcfg.INPUT.MODALITY != "image":
            raise UserFacingError(f"{opt.keypoint_config}: the keypoint teacher must be an image model")
    return cfg, kcfg


class Teachers:
    """The DensePose teacher and an optional keypoint teacher, loaded once (image modality)."""

    def __init__(self, opt: PseudoLabelOptions) -> None:
        # on first use: the annotation editor imports this module for is_pseudo/accept_pseudo_label,
        # and the predictor pulls in the whole engine
        from app.backend.engine.predictor import Predictor

        cfg, kcfg = teacher_configs(opt)
        self.model_name = str(cfg.MODEL.WEIGHTS)
        self.dp = Predictor(cfg)
        self.kp = None
        self.kp_name = None
        if kcfg is not None:
            self.kp = Predictor(kcfg, opt.keypoint_weights)
            self.kp_name = str(opt.keypoint_weights)

    def label(self, image_bgr: np.ndarray, opt: PseudoLabelOptions, rng: np.random.Generator) -> list[dict]:
        """Annotations (without ids) for one BGR uint8 frame, in its pixel coordinates."""
        pred = self.dp.predict_image(image_bgr).prediction
        keep = pred.scores >= opt.score_thresh
        pred = pred.select(keep)
        kps = pred.keypoints
        if self.kp is not None:
            kpred = self.kp.predict_image(image_bgr).prediction
            kps = np.zeros((len(pred), 17, 3), np.float32)
            if len(pred) and len(kpred) and kpred.keypoints is not None:
                iou = _box_iou(pred.boxes, kpred.boxes)
                best = iou.argmax(axis=1)
                for n, j in enumerate(best):
                    if iou[n, j] >= 0.5:
                        kps[n] = kpred.keypoints[j]
        h, w = image_bgr.shape[:2]
        anns = []
        for n in range(len(pred)):
            x0, y0, x1, y1 = np.clip(pred.boxes[n], 0, [w, h, w, h]).tolist()
            if x1 - x0 < 1 or y1 - y0 < 1:
                continue
            box = [round(x0, 2), round(y0, 2), round(x1 - x0, 2), round(y1 - y0, 2)]
            ann: dict[str, Any] = {"category_id": 1, "iscrowd": 0, "bbox": box, "area": round(box[2] * box[3], 2)}
            if kps is not None:
                k = np.asarray(kps[n], dtype=np.float64)
                vis = (
                    (k[:, 2] > opt.keypoint_thresh) & (k[:, 0] >= 0) & (k[:, 0] <= w) & (k[:, 1] >= 0) & (k[:, 1] <= h)
                )
                flat = np.zeros((17, 3))
                flat[vis, :2] = k[vis, :2]
                flat[vis, 2] = 2
                ann["keypoints"] = [round(float(v), 2) for v in flat.reshape(-1)]
                ann["num_keypoints"] = int(vis.sum())
            dp = pred.densepose[n] if pred.densepose is not None else None
            if dp is not None and bool((dp.labels > 0).any()):
                ann.update(densepose_fields(dp, box, rng, opt.points_per_person))
            ann[PSEUDO_KEY] = {"model": self.model_name, "score": round(float(pred.scores[n]), 4),
                               "keypoint_model": self.kp_name}  # fmt: skip
            anns.append(ann)
        return anns


def _settings(opt: PseudoLabelOptions) -> dict:
    return json.loads(json.dumps({
        "dataset": str(opt.dataset.resolve()), "config": opt.config_file, "opts": opt.opts,
        "keypoint_config": opt.keypoint_config, "keypoint_weights": opt.keypoint_weights,
        "score_thresh": opt.score_thresh, "keypoint_thresh": opt.keypoint_thresh,
        "points": opt.points_per_person,
        "image_ids": None if opt.image_ids is None else sorted(map(str, opt.image_ids)),
    }))  # fmt: skip


def _read_progress(path: Path, settings: dict, restart: bool) -> dict[str, list[dict]]:
    """Finished images from the progress file (a torn last line is ignored)."""
    if restart or not path.exists():
        path.unlink(missing_ok=True)
        return {}
    done: dict[str, list[dict]] = {}
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    try:
        head = json.loads(lines[0]) if lines else None
    except ValueError:
        head = None
    if not isinstance(head, dict) or head.get("settings") != settings:
        raise DatasetError(f"{path} belongs to a pseudo-labelling run with other settings; pass --restart to redo it")
    for line in lines[1:]:
        try:
            item = json.loads(line)
            done[str(item["image_id"])] = list(item["annotations"])
        except (ValueError, KeyError, TypeError):
            continue
    return done


def _rebase(value: Any, src_root: Path, dst_root: Path) -> Any:
    if not isinstance(value, str) or not value or os.path.isabs(value):
        return value
    return os.path.relpath(src_root / value, dst_root)


def pseudo_label_dataset(
    opt: PseudoLabelOptions,
    progress: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
    teachers_factory: Callable[[PseudoLabelOptions], Teachers] = Teachers,
) -> PseudoLabelReport:
    """Run the teachers on the dataset's RGB frames and write ``opt.out`` (see the module doc)."""
    import cv2

    t0 = time.perf_counter()
    teacher_configs(opt)  # refuse a wrong teacher before any work
    data = read_dataset_json(opt.dataset)
    src_root = opt.dataset.resolve().parent
    images = [im for im in data["images"] if isinstance(im, dict) and "id" in im]
    wanted = None if opt.image_ids is None else {str(i) for i in opt.image_ids}
    human = {str(a.get("image_id")) for a in data["annotations"] if isinstance(a, dict) and not is_pseudo(a)}
    todo, no_rgb, has_human = [], 0, 0
    for im in images:
        key = str(im["id"])
        if wanted is not None and key not in wanted:
            continue
        if not im.get("file_name"):
            no_rgb += 1
        elif key in human:
            has_human += 1
        else:
            todo.append(im)
    settings = _settings(opt)
    prog_path = opt.out.with_name(opt.out.name + PROGRESS_SUFFIX)
    done = _read_progress(prog_path, settings, opt.restart)
    opt.out.parent.mkdir(parents=True, exist_ok=True)
    teachers = teachers_factory(opt) if any(str(im["id"]) not in done for im in todo) else None
    labelled, cancelled = 0, False
    with open(prog_path, "a", encoding="utf-8") as log:
        if log.tell() == 0:
            log.write(json.dumps({"settings": settings}, allow_nan=False) + "\n")
        for im in todo:
            key = str(im["id"])
            if key in done:
                continue
            if should_stop is not None and should_stop():
                cancelled = True
                break
            path = resolve_path(src_root, im["file_name"])
            img = cv2.imread(str(path), cv2.IMREAD_COLOR) if path is not None else None
            if img is None:
                raise DatasetError(f"image {key}: cannot read the RGB frame {path}")
            rng = np.random.default_rng(zlib.crc32(key.encode("utf-8")))
            anns = teachers.label(img, opt, rng)
            sy, sx = im["height"] / img.shape[0], im["width"] / img.shape[1]
            if (sx, sy) != (1.0, 1.0):
                anns = [_scale(a, sx, sy) for a in anns]
            done[key] = anns
            log.write(json.dumps({"image_id": im["id"], "annotations": anns}, allow_nan=False) + "\n")
            log.flush()
            labelled += 1
            if progress is not None:
                n_done = sum(str(i["id"]) in done for i in todo)
                el = time.perf_counter() - t0
                progress(
                    ImportProgress(n_done, len(todo), el, el / labelled * (len(todo) - n_done), "pseudo-labelling")
                )
    people = sum(len(v) for v in done.values())
    report = PseudoLabelReport(opt.out, not cancelled, len(todo), sum(str(i["id"]) in done for i in todo), labelled,
                               people, no_rgb, has_human, 0.0)  # fmt: skip
    if not cancelled:
        _write_output(data, done, src_root, opt.out)
        prog_path.unlink(missing_ok=True)
    report.elapsed_s = time.perf_counter() - t0
    return report


def _scale(ann: dict, sx: float, sy: float) -> dict:
    """Annotation from frame pixels to the dataset's (width, height) space (box-relative dp stays)."""
    a = dict(ann)
    x, y, w, h = a["bbox"]
    a["bbox"] = [x * sx, y * sy, w * sx, h * sy]
    a["area"] = a["bbox"][2] * a["bbox"][3]
    if "keypoints" in a:
        k = np.asarray(a["keypoints"], dtype=np.float64).reshape(17, 3)
        k[:, 0] *= sx
        k[:, 1] *= sy
        a["keypoints"] = k.reshape(-1).tolist()
    return a


def _write_output(data: dict, done: dict[str, list[dict]], src_root: Path, out: Path) -> None:
    dst_root = out.resolve().parent
    result = dict(data)
    result["images"] = [
        {**im, **{k: _rebase(im.get(k), src_root, dst_root) for k in ("file_name", "csi_file") if im.get(k)}}
        for im in data["images"]
    ]
    kept = [a for a in data["annotations"] if not (is_pseudo(a) and str(a.get("image_id")) in done)]
    ids = [a["id"] for a in kept if isinstance(a.get("id"), int) and not isinstance(a.get("id"), bool)]
    next_id = max(ids, default=0) + 1
    by_key = {str(im["id"]): im["id"] for im in data["images"] if isinstance(im, dict) and "id" in im}
    if not result.get("categories"):
        result["categories"] = [person_category()]
    cat = result["categories"][0].get("id", 1) if isinstance(result["categories"][0], dict) else 1
    new = []
    for key, anns in done.items():
        for a in anns:
            new.append({"id": next_id, "image_id": by_key.get(key, key), **a, "category_id": cat})
            next_id += 1
    result["annotations"] = kept + new
    atomic_write_json(out, result)

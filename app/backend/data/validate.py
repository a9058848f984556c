"""Checks of COCO-DensePose(+CSI) dataset JSON files, shared by the loader and ``validate-dataset``.

Every problem names the image id and, where it concerns one person, the annotation id.
The loader runs the cheap checks (structure, value ranges, file existence) and skips bad
records; :func:`validate_dataset` also decodes every referenced file and every RLE.

Reading a dataset never runs code: JSON is parsed by :func:`json.load` only; referenced
files are decoded by OpenCV (images) and by the CSI readers / ``np.load(allow_pickle=False)``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.backend.data.rle import RleError, rle_counts
from app.backend.errors import DatasetError
from app.backend.structures.body import NUM_KEYPOINTS, NUM_PARTS
from app.backend.structures.box_grid import DP_GRID

#: Dataset JSON files larger than this are refused (DatasetError) instead of exhausting memory.
MAX_JSON_BYTES = 4 << 30
DP_FIELDS = ("dp_x", "dp_y", "dp_I", "dp_U", "dp_V")
#: Boxes may reach this many pixels beyond the image border before they count as outside.
BOX_TOLERANCE = 1.0


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a dataset, located by image and annotation id (None = not applicable)."""

    message: str
    image_id: Any = None
    ann_id: Any = None

    def __str__(self) -> str:
        where = []
        if self.image_id is not None:
            where.append(f"image {self.image_id}")
        if self.ann_id is not None:
            where.append(f"annotation {self.ann_id}")
        return f"{', '.join(where) or 'dataset'}: {self.message}"


@dataclass
class ValidationReport:
    """Result of :func:`validate_dataset`: problems plus counts of what was checked."""

    path: Path
    num_images: int = 0
    num_annotations: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        state = "OK" if self.ok else f"{len(self.problems)} problem(s)"
        return f"{self.path}: {self.num_images} images, {self.num_annotations} annotations: {state}"


def read_dataset_json(path: str | Path, max_bytes: int = MAX_JSON_BYTES) -> dict:
    """Parse a dataset JSON file and check its top-level structure.

    Raises:
        DatasetError: missing/unreadable file, over ``max_bytes``, not JSON (or nested too
            deeply), or not an object with an ``images`` list (and optional ``annotations``
            and ``categories`` lists).
    """
    p = Path(path)
    if not p.is_file():
        raise DatasetError(f"dataset file not found: {p}")
    size = p.stat().st_size
    if size > max_bytes:
        raise DatasetError(f"{p}: {size} bytes is over the {max_bytes}-byte limit for dataset JSON")
    try:
        with open(p, "rb") as f:
            data = json.load(f)
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{p}: not valid JSON (not UTF-8 text at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{p}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise DatasetError(f"{p}: not usable JSON ({' '.join(str(exc).split())[:120]})") from None
    except RecursionError:
        raise DatasetError(f"{p}: JSON nested too deeply") from None
    except MemoryError:
        raise DatasetError(f"{p}: JSON too large to load into memory") from None
    except OSError as exc:
        raise DatasetError(f"{p}: cannot read ({exc})") from None
    if not isinstance(data, dict):
        raise DatasetError(f"{p}: top level must be a JSON object with 'images' and 'annotations'")
    for key, required in (("images", True), ("annotations", False), ("categories", False)):
        if key not in data:
            if required:
                raise DatasetError(f"{p}: no '{key}' list")
            data[key] = []
        elif not isinstance(data[key], list):
            raise DatasetError(f"{p}: '{key}' must be a list, got {type(data[key]).__name__}")
    return data


def is_id(v: Any) -> bool:
    """A usable COCO id: an int (not bool) that fits 64 bits, or a short non-empty string."""
    return (isinstance(v, int) and not isinstance(v, bool) and -(2**63) <= v < 2**63) or (
        isinstance(v, str) and 0 < len(v) < 256
    )


def _finite_number(v: Any) -> bool:
    """An int or float (not bool) that is finite as a float (ints past 1e308 are not)."""
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return False
    try:
        return math.isfinite(v)
    except OverflowError:
        return False


def _positive_size(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 < v <= 65536


def resolve_path(root: str | Path, value: Any) -> str | None:
    """A file reference relative to the JSON's folder (absolute paths are kept) as a str; None if not a string."""
    if not isinstance(value, str) or not value or "\x00" in value:
        return None
    return os.path.join(root, value)  # join keeps an absolute ``value`` as it is


def image_problems(img: Any, root: str | Path, check_files: bool = True) -> list[Problem]:
    """Cheap checks of one ``images`` entry: id, size, file references and (optionally) existence."""
    if not isinstance(img, dict):
        return [Problem(f"image entry must be an object, got {type(img).__name__}")]
    iid = img.get("id")
    if not is_id(iid):
        return [Problem(f"image id must be a 64-bit int or short string, got {iid!r:.40}")]
    out = []
    w, h = img.get("width"), img.get("height")
    if not (_positive_size(w) and _positive_size(h)):
        out.append(Problem(f"width/height must be ints in 1..65536, got {w!r:.20}x{h!r:.20}", iid))
    refs = [k for k in ("file_name", "csi_file") if img.get(k) is not None]
    if not refs:
        out.append(Problem("neither 'file_name' nor 'csi_file' is given", iid))
    for key in refs:
        path = resolve_path(root, img[key])
        if path is None:
            out.append(Problem(f"'{key}' must be a non-empty path string, got {img[key]!r}", iid))
        elif check_files and not os.path.isfile(path):
            out.append(Problem(f"{key} not found: {path}", iid))
    return out


def annotation_problems(ann: Any, size: tuple[int, int] | None, deep: bool = False) -> list[Problem]:
    """Checks of one ``annotations`` entry against its image size (height, width).

    ``deep`` also parses every ``dp_masks`` RLE (slower); otherwise only their structure is checked.
    """
    if not isinstance(ann, dict):
        return [Problem(f"annotation must be an object, got {type(ann).__name__}")]
    iid, aid = ann.get("image_id"), ann.get("id")
    out: list[Problem] = []

    def bad(msg: str) -> None:
        out.append(Problem(msg, iid, aid))

    if not is_id(aid):
        bad(f"annotation id must be an int or short string, got {aid!r:.40}")
        aid = None
    if not is_id(ann.get("category_id")):
        bad(f"category_id must be an int or short string, got {ann.get('category_id')!r:.40}")

    bbox = ann.get("bbox")
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(_finite_number(v) for v in bbox)):
        bad(f"bbox must be 4 finite numbers [x, y, w, h], got {bbox!r:.80}")
    elif bbox[2] <= 0 or bbox[3] <= 0:
        bad(f"bbox has non-positive size {bbox[2]}x{bbox[3]}")
    elif size is not None:
        h, w = size
        x0, y0, x1, y1 = bbox[0], bbox[1], bbox[0] + bbox[2], bbox[1] + bbox[3]
        t = BOX_TOLERANCE
        if x0 < -t or y0 < -t or x1 > w + t or y1 > h + t:
            bad(f"bbox {[round(v, 2) for v in bbox]} lies outside the {w}x{h} image")
    area = ann.get("area")
    if area is not None and not (_finite_number(area) and area >= 0):
        bad(f"area must be a finite number >= 0, got {area!r:.40} (the annotation editor recomputes it from the box)")
    if ann.get("iscrowd", 0) not in (0, 1):
        bad(f"iscrowd must be 0 or 1, got {ann.get('iscrowd')!r:.40}")
    kps = ann.get("keypoints")
    if kps is not None:
        if not isinstance(kps, list) or len(kps) != 3 * NUM_KEYPOINTS:
            n = len(kps) if isinstance(kps, list) else type(kps).__name__
            bad(f"keypoints must hold {NUM_KEYPOINTS} (x, y, v) triples = {3 * NUM_KEYPOINTS} numbers, got {n}")
        elif not all(_finite_number(v) for v in kps):
            bad("keypoints must be finite numbers")
        else:
            vis = set(kps[2::3])
            if not vis <= {0, 1, 2}:
                bad(f"keypoint visibility must be 0, 1 or 2, got {sorted(vis - {0, 1, 2})}")
    present = [k for k in DP_FIELDS if k in ann]
    if present:
        _dp_point_problems(ann, present, bad)
    if ann.get("dp_masks") is not None:
        _dp_mask_problems(ann["dp_masks"], deep, bad)
    return out


def _dp_point_problems(ann: dict, present: list[str], bad: Any) -> None:
    if len(present) != len(DP_FIELDS):
        bad(f"DensePose fields missing: {sorted(set(DP_FIELDS) - set(present))}")
        return
    arrays = [ann[k] for k in DP_FIELDS]
    if not all(isinstance(a, list) for a in arrays):
        bad("dp_x, dp_y, dp_I, dp_U, dp_V must be lists")
        return
    lengths = {len(a) for a in arrays}
    if len(lengths) != 1:
        bad("dp arrays have unequal lengths: " + ", ".join(f"{k}={len(a)}" for k, a in zip(DP_FIELDS, arrays)))
        return
    if not lengths.pop():
        return
    try:
        a = np.array(arrays, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        bad("dp arrays must hold (finite) numbers")
        return
    if not np.isfinite(a).all():
        bad("dp arrays hold non-finite values")
        return
    lo, hi = a.min(axis=1), a.max(axis=1)
    if lo[0] < 0 or hi[0] > DP_GRID or lo[1] < 0 or hi[1] > DP_GRID:
        bad(f"dp_x/dp_y must lie in 0..{DP_GRID} (box-relative)")
    if lo[2] < 1 or hi[2] > NUM_PARTS or not np.array_equal(a[2], np.round(a[2])):
        bad(f"dp_I must be integers in 1..{NUM_PARTS}, got values in {lo[2]:g}..{hi[2]:g}")
    if lo[3] < 0 or hi[3] > 1 or lo[4] < 0 or hi[4] > 1:
        bad(f"dp_U/dp_V must lie in 0..1, got U {lo[3]:g}..{hi[3]:g}, V {lo[4]:g}..{hi[4]:g}")


def _dp_mask_problems(masks: Any, deep: bool, bad: Any) -> None:
    if not isinstance(masks, list) or len(masks) != 14:
        n = len(masks) if isinstance(masks, list) else type(masks).__name__
        bad(f"dp_masks must be a list of 14 RLEs, got {n}")
        return
    for k, rle in enumerate(masks):
        if rle is None or (isinstance(rle, (list, dict)) and not rle):
            continue
        if not isinstance(rle, dict) or "counts" not in rle or "size" not in rle:
            bad(f"dp_masks[{k}] is not an RLE object with 'size' and 'counts'")
            continue
        if rle["size"] != [DP_GRID, DP_GRID]:
            bad(f"dp_masks[{k}] has size {rle['size']!r}, expected [{DP_GRID}, {DP_GRID}]")
            continue
        if deep:
            try:
                rle_counts(rle)
            except RleError as exc:
                bad(f"dp_masks[{k}] broken RLE: {exc}")
        elif not isinstance(rle["counts"], (str, list)):
            bad(f"dp_masks[{k}] counts must be a string or a list")


def check_dataset(
    data: dict, root: str | Path, check_files: bool = True, deep: bool = False
) -> tuple[list[dict], dict[Any, list[dict]], list[Problem]]:
    """Split a parsed dataset into good images, their good annotations, and the problems.

    Returns:
        (images, annotations by image id, problems). Images with a problem are dropped with
        all their annotations; bad annotations are dropped one by one.
    """
    problems: list[Problem] = []
    cats = data.get("categories") or []
    cat_ids = {c.get("id") for c in cats if isinstance(c, dict) and is_id(c.get("id"))}
    images: list[dict] = []
    sizes: dict[Any, tuple[int, int]] = {}  # every image with a usable id and size, good or not
    for img in data["images"]:
        p = image_problems(img, root, check_files)
        iid = img.get("id") if isinstance(img, dict) else None
        if is_id(iid):
            if iid in sizes:
                p = [*p, Problem("duplicate image id", iid)]
            else:
                w, h = img.get("width"), img.get("height")
                sizes[iid] = (h, w) if _positive_size(w) and _positive_size(h) else None
        if p:
            problems.extend(p)
            continue
        images.append(img)
    by_image: dict[Any, list[dict]] = {img["id"]: [] for img in images}
    seen_ann: set = set()
    for ann in data["annotations"]:
        iid = ann.get("image_id") if isinstance(ann, dict) else None
        known = is_id(iid) and iid in sizes
        p = annotation_problems(ann, sizes[iid] if known else None, deep)
        if not p:
            aid = ann.get("id")
            if not known:
                p = [Problem("annotation refers to an unknown image", iid, aid)]
            elif cats and not (is_id(ann.get("category_id")) and ann["category_id"] in cat_ids):
                p = [Problem(f"category_id {ann.get('category_id')!r} is not in 'categories'", iid, aid)]
            elif aid in seen_ann:
                p = [Problem("duplicate annotation id", iid, aid)]
        if p:
            problems.extend(p)
            continue
        seen_ann.add(ann.get("id"))
        if iid in by_image:
            by_image[iid].append(ann)
    return images, by_image, problems


def _file_decode_problems(img: dict, root: str | Path) -> Iterable[Problem]:
    iid = img["id"]
    if img.get("file_name") is not None:
        import cv2

        path = resolve_path(root, img["file_name"])
        frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if frame is None:
            yield Problem(f"file_name cannot be decoded as an image: {path}", iid)
        elif frame.shape[:2] != (img["height"], img["width"]):
            yield Problem(f"image is {frame.shape[1]}x{frame.shape[0]}, JSON says {img['width']}x{img['height']}", iid)
    if img.get("csi_file") is not None:
        path = resolve_path(root, img["csi_file"])
        msg = csi_file_problem(path)
        if msg:
            yield Problem(f"csi_file {path}: {msg}", iid)


def csi_file_problem(path: Path) -> str | None:
    """None if the CSI file decodes, else the reason."""
    # on first use: the dataset view imports this module, and the CSI package pulls in scipy (~0.3 s)
    from app.backend.data.csi import read_csi

    try:
        read_csi(path)
    except Exception as exc:  # any decoder failure is a dataset problem, reported not raised
        return f"cannot be decoded ({type(exc).__name__}: {exc})"
    return None


def validate_dataset(path: str | Path, decode_files: bool = True) -> ValidationReport:
    """Every problem of a dataset JSON: structure, values, RLEs and (with ``decode_files``) referenced files.

    A malformed JSON file is reported as a single problem rather than raised.
    """
    report = ValidationReport(Path(path))
    try:
        data = read_dataset_json(path)
    except DatasetError as exc:
        report.problems.append(Problem(str(exc)))
        return report
    root = Path(path).resolve().parent
    images, _, problems = check_dataset(data, root, check_files=True, deep=True)
    report.num_images = len(data["images"])
    report.num_annotations = len(data["annotations"])
    report.problems.extend(problems)
    if decode_files:
        for img in images:
            report.problems.extend(_file_decode_problems(img, root))
    return report

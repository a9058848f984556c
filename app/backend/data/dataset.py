"""COCO-DensePose(+CSI) JSON -> detectron2 dataset dicts, and registration by name.

Format (see README "Dataset format"): a COCO JSON whose ``images`` entries carry
``file_name`` (RGB frame) and/or ``csi_file`` (our CSI ``.npz`` or any format the CSI
readers accept), both relative to the JSON's folder; ``annotations`` carry ``bbox``
(XYWH_ABS), 17 COCO ``keypoints`` (x, y, v), and the COCO-DensePose fields ``dp_x``,
``dp_y`` (0..256, box-relative), ``dp_I`` (1..24), ``dp_U``, ``dp_V`` (0..1) and
``dp_masks`` (14 RLEs on the 256x256 box grid).

Loading is cheap per record (the 50,000-image benchmark stays within 2x ``json.load``):
records are checked by :mod:`app.backend.data.validate` (bad ones are skipped with a
logged reason), and ``dp_masks`` stay RLE until the mapper decodes them.
"""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path
from typing import Any

from detectron2.data import DatasetCatalog, MetadataCatalog
from detectron2.structures import BoxMode

from app.backend.data.rle import decode_dp_masks
from app.backend.data.validate import check_dataset, is_id, read_dataset_json, resolve_path
from app.backend.errors import DatasetError
from app.backend.paths import demo_root
from app.backend.structures.body import KEYPOINT_FLIP_MAP, KEYPOINT_NAMES, KEYPOINT_SKELETON

__all__ = [
    "DEMO_DATASET_NAMES",
    "EVALUATOR_TYPE",
    "decode_dp_masks",
    "load_coco_densepose_json",
    "register_coco_densepose_json",
    "register_datasets",
]

logger = logging.getLogger(__name__)

DEMO_DATASET_NAMES = ("wifi_demo_train", "wifi_demo_val")
#: ``MetadataCatalog`` evaluator type of every dataset registered here.
EVALUATOR_TYPE = "coco_densepose"
#: Problems logged one by one before the rest are only counted.
MAX_LOGGED_PROBLEMS = 20
_DP_KEYS = ("dp_x", "dp_y", "dp_I", "dp_U", "dp_V", "dp_masks")
_NO_KEYPOINTS = [0.0] * (3 * len(KEYPOINT_NAMES))


def load_coco_densepose_json(
    json_file: str | Path, dataset_name: str | None = None, check_files: bool = True
) -> list[dict]:
    """Load a COCO-DensePose(+CSI) JSON into detectron2 dataset dicts.

    Args:
        json_file: the dataset JSON; file references are relative to its folder.
        dataset_name: used in log messages only.
        check_files: skip images whose referenced files do not exist (one stat per file).

    Returns:
        One dict per good image: ``file_name``/``csi_file`` (absolute str or None),
        ``height``, ``width``, ``image_id``, ``annotations`` (``bbox`` XYWH_ABS,
        ``bbox_mode``, ``category_id`` 0, ``iscrowd``, ``keypoints`` 51 floats with +0.5
        on x, y as detectron2's COCO loader does, ``dp_*`` lists and ``dp_masks`` RLEs or
        None, ``id``).

    Raises:
        DatasetError: missing, huge or malformed JSON.
    """
    from pycocotools.coco import COCO

    path = Path(json_file)
    data = read_dataset_json(path)
    root = str(path.resolve().parent)
    images, by_image, problems = check_dataset(data, root, check_files=check_files)
    _log_problems(dataset_name or str(path), problems)

    cats = [c for c in data["categories"] if isinstance(c, dict) and is_id(c.get("id"))]
    coco = COCO()
    coco.dataset = {
        "images": images,
        "annotations": [a for anns in by_image.values() for a in anns],
        "categories": cats,
    }
    with contextlib.redirect_stdout(io.StringIO()):  # createIndex prints progress
        coco.createIndex()

    records = []
    for img in images:
        iid = img["id"]
        anns = coco.imgToAnns.get(iid, ())
        fn, csi = img.get("file_name"), img.get("csi_file")
        records.append(
            {
                "file_name": resolve_path(root, fn) if fn is not None else None,
                "csi_file": resolve_path(root, csi) if csi is not None else None,
                "height": img["height"],
                "width": img["width"],
                "image_id": iid,
                "annotations": [_to_d2_annotation(a) for a in anns],
            }
        )
    logger.info("Loaded %d images (%d skipped problems) from %s", len(records), len(problems), path)
    return records


def _to_d2_annotation(ann: dict) -> dict:
    kps = ann.get("keypoints")
    if kps is None:
        kps = _NO_KEYPOINTS
    else:
        # COCO keypoints are pixel indices; detectron2 works in continuous coordinates.
        kps = list(kps)
        kps[0::3] = [v + 0.5 for v in kps[0::3]]
        kps[1::3] = [v + 0.5 for v in kps[1::3]]
    out = {
        "id": ann.get("id"),
        "bbox": ann["bbox"],
        "bbox_mode": BoxMode.XYWH_ABS,
        "category_id": 0,
        "iscrowd": int(ann.get("iscrowd", 0)),
        "keypoints": kps,
        "dp_masks": None,
    }
    for key in _DP_KEYS:
        if key in ann:
            out[key] = ann[key]
    return out


def _log_problems(name: str, problems: list) -> None:
    for p in problems[:MAX_LOGGED_PROBLEMS]:
        logger.warning("%s: skipped %s", name, p)
    if len(problems) > MAX_LOGGED_PROBLEMS:
        logger.warning(
            "%s: ... and %d more problems (run `python main.py validate-dataset`)",
            name,
            len(problems) - MAX_LOGGED_PROBLEMS,
        )


def _keypoint_connection_rules() -> list[tuple[str, str, tuple[int, int, int]]]:
    left, right, centre = (51, 153, 255), (255, 128, 0), (0, 255, 0)
    rules = []
    for a, b in KEYPOINT_SKELETON:
        na, nb = KEYPOINT_NAMES[a], KEYPOINT_NAMES[b]
        colour = (
            left
            if na.startswith("left") and nb.startswith("left")
            else right
            if na.startswith("right") and nb.startswith("right")
            else centre
        )
        rules.append((na, nb, colour))
    return rules


#: Datasets loaded in this process, by (path, size, modification time): a training run asks for
#: its training set several times (CSI statistics, the loader, MTN pretraining) and a 5000-frame
#: demo JSON takes seconds to parse and check. A changed file is loaded again.
_LOADED: dict[tuple[str, int, int], list[dict]] = {}
_MAX_LOADED = 4


def _load_once(json_file: Path, name: str) -> list[dict]:
    """:func:`load_coco_densepose_json` of an unchanged file once per process (a new list each call;
    the records themselves are shared and must not be modified, as detectron2's loaders treat them)."""
    try:
        st = json_file.stat()
    except OSError:
        return load_coco_densepose_json(json_file, name)  # raises the DatasetError naming the file
    key = (str(json_file), st.st_size, st.st_mtime_ns)
    if key not in _LOADED:
        records = load_coco_densepose_json(json_file, name)
        while len(_LOADED) >= _MAX_LOADED:
            _LOADED.pop(next(iter(_LOADED)))
        _LOADED[key] = records
    return list(_LOADED[key])


def register_coco_densepose_json(name: str, json_file: str | Path) -> None:
    """Register (or re-register) ``name`` in detectron2's catalogs; the JSON is read lazily on first use."""
    json_file = Path(json_file).expanduser().resolve()
    if name in DatasetCatalog.list():
        DatasetCatalog.remove(name)
    if name in MetadataCatalog.list():
        MetadataCatalog.remove(name)
    DatasetCatalog.register(name, lambda: _load_once(json_file, name))
    MetadataCatalog.get(name).set(
        thing_classes=["person"],
        thing_dataset_id_to_contiguous_id={1: 0},
        keypoint_names=list(KEYPOINT_NAMES),
        keypoint_flip_map=[tuple(p) for p in KEYPOINT_FLIP_MAP],
        keypoint_connection_rules=_keypoint_connection_rules(),
        evaluator_type=EVALUATOR_TYPE,
        dataset_json=str(json_file),
        dataset_root=str(json_file.parent),
    )


def register_datasets(cfg: Any) -> list[str]:
    """Register the demo splits and every ``DATASETS.JSON_FILES`` entry; returns the names.

    The demo's root is ``DATASETS.DEMO.ROOT`` or :func:`app.backend.paths.default_demo_root`;
    its JSONs need not exist yet (``python main.py demo-data`` makes them).

    Raises:
        DatasetError: a ``JSON_FILES`` entry is not ``NAME=path``.
    """
    root = demo_root(cfg.DATASETS.DEMO.ROOT)
    names = []
    for name, split in zip(DEMO_DATASET_NAMES, ("train", "val")):
        register_coco_densepose_json(name, root / f"{split}.json")
        names.append(name)
    for entry in cfg.DATASETS.JSON_FILES:
        name, sep, json_path = str(entry).partition("=")
        if not sep or not name.strip() or not json_path.strip():
            raise DatasetError(f"DATASETS.JSON_FILES entry must be 'NAME=path/to/file.json', got {entry!r}")
        register_coco_densepose_json(name.strip(), json_path.strip())
        names.append(name.strip())
    return names

"""Small helpers shared by the importers: the COCO person category and atomic file writes."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from app.backend.structures.body import KEYPOINT_NAMES, KEYPOINT_SKELETON


def person_category() -> dict:
    """The COCO ``person`` category (id 1) with 17 keypoints and a 1-based skeleton."""
    return {
        "id": 1,
        "name": "person",
        "supercategory": "person",
        "keypoints": list(KEYPOINT_NAMES),
        "skeleton": [[a + 1, b + 1] for a, b in KEYPOINT_SKELETON],
    }


def empty_dataset(info: dict | None = None) -> dict:
    """A COCO dict with no images, no annotations and the person category."""
    return {"info": dict(info or {}), "images": [], "annotations": [], "categories": [person_category()]}


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to a temporary file next to ``path`` and move it into place."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def atomic_write_json(path: str | os.PathLike, obj: Any, indent: int | None = None) -> Path:
    """JSON-encode ``obj`` (UTF-8) and write it atomically: readers never see half a file."""
    return atomic_write_bytes(path, json.dumps(obj, indent=indent, ensure_ascii=False).encode("utf-8"))


def read_json_or_none(path: str | os.PathLike) -> Any:
    """Parsed JSON of ``path``, or None when it is missing or unreadable (state files)."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None

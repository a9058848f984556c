"""Small helpers shared by the importers: the COCO person category, an empty dataset, state files."""

from __future__ import annotations

import json
import os
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


def read_json_or_none(path: str | os.PathLike) -> Any:
    """Parsed JSON of ``path``, or None when it is missing or unreadable (state files)."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None

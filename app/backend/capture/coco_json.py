"""Small helpers shared by the importers: an empty COCO dataset, state files."""

from __future__ import annotations

import json
import os
from typing import Any

from app.backend.structures.body import person_category


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

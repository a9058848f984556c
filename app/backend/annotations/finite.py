"""Non-finite numbers in a dataset file: found at open, repaired or reported, never written.

Python's ``json`` reads ``NaN``, ``Infinity`` and ``-Infinity`` (and ``1e999``, which overflows to
infinity), but no strict JSON reader does and the app writes JSON with ``allow_nan=False``. So
a document is cleaned when it is opened (:func:`repair_non_finite`):

- an annotation's ``area`` that is not a finite number is recomputed from its box
  (``w * h``, as a box edit does; 0 when the box is unusable too) and listed in the repairs;
- every other non-finite value (in ``bbox``, ``keypoints``, ``dp_*``, images, ``info``...)
  becomes ``null`` in memory and is listed as a problem with its place
  (``annotations[2].bbox[2] (annotation 3) is Infinity``): the file then counts as failing
  validation, so it is not overwritten, and edits are saved beside it.
"""

from __future__ import annotations

import math
import re
from typing import Any

#: Listed places of non-finite values (the rest are counted).
MAX_LISTED = 20
#: Number spellings Python's json turns into infinity: an exponent of three digits or more.
_HUGE_EXPONENT = re.compile(rb"[0-9][eE]\+?[0-9]{3}")


def may_hold_non_finite(raw: bytes, constants_seen: bool) -> bool:
    """Cheap pre-check for parsed JSON bytes: False means no value can be non-finite (skip the walk)."""
    return constants_seen or _HUGE_EXPONENT.search(raw) is not None


def _bad(v: Any) -> bool:
    return isinstance(v, float) and not math.isfinite(v)


def _spell(v: float) -> str:
    return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")


def _num(x: float) -> float | int:
    return int(x) if x.is_integer() and abs(x) < 2**53 else x


def repair_non_finite(data: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Clean ``data`` in place (see the module doc); returns (repairs, problems), one line each."""
    repairs: list[str] = []
    areas: list[Any] = []
    for ann in data.get("annotations") or ():
        if isinstance(ann, dict) and _bad(ann.get("area")):
            box = ann.get("bbox")
            ok = isinstance(box, list) and len(box) == 4 and all(isinstance(b, (int, float)) and math.isfinite(b)
                                                                  for b in box)
            ann["area"] = _num(round(float(box[2]) * float(box[3]), 2)) if ok and box[2] > 0 and box[3] > 0 else 0
            areas.append(ann.get("id"))
    if areas:
        ids = ", ".join(str(i) for i in areas[:10]) + (", ..." if len(areas) > 10 else "")
        repairs.append(f"area of {len(areas)} annotations (ids {ids}) was not a finite number: recomputed from the box")
    found: list[str] = []
    count = 0
    stack: list[tuple[Any, str, str]] = [(data, "", "")]
    while stack:
        node, path, owner = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            place = f"{path}.{key}" if isinstance(key, str) else f"{path}[{key}]"
            if _bad(value):
                count += 1
                if len(found) < MAX_LISTED:
                    found.append(f"{place.lstrip('.')}{owner} is {_spell(value)}")
                node[key] = None
            elif isinstance(value, (dict, list)):
                stack.append((value, place, _owner(path, value) or owner))
    problems = [f"{p} (not a finite number; read as null, so the file is not overwritten)" for p in sorted(found)]
    if count > len(found):
        problems.append(f"... {count - len(found)} more non-finite values")
    return repairs, problems


def _owner(path: str, value: Any) -> str:
    """`` (annotation 7)`` / `` (image 3)`` for an entry of the top-level lists, else ""."""
    if isinstance(value, dict) and path in (".annotations", ".images") and "id" in value:
        return f" ({path[1:-1]} {value['id']!r:.40})"
    return ""

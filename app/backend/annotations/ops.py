"""Edit operations on an :class:`~app.backend.annotations.document.AnnotationDocument`.

Every edit is one of three JSON-serialisable dicts, so it can be journaled, replayed
after a crash, and inverted for undo:

- ``{"op": "replace", "image_id", "index", "before": ann, "after": ann}``: one person changed;
- ``{"op": "insert", "image_id", "index", "ann": ann}``: a person added at ``index``;
- ``{"op": "remove", "image_id", "index", "ann": ann}``: the person at ``index`` removed.

``index`` is the position in the image's list of people; ``ann`` dicts are COCO annotation
dicts. Each operation carries the state it expects, so applying one to a document in
another state fails loudly (:class:`OpConflictError`) instead of corrupting it.
"""

from __future__ import annotations

import copy
from typing import Any

from app.backend.errors import UserFacingError

Op = dict[str, Any]
OP_KINDS = ("replace", "insert", "remove")


class OpConflictError(RuntimeError):
    """An operation does not fit the document state it is applied to."""


class EditRefused(UserFacingError):
    """A session refused an edit before confirming it (read-only, invalid values, journal not
    writable); the document and the journal are as they were. The message says why."""


def replace_op(image_id: int | str, index: int, before: dict[str, Any], after: dict[str, Any], label: str = "") -> Op:
    return {"op": "replace", "image_id": image_id, "index": index, "before": before, "after": after, "label": label}


def insert_op(image_id: int | str, index: int, ann: dict[str, Any], label: str = "") -> Op:
    return {"op": "insert", "image_id": image_id, "index": index, "ann": ann, "label": label}


def remove_op(image_id: int | str, index: int, ann: dict[str, Any], label: str = "") -> Op:
    return {"op": "remove", "image_id": image_id, "index": index, "ann": ann, "label": label}


def inverse(op: Op) -> Op:
    """The operation that undoes ``op``."""
    kind = op.get("op")
    label = op.get("label", "")
    if kind == "replace":
        return replace_op(op["image_id"], op["index"], op["after"], op["before"], label)
    if kind == "insert":
        return remove_op(op["image_id"], op["index"], op["ann"], label)
    if kind == "remove":
        return insert_op(op["image_id"], op["index"], op["ann"], label)
    raise OpConflictError(f"unknown edit operation {kind!r}")


def check_op(op: Any) -> Op:
    """Check the shape of an operation read from a journal; returns it or raises OpConflictError."""
    if not isinstance(op, dict) or op.get("op") not in OP_KINDS:
        raise OpConflictError("journal entry is not an edit operation")
    if not isinstance(op.get("index"), int) or not isinstance(op.get("image_id"), (int, str)):
        raise OpConflictError("journal entry lacks an image_id or an integer index")
    needed = ("before", "after") if op["op"] == "replace" else ("ann",)
    for key in needed:
        if not isinstance(op.get(key), dict):
            raise OpConflictError(f"journal entry lacks '{key}'")
    return copy.deepcopy(op)

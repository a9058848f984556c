"""The annotation document: one COCO / COCO-DensePose JSON file held in memory, edited by ops.

The document keeps the loaded JSON dicts as they are and only replaces the annotation
dicts an edit touches, so saving an unedited file reproduces every field (``info``,
``licenses``, ``categories``, ``dp_masks``, custom keys) and readers (pycocotools,
detectron2's ``load_coco_json``, our loader) see the same data before and after a save.
Annotations are written grouped by image in image order (the order readers use).

Non-finite numbers (``NaN``, ``Infinity``) are dealt with when the document is built
(:mod:`app.backend.annotations.finite`): :attr:`AnnotationDocument.repairs` and
:attr:`AnnotationDocument.non_finite` say what was found; the document never holds one after.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.backend.annotations.finite import may_hold_non_finite, repair_non_finite
from app.backend.annotations.model import Person
from app.backend.annotations.ops import Op, OpConflictError
from app.backend.data.validate import check_dataset, is_id, resolve_path
from app.backend.errors import DatasetError

MAX_PROBLEMS = 20


class AnnotationDocument:
    """An editable COCO(-DensePose) dataset file.

    Args:
        data: the parsed JSON (a dict with ``images``, ``annotations``, ``categories``...).
        path: the file it came from (used to resolve relative ``file_name``/``csi_file``).
        finite: the caller knows ``data`` holds no NaN or infinity (skips the search for them).

    Attributes:
        repairs: what was changed at open (a non-finite ``area`` recomputed), one line each.
        non_finite: every other non-finite value, now ``null`` (problems: the file is not
            overwritten), one line each.

    Raises:
        DatasetError: when ``data`` is not COCO-shaped (the message says what is wrong).
    """

    def __init__(self, data: Any, path: str | os.PathLike[str] | None = None, *, finite: bool = False) -> None:
        self.path = None if path is None else Path(path)
        if not isinstance(data, dict):
            raise DatasetError(f"{self._name()}: the top level is not a JSON object (not a COCO file)")
        self.repairs, self.non_finite = ([], []) if finite else repair_non_finite(data)
        images = data.get("images")
        if not isinstance(images, list):
            raise DatasetError(f"{self._name()}: no 'images' list (not a COCO file)")
        anns = data.get("annotations", [])
        if not isinstance(anns, list):
            raise DatasetError(f"{self._name()}: 'annotations' is not a list")
        self.data = data
        self.images: list[dict[str, Any]] = images
        self._pos: dict[int, int] = {}
        for n, img in enumerate(images):
            if not isinstance(img, dict) or "id" not in img:
                raise DatasetError(f"{self._name()}: image entry {n} is not an object with an 'id'")
            self._pos[img["id"]] = n
        self._anns: dict[int, list[dict[str, Any]]] = {img_id: [] for img_id in self._pos}
        self.orphans: list[dict[str, Any]] = []
        max_id = 0
        for n, ann in enumerate(anns):
            if not isinstance(ann, dict) or "image_id" not in ann:
                raise DatasetError(f"{self._name()}: annotation entry {n} is not an object with an 'image_id'")
            bucket = self._anns.get(ann["image_id"])
            (self.orphans if bucket is None else bucket).append(ann)
            ann_id = ann.get("id")
            if isinstance(ann_id, int) and ann_id > max_id:
                max_id = ann_id
        self._next_id = max_id + 1
        self._ids = Counter(a.get("id") for a in self.iter_anns() if is_id(a.get("id")))

    # -- loading --------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> AnnotationDocument:
        """Read and parse a JSON file; malformed files raise DatasetError with line and column."""
        path = Path(path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise DatasetError(f"cannot read {path}: {exc.strerror or exc}") from None
        return cls.from_bytes(raw, path)

    @classmethod
    def from_bytes(cls, raw: bytes, path: str | os.PathLike[str] | None = None) -> AnnotationDocument:
        constants: list[str] = []

        def constant(name: str) -> float:
            constants.append(name)
            return float(name)

        try:
            data = json.loads(raw, parse_constant=constant)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
        except UnicodeDecodeError:
            raise DatasetError(f"{path}: not a UTF-8 text file") from None
        except RecursionError:
            raise DatasetError(f"{path}: JSON nested too deeply") from None
        return cls(data, path, finite=not may_hold_non_finite(raw, bool(constants)))

    def _name(self) -> str:
        return str(self.path) if self.path is not None else "dataset"

    # -- queries --------------------------------------------------------------------
    @property
    def split(self) -> str:
        """Split name: the file stem (``train.json`` -> ``train``)."""
        return self.path.stem if self.path is not None else ""

    def __len__(self) -> int:
        return len(self.images)

    def image(self, image_id: int) -> dict[str, Any]:
        return self.images[self._pos[image_id]]

    def has_image(self, image_id: int) -> bool:
        return image_id in self._pos

    def image_ids(self) -> list[int]:
        return [img["id"] for img in self.images]

    def anns(self, image_id: int) -> list[dict[str, Any]]:
        """The annotation dicts of one image (read-only view: edit through :meth:`apply`)."""
        return self._anns[image_id]

    def people(self, image_id: int) -> list[Person]:
        return [Person.from_ann(a) for a in self._anns[image_id]]

    def person(self, image_id: int, index: int) -> Person:
        return Person.from_ann(self._anns[image_id][index])

    def ann_id_in_use(self, ann_id: Any) -> bool:
        return is_id(ann_id) and self._ids[ann_id] > 0

    def new_ann_id(self) -> int:
        """A fresh annotation id (never reused within this document)."""
        ann_id = self._next_id
        self._next_id += 1
        return ann_id

    def iter_anns(self) -> Iterator[dict[str, Any]]:
        for img in self.images:
            yield from self._anns[img["id"]]
        yield from self.orphans

    @property
    def root(self) -> Path:
        """Folder that relative ``file_name``/``csi_file`` references are resolved against (the JSON's)."""
        return self.path.resolve().parent if self.path is not None else Path.cwd()

    def resolve(self, img: dict[str, Any], key: str = "file_name") -> Path | None:
        """Absolute path of an image's ``file_name`` (or ``csi_file``) relative to the JSON's folder; None if unset."""
        found = resolve_path(self.root, img.get(key))
        return None if found is None else Path(found)

    # -- editing --------------------------------------------------------------------
    def apply(self, op: Op) -> None:
        """Apply one edit operation (see :mod:`app.backend.annotations.ops`).

        Raises:
            OpConflictError: the document is not in the state the operation expects.
        """
        image_id = op["image_id"]
        if image_id not in self._anns:
            raise OpConflictError(f"edit refers to image {image_id}, which is not in the file")
        people = self._anns[image_id]
        index = op["index"]
        kind = op["op"]
        if kind == "insert":
            if not 0 <= index <= len(people):
                raise OpConflictError(f"cannot insert a person at {index} (image has {len(people)})")
            people.insert(index, dict(op["ann"]))
            self._count_id(op["ann"], 1)
            ann_id = op["ann"].get("id")
            if isinstance(ann_id, int) and ann_id >= self._next_id:
                self._next_id = ann_id + 1
            return
        if not 0 <= index < len(people):
            raise OpConflictError(f"no person {index} in image {image_id}")
        expected = op["before"] if kind == "replace" else op["ann"]
        if people[index] != expected:
            raise OpConflictError(f"person {index} of image {image_id} is not in the state the edit expects")
        if kind == "replace":
            self._count_id(people[index], -1)
            people[index] = dict(op["after"])
            self._count_id(people[index], 1)
        elif kind == "remove":
            self._count_id(people[index], -1)
            del people[index]
        else:
            raise OpConflictError(f"unknown edit operation {kind!r}")

    def _count_id(self, ann: dict[str, Any], step: int) -> None:
        if is_id(ann.get("id")):
            self._ids[ann["id"]] += step

    # -- output ---------------------------------------------------------------------
    def to_coco(self) -> dict[str, Any]:
        """The whole file as a JSON-serialisable dict (top-level keys in their loaded order)."""
        out = dict(self.data)
        out["annotations"] = list(self.iter_anns())
        return out

    def to_json_bytes(self) -> bytes:
        return json.dumps(self.to_coco(), ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")

    # -- validation -------------------------------------------------------------------
    def validate(self, check_files: bool = True) -> list[str]:
        """Problems that make the file unsafe to overwrite (empty list = valid).

        Uses the project's dataset checks (:func:`app.backend.data.validate.check_dataset`,
        the same the loader applies: ids, sizes, referenced files when ``check_files``, box,
        keypoint and DensePose ranges, duplicate ids, unknown images). At most
        ``MAX_PROBLEMS`` messages plus a summary line.
        """
        _, _, found = check_dataset(self.to_coco(), self.root, check_files=check_files)
        problems = [str(p) for p in found[:MAX_PROBLEMS]]
        if self.orphans and not found:
            problems.append(f"{len(self.orphans)} annotations refer to images not in the file")
        if len(found) > MAX_PROBLEMS:
            problems.append(f"... {len(found) - MAX_PROBLEMS} more problems")
        return problems

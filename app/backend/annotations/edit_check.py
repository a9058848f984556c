"""What an edit would break: the check a session runs before it confirms an edit.

An edit may not give the person it writes a validation problem that person did not already
have (so a file that was valid stays valid, and one that was not can still be worked on): the
loader's checks of one annotation against its image size
(:func:`app.backend.data.validate.annotation_problems`: box inside the image, keypoint and
DensePose ranges, finite numbers, ...), a category that is in ``categories``, an annotation id no
other person has, and the image it names being the image it is in. Removing a person is always
allowed.
"""

from __future__ import annotations

from typing import Any

from app.backend.annotations.document import AnnotationDocument
from app.backend.annotations.ops import Op
from app.backend.data.validate import annotation_problems, is_id


def edit_problems(doc: AnnotationDocument, op: Op) -> list[str]:
    """The problems ``op`` (a well-formed operation, see :mod:`~app.backend.annotations.ops`) would add; sorted."""
    if op["op"] == "remove":
        return []
    image_id = op["image_id"]
    if not doc.has_image(image_id):
        return [f"image {image_id!r:.40} is not in the file"]
    new = op["after"] if op["op"] == "replace" else op["ann"]
    old = op["before"] if op["op"] == "replace" else None
    img = doc.image(image_id)
    w, h = img.get("width"), img.get("height")
    size = (h, w) if all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (w, h)) else None
    found = _problems(doc, new, size) - (_problems(doc, old, size) if old is not None else set())
    if new.get("image_id") != image_id:
        found.add(f"the person's image_id {new.get('image_id')!r:.40} is not image {image_id!r:.40}")
    new_id = new.get("id")
    if (old is None or old.get("id") != new_id) and doc.ann_id_in_use(new_id):
        found.add(f"duplicate annotation id {new_id!r:.40}")
    return sorted(found)


def _problems(doc: AnnotationDocument, ann: dict[str, Any], size: tuple[int, int] | None) -> set[str]:
    found = {p.message for p in annotation_problems(ann, size)}
    cats = {c.get("id") for c in doc.data.get("categories") or () if isinstance(c, dict)}
    if cats and not (is_id(ann.get("category_id")) and ann["category_id"] in cats):
        found.add(f"category_id {ann.get('category_id')!r:.40} is not in 'categories'")
    return found

"""Column arrays over the images of one or more dataset files: what the dataset view lists and filters.

One row per image, no per-image Python objects beyond the file-name list, so the views
can model 50,000 images as arrays. Built in one pass over the already-parsed documents.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.backend.annotations.document import AnnotationDocument
from app.backend.structures.body import NUM_KEYPOINTS


@dataclass
class DatasetIndex:
    """Per-image columns (length N) across documents.

    Attributes:
        docs: the documents, one per split file.
        doc_of: int32 (N,) index into ``docs``.
        image_ids: int64 (N,) COCO image ids.
        file_names: list of N ``file_name`` strings as written in the JSON.
        num_people: int32 (N,).
        has_kp, has_dp, has_csi: bool (N,): any person with a labelled keypoint /
            with DensePose points; the image names a ``csi_file``.
        width, height: int32 (N,).
        kp_visibility: int64 (17, 3): count of people per keypoint and visibility 0/1/2.
        box_wh: float32 (M, 2): width and height of every person box (pixels).
    """

    docs: list[AnnotationDocument]
    doc_of: np.ndarray
    image_ids: np.ndarray
    file_names: list[str]
    num_people: np.ndarray
    has_kp: np.ndarray
    has_dp: np.ndarray
    has_csi: np.ndarray
    width: np.ndarray
    height: np.ndarray
    kp_visibility: np.ndarray = field(default_factory=lambda: np.zeros((NUM_KEYPOINTS, 3), np.int64))
    box_wh: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), np.float32))

    def __len__(self) -> int:
        return len(self.file_names)

    @property
    def split_names(self) -> list[str]:
        return [d.split for d in self.docs]

    def filter_mask(
        self,
        *,
        split: int | None = None,
        has_kp: bool | None = None,
        has_dp: bool | None = None,
        has_csi: bool | None = None,
        min_people: int = 0,
        max_people: int | None = None,
        name_contains: str = "",
    ) -> np.ndarray:
        """bool (N,) of rows matching every given criterion (None = any)."""
        mask = self.num_people >= min_people
        if max_people is not None:
            mask &= self.num_people <= max_people
        if split is not None:
            mask &= self.doc_of == split
        for wanted, col in ((has_kp, self.has_kp), (has_dp, self.has_dp), (has_csi, self.has_csi)):
            if wanted is not None:
                mask &= col == wanted
        if name_contains:
            needle = name_contains.lower()
            mask &= np.fromiter((needle in n.lower() for n in self.file_names), bool, len(self.file_names))
        return mask

    def stats(self) -> dict[str, Any]:
        """Counts for the statistics panel (plain Python/numpy values)."""
        return {
            "images": len(self),
            "people": int(self.num_people.sum()),
            "with_keypoints": int(self.has_kp.sum()),
            "with_densepose": int(self.has_dp.sum()),
            "with_csi": int(self.has_csi.sum()),
            "per_split": {d.split: int((self.doc_of == n).sum()) for n, d in enumerate(self.docs)},
            "kp_visibility": self.kp_visibility.copy(),
            "box_wh": self.box_wh.copy(),
        }


def build_index(docs: Sequence[AnnotationDocument]) -> DatasetIndex:
    """One pass over the images and annotations of ``docs``."""
    doc_of: list[int] = []
    image_ids: list[int] = []
    names: list[str] = []
    num_people: list[int] = []
    has_kp: list[bool] = []
    has_dp: list[bool] = []
    has_csi: list[bool] = []
    widths: list[int] = []
    heights: list[int] = []
    vis_rows: list[list[Any]] = []
    boxes: list[list[Any]] = []
    for d_idx, doc in enumerate(docs):
        for img in doc.images:
            anns = doc.anns(img["id"])
            kp_any = dp_any = False
            for ann in anns:
                kps = ann.get("keypoints")
                if kps and len(kps) == 3 * NUM_KEYPOINTS:
                    vis = kps[2::3]
                    vis_rows.append(vis)
                    kp_any = kp_any or any(vis)
                if ann.get("dp_I"):
                    dp_any = True
                bbox = ann.get("bbox")
                if bbox and len(bbox) == 4:
                    boxes.append(bbox)
            doc_of.append(d_idx)
            image_ids.append(img["id"])
            names.append(str(img.get("file_name", "")))
            num_people.append(len(anns))
            has_kp.append(kp_any)
            has_dp.append(dp_any)
            has_csi.append(bool(img.get("csi_file")))
            w, h = img.get("width", 0), img.get("height", 0)
            widths.append(w if isinstance(w, int) else 0)
            heights.append(h if isinstance(h, int) else 0)
    kp_vis = np.zeros((NUM_KEYPOINTS, 3), np.int64)
    if vis_rows:
        v = np.clip(np.asarray(vis_rows, dtype=np.float64), 0, 2).astype(np.int64)
        for level in range(3):
            kp_vis[:, level] = (v == level).sum(axis=0)
    box_arr = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    return DatasetIndex(
        docs=list(docs),
        doc_of=np.asarray(doc_of, np.int32),
        image_ids=np.asarray(image_ids, np.int64),
        file_names=names,
        num_people=np.asarray(num_people, np.int32),
        has_kp=np.asarray(has_kp, bool),
        has_dp=np.asarray(has_dp, bool),
        has_csi=np.asarray(has_csi, bool),
        width=np.asarray(widths, np.int32),
        height=np.asarray(heights, np.int32),
        kp_visibility=kp_vis,
        box_wh=box_arr[:, 2:4].copy(),
    )

"""Dataset index columns, filters and statistics; thumbnail cache in memory and on disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.backend.annotations import AnnotationDocument
from app.backend.annotations.index import build_index
from app.backend.annotations.thumbnails import ThumbnailCache


def test_index_columns_filters_and_stats(coco_file: Path) -> None:
    doc = AnnotationDocument.load(coco_file)
    doc.anns(3).clear()
    idx = build_index([doc])
    assert len(idx) == 3
    assert idx.num_people.tolist() == [2, 2, 0]
    assert idx.has_dp.tolist() == [True, True, False]
    assert idx.has_csi.tolist() == [False] * 3
    assert idx.filter_mask(min_people=1).tolist() == [True, True, False]
    assert idx.filter_mask(name_contains="000001").tolist() == [False, True, False]
    assert idx.filter_mask(has_dp=False).tolist() == [False, False, True]
    stats = idx.stats()
    assert stats["people"] == 4 and stats["images"] == 3 and stats["per_split"] == {"train": 3}
    assert stats["kp_visibility"].sum() == 4 * 17
    assert stats["kp_visibility"][0].tolist() == [4, 0, 0]  # keypoint 0 has v = 0 in the fixture
    assert stats["box_wh"].shape == (4, 2)


def test_thumbnail_cache_memory_and_disk(coco_file: Path, tmp_path: Path) -> None:
    img = coco_file.parent / "images" / "train" / "000000.jpg"
    cache = ThumbnailCache(tmp_path / "thumbs", size=32)
    assert cache.peek(img) is None
    t = cache.get(img, hint_wh=(64, 48))
    assert t.shape == (24, 32, 3) and t.dtype == np.uint8
    assert cache.peek(img) is t
    assert len(list((tmp_path / "thumbs").rglob("*.jpg"))) == 1
    fresh = ThumbnailCache(tmp_path / "thumbs", size=32)
    again = fresh.get(img)
    assert again.shape == t.shape  # from disk
    assert cache.get(tmp_path / "nope.jpg") is None
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    assert cache.get(tmp_path / "bad.jpg") is None

"""Dataset index columns, filters and statistics; thumbnail cache in memory and on disk."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

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


def test_thumbnail_cache_memory_and_disk(tmp_path: Path) -> None:
    img = tmp_path / "red_blue.jpg"
    bgr = np.zeros((48, 64, 3), np.uint8)
    bgr[:, :32] = (0, 0, 255)  # red left half, blue right half
    bgr[:, 32:] = (255, 0, 0)
    cv2.imwrite(str(img), bgr)
    cache = ThumbnailCache(tmp_path / "thumbs", size=32)
    assert cache.peek(img) is None
    t = cache.get(img, hint_wh=(64, 48))
    assert t.shape == (24, 32, 3) and t.dtype == np.uint8
    assert t[:, :12].mean(axis=(0, 1)) == pytest.approx([255, 0, 0], abs=12)  # the picture itself, in RGB order
    assert t[:, 20:].mean(axis=(0, 1)) == pytest.approx([0, 0, 255], abs=12)
    assert cache.peek(img) is t
    (disk,) = (tmp_path / "thumbs").rglob("*.jpg")
    stored = cv2.cvtColor(cv2.imread(str(disk), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    assert np.abs(stored.astype(int) - t).mean() < 3  # the disk copy is the same thumbnail (JPEG at 85)
    # a new cache reads the disk copy instead of decoding the image again: mark the copy to tell them apart
    marked = stored.copy()
    marked[:4, :4] = (255, 0, 255)
    cv2.imwrite(str(disk), cv2.cvtColor(marked, cv2.COLOR_RGB2BGR))
    again = ThumbnailCache(tmp_path / "thumbs", size=32).get(img)
    assert np.array_equal(again, cv2.cvtColor(cv2.imread(str(disk), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB))
    assert again[:4, :4].mean(axis=(0, 1)).tolist() == pytest.approx([255, 0, 255], abs=40)
    assert cache.get(tmp_path / "nope.jpg") is None
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    assert cache.get(tmp_path / "bad.jpg") is None

"""A box edit that keeps a person's DensePose points and masks where they are on the image."""

from __future__ import annotations

import numpy as np
import pytest

from app.backend.annotations import DensePosePoint, Person
from app.backend.data.rle import decode_dp_masks, encode_dp_masks
from app.backend.structures.box_grid import grid_to_abs


def _person() -> Person:
    segm = np.zeros((256, 256), np.uint8)
    segm[64:192, 32:96] = 1  # torso on the left half of the box
    segm[64:192, 160:224] = 2  # right hand on the right half
    points = [DensePosePoint(64.0, 128.0, 2, 0.5, 0.5), DensePosePoint(200.0, 100.0, 3, 0.2, 0.8)]
    return Person(1, 1, [100.0, 50.0, 80.0, 160.0], None, points, {"dp_masks": encode_dp_masks(segm), "area": 1})


def test_keeping_densepose_on_the_image_when_the_box_moves_and_shrinks() -> None:
    person = _person()
    before = [person.dp_to_abs(p) for p in person.dp]
    segm_before = decode_dp_masks(person.extra["dp_masks"])
    # the box moves right by 15 px and narrows to 30 px: point 2 (x = 162.5 px) and the hand fall outside
    outside = person.set_bbox_keep_densepose(115.0, 50.0, 30.0, 160.0)
    assert person.bbox == [115.0, 50.0, 30.0, 160.0] and outside == 1
    assert person.dp_to_abs(person.dp[0]) == pytest.approx(before[0], abs=0.01)  # same image pixel
    x, _ = person.dp_to_abs(person.dp[1])
    assert x == pytest.approx(115.0 + 30.0 * 255 / 256, abs=0.01)  # moved to the box's edge
    # the masks too: every cell of the new box shows what the old box had at that image pixel
    segm = decode_dp_masks(person.extra["dp_masks"])
    rows, cols = np.mgrid[0:256:16, 0:256:16]
    ax, ay = grid_to_abs(cols + 0.5, rows + 0.5, person.bbox, xywh=True)
    old_c = np.floor((ax - 100.0) / 80.0 * 256).astype(int)
    old_r = np.floor((ay - 50.0) / 160.0 * 256).astype(int)
    assert np.array_equal(segm[rows, cols], segm_before[old_r, old_c])
    assert 1 in segm and 2 not in segm  # the torso stays on the image, the hand was cut off with the box


def test_following_the_box_is_set_bbox() -> None:
    person = _person()
    rel = [(p.x, p.y) for p in person.dp]
    masks = person.extra["dp_masks"]
    person.set_bbox(120.0, 50.0, 40.0, 160.0)
    assert [(p.x, p.y) for p in person.dp] == rel and person.extra["dp_masks"] == masks

"""Box-relative DensePose coordinates: one set of conversions for floats, numpy and torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app.backend.structures.box_grid import (
    DP_GRID,
    abs_to_grid,
    annotation_box_xyxy,
    box_region,
    cell_centres_on_dp_grid,
    densepose_points_abs,
    grid_to_abs,
)

BOX_XYXY = (10.0, 20.0, 74.0, 148.0)  # 64 x 128 pixels
BOX_XYWH = (10.0, 20.0, 64.0, 128.0)


def test_grid_corners_and_centre_land_on_the_box() -> None:
    x, y = grid_to_abs(np.array([0.0, 128.0, 256.0]), np.array([0.0, 128.0, 256.0]), BOX_XYXY)
    assert x.tolist() == [10.0, 42.0, 74.0] and y.tolist() == [20.0, 84.0, 148.0]
    assert grid_to_abs(128.0, 64.0, BOX_XYWH, xywh=True) == (42.0, 52.0)


@pytest.mark.parametrize("kind", ["float", "numpy", "torch"])
def test_abs_to_grid_inverts_grid_to_abs_for_every_array_type(kind: str) -> None:
    gx, gy = [3.5, 100.25, 255.0], [0.5, 17.0, 200.75]
    conv = {"float": lambda v: v, "numpy": np.asarray, "torch": lambda v: torch.tensor(v, dtype=torch.float64)}[kind]
    if kind == "float":
        pairs = [abs_to_grid(*grid_to_abs(a, b, BOX_XYXY), BOX_XYXY) for a, b in zip(gx, gy)]
        back_x, back_y = [p[0] for p in pairs], [p[1] for p in pairs]
    else:
        box = torch.tensor(BOX_XYXY, dtype=torch.float64) if kind == "torch" else np.asarray(BOX_XYXY)
        back_x, back_y = abs_to_grid(*grid_to_abs(conv(gx), conv(gy), box), box)
        assert type(back_x) is type(conv(gx))
    assert np.allclose(np.asarray(back_x), gx) and np.allclose(np.asarray(back_y), gy)


def test_xywh_and_xyxy_boxes_agree_and_a_flat_box_does_not_divide_by_zero() -> None:
    assert abs_to_grid(42.0, 84.0, BOX_XYWH, xywh=True) == abs_to_grid(42.0, 84.0, BOX_XYXY) == (128.0, 128.0)
    x, _ = abs_to_grid(10.0, 20.0, (10.0, 20.0, 10.0, 30.0))
    assert x == 0.0
    gx, _ = abs_to_grid(torch.tensor([11.0]), torch.tensor([21.0]), torch.tensor([10.0, 20.0, 10.0, 30.0]))
    assert torch.isfinite(gx).all()


def test_cell_centres_of_a_pixel_grid_on_the_dp_grid() -> None:
    dp_x, dp_y = cell_centres_on_dp_grid(np.array([0, 3]), np.array([0, 1]), (4, 2))  # 4 rows, 2 cols over the box
    assert dp_x.tolist() == [64.0, 192.0] and dp_y.tolist() == [32.0, 224.0]


def test_annotation_boxes_and_points_in_pixels() -> None:
    ann = {"bbox": list(BOX_XYWH), "dp_x": [0.0, 256.0], "dp_y": [128.0, 64.0], "dp_I": [1, 24], "dp_U": [0.1, 0.9],
           "dp_V": [0.2, 0.8]}  # fmt: skip
    assert annotation_box_xyxy(ann).tolist() == list(BOX_XYXY)
    assert annotation_box_xyxy({"bbox": list(BOX_XYXY), "bbox_mode": 0}).tolist() == list(BOX_XYXY)
    with pytest.raises(ValueError, match="bbox_mode"):
        annotation_box_xyxy({"bbox": list(BOX_XYXY), "bbox_mode": 4})
    pts = densepose_points_abs(ann)
    assert pts["x"].tolist() == [10.0, 74.0] and pts["y"].tolist() == [84.0, 52.0]
    assert pts["i"].tolist() == [1, 24] and pts["u"].dtype == np.float32
    assert densepose_points_abs({"bbox": list(BOX_XYWH)}) is None
    assert DP_GRID == 256


def test_box_region_clips_a_box_grid_to_the_image() -> None:
    img_sl, grid_sl = box_region((-2.0, 3.0, 8.0, 9.0), (6, 10), (5, 6))
    assert img_sl == (slice(3, 5), slice(0, 6)) and grid_sl == (slice(0, 2), slice(2, 8))
    assert box_region((7.0, 0.0, 9.0, 2.0), (2, 2), (5, 6)) is None

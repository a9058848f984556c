"""Rendering checks at known pixels: parts, U/V maps, contours, opacity, thresholds, GT, layout."""

from __future__ import annotations

import numpy as np
import pytest

from app.backend.structures import DensePoseResult, FramePrediction
from app.backend.vis import (
    PART_COLORS_BGR,
    OverlayOptions,
    colorize_uv,
    ground_truth_frame,
    render_overlay,
    side_by_side,
    to_rgb,
)
from app.backend.vis.densepose import contour_levels

DP_ONLY = OverlayOptions(show_boxes=False, show_keypoints=False, show_parts=True, opacity=1.0, score_threshold=0.0)


def person(box=(20.0, 30.0, 60.0, 80.0), part=5, u=None, v=None) -> DensePoseResult:
    x0, y0, x1, y1 = box
    h, w = round(y1 - y0), round(x1 - x0)
    labels = np.full((h, w), part, np.uint8)
    labels[:, :5] = 0  # a background strip inside the box
    uu = np.tile(np.linspace(0.02, 0.98, w, dtype=np.float32), (h, 1)) if u is None else u
    vv = np.full((h, w), 0.3, np.float32) if v is None else v
    return DensePoseResult(labels=labels, uv=np.stack([uu, vv]) * (labels > 0), box_xyxy=box)


def frame(results, scores=None, size=(100, 120)) -> FramePrediction:
    boxes = np.array([r.box_xyxy for r in results], np.float32)
    scores = np.ones(len(results)) if scores is None else np.asarray(scores)
    return FramePrediction(size, boxes, scores, None, list(results))


def test_part_colour_inside_part_and_nothing_outside():
    image = np.full((100, 120, 3), 7, np.uint8)
    out = render_overlay(image, frame([person(part=5)]), DP_ONLY)
    assert out[50, 40].tolist() == PART_COLORS_BGR[5].tolist()  # inside box and part
    assert out[50, 22].tolist() == [7, 7, 7]  # inside box, background strip
    assert out[10, 10].tolist() == [7, 7, 7] and out[90, 100].tolist() == [7, 7, 7]  # outside box
    changed = np.any(out != image, axis=2)
    assert not changed[:30].any() and not changed[80:].any() and not changed[:, 60:].any()
    assert np.array_equal(image, np.full((100, 120, 3), 7, np.uint8)), "input must not be modified"


def test_part_colours_distinct_and_bgr_uint8():
    assert PART_COLORS_BGR.shape == (25, 3) and PART_COLORS_BGR.dtype == np.uint8
    assert len({tuple(c) for c in PART_COLORS_BGR.tolist()}) == 25


def test_opacity_zero_leaves_image_unchanged():
    image = np.random.default_rng(0).integers(0, 255, (100, 120, 3), dtype=np.uint8)
    opts = OverlayOptions(show_boxes=False, show_keypoints=False, opacity=0.0, score_threshold=0.0).all_layers()
    opts = OverlayOptions(**{**opts.__dict__, "show_boxes": False, "show_keypoints": False})
    assert np.array_equal(render_overlay(image, frame([person()]), opts), image)


def test_half_opacity_blends():
    image = np.zeros((100, 120, 3), np.uint8)
    out = render_overlay(image, frame([person(part=3)]), OverlayOptions(**{**DP_ONLY.__dict__, "opacity": 0.5}))
    assert np.abs(out[50, 40].astype(int) - PART_COLORS_BGR[3].astype(int) // 2).max() <= 1


def test_u_and_v_maps_use_the_colour_map():
    image = np.zeros((100, 120, 3), np.uint8)
    res = person()
    opts = OverlayOptions(**{**DP_ONLY.__dict__, "show_parts": False, "show_u": True})
    out = render_overlay(image, frame([res]), opts)
    expect = colorize_uv(res.uv[0][20:21, 30:31])[0, 0]
    assert np.abs(out[50, 50].astype(int) - expect.astype(int)).max() <= 1
    opts = OverlayOptions(**{**DP_ONLY.__dict__, "show_parts": False, "show_v": True})
    out = render_overlay(image, frame([res]), opts)
    assert out[50, 50].tolist() == colorize_uv(np.array([[0.3]], np.float32))[0, 0].tolist()


def test_contours_at_u_level_boundaries_only_within_parts():
    labels = np.zeros((6, 40), np.uint8)
    labels[:, 1:20] = 2
    labels[:, 20:39] = 7
    u = np.tile(((np.arange(40) + 0.5) / 40).astype(np.float32), (6, 1))  # 4 bins of 10 px
    lv = contour_levels(labels, u, levels=4)
    cols = sorted(set(np.nonzero(lv)[1].tolist()))
    assert cols == [9, 29], "a line where floor(4u) changes inside a part; none at the part border (19/20)"
    assert lv[0, 9] == 1 and lv[0, 29] == 3  # line values 1/4 and 3/4
    constant = contour_levels(labels, np.full((6, 40), 0.4, np.float32), levels=4)
    assert not constant.any()


def test_contour_layer_draws_lines_and_nothing_else():
    image = np.zeros((100, 120, 3), np.uint8)
    opts = OverlayOptions(**{**DP_ONLY.__dict__, "show_parts": False, "show_contours": True})
    out = render_overlay(image, frame([person()]), opts)
    changed = np.any(out != 0, axis=2)
    assert changed.any()
    assert changed.sum() <= 10 * 50  # one-pixel lines (about 9 U levels x 50 rows), not a fill
    assert changed[30:80, 20:60].sum() == changed.sum()


def test_score_threshold_hides_low_scoring_people():
    image = np.zeros((100, 120, 3), np.uint8)
    pred = frame([person(part=5), person(box=(70.0, 10.0, 110.0, 60.0), part=9)], scores=[0.9, 0.2])
    out = render_overlay(image, pred, OverlayOptions(**{**DP_ONLY.__dict__, "score_threshold": 0.5}))
    assert out[50, 40].tolist() == PART_COLORS_BGR[5].tolist()
    assert not out[:, 66:].any()


def test_prediction_rescaled_to_a_larger_image():
    image = np.zeros((200, 240, 3), np.uint8)
    out = render_overlay(image, frame([person(part=5)], size=(100, 120)), DP_ONLY)
    assert out[110, 90].tolist() == PART_COLORS_BGR[5].tolist()  # (45, 55) in the small frame
    assert not out[:55].any()


def test_boxes_drawn_with_caption():
    image = np.zeros((100, 120, 3), np.uint8)
    opts = OverlayOptions(show_boxes=True, show_keypoints=False, show_parts=False, score_threshold=0.0)
    out = render_overlay(image, frame([person()], scores=[0.87]), opts)
    assert out[55, 20].any() and out[30, 40].any()  # left and top edges
    assert not out[55, 40].any()  # box interior untouched


def gt_record() -> dict:
    kps = np.zeros((17, 3), np.float32)
    kps[5] = (30, 40, 2)
    kps[6] = (60, 40, 1)
    kps[0] = (95, 15, 2)  # nose: its limbs need the (unlabelled) eyes
    kps[10] = (95, 60, 1)  # right wrist: its limb needs the (unlabelled) right elbow
    return {
        "height": 100,
        "width": 120,
        "image_id": 1,
        "annotations": [
            {
                "bbox": [20.0, 30.0, 40.0, 50.0],
                "bbox_mode": 1,
                "category_id": 0,
                "iscrowd": 0,
                "keypoints": kps.reshape(-1).tolist(),
                "dp_x": [128.0],
                "dp_y": [128.0],
                "dp_I": [4],
                "dp_U": [0.5],
                "dp_V": [0.5],
            }
        ],
    }


def test_ground_truth_frame_converts_boxes_keypoints_and_points():
    gt = ground_truth_frame(gt_record())
    assert gt.is_ground_truth and gt.image_size == (100, 120)
    np.testing.assert_allclose(gt.boxes, [[20, 30, 60, 80]])
    assert gt.keypoints.shape == (1, 17, 3) and gt.keypoints[0, 6, 2] == 1
    pts = gt.extra["densepose_points"][0]
    assert (pts["x"][0], pts["y"][0]) == (40.0, 55.0)


def test_ground_truth_points_and_visibility_styles():
    image = np.zeros((100, 120, 3), np.uint8)
    opts = OverlayOptions(show_boxes=False, show_keypoints=True, show_parts=True, opacity=0.7)
    out = render_overlay(image, ground_truth_frame(gt_record()), opts)
    assert out[55, 40].tolist() == PART_COLORS_BGR[4].tolist()  # the DensePose point
    assert out[15, 95].any(), "visible keypoint: filled"
    assert not out[60, 95].any() and out[60, 99].any(), "occluded keypoint: hollow ring"
    solid = np.any(out[38:43, 33:58] != 0, axis=2).sum()
    assert solid > 0
    rec = gt_record()
    rec["annotations"][0]["keypoints"][6 * 3 + 2] = 0
    out0 = render_overlay(image, ground_truth_frame(rec), opts)
    assert not out0[36:45, 55:66].any(), "v=0: keypoint hidden"
    dashed = np.any(out[38:43, 33:58] != 0, axis=2).sum()
    rec["annotations"][0]["keypoints"][6 * 3 + 2] = 2
    full = np.any(render_overlay(image, ground_truth_frame(rec), opts)[38:43, 33:58] != 0, axis=2).sum()
    assert dashed < 0.8 * full, "a limb to an occluded keypoint is dashed"


def test_predicted_keypoints_follow_threshold():
    image = np.zeros((60, 60, 3), np.uint8)
    kps = np.zeros((1, 17, 3), np.float32)
    kps[0, 0] = (20, 20, 0.9)
    kps[0, 1] = (40, 40, 0.01)
    pred = FramePrediction((60, 60), [[5, 5, 55, 55]], [0.9], kps)
    opts = OverlayOptions(show_boxes=False, show_parts=False, kp_threshold=0.5)
    out = render_overlay(image, pred, opts)
    assert out[20, 20].any() and not out[40, 40].any()


def test_side_by_side_and_rgb():
    left = np.zeros((50, 60, 3), np.uint8)
    right = np.full((100, 80, 3), (255, 0, 0), np.uint8)
    both = side_by_side(left, right)
    assert both.shape == (50 + 24, 60 + 4 + 40, 3)
    assert both[40, 80].tolist() == [255, 0, 0]
    assert both[5:20, :60].any(), "caption drawn"
    assert to_rgb(right)[0, 0].tolist() == [0, 0, 255]


@pytest.mark.parametrize("box", [(-10.0, -10.0, 30.0, 30.0), (100.0, 80.0, 140.0, 130.0), (200.0, 200.0, 240.0, 240.0)])
def test_boxes_partly_or_fully_outside_the_image(box):
    image = np.zeros((100, 120, 3), np.uint8)
    out = render_overlay(image, frame([person(box=box)]), DP_ONLY.all_layers())
    assert out.shape == image.shape

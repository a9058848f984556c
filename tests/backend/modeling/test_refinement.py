"""Keypoint/DensePose refinement: distinct parameter names, identity at init, branches really combined."""

from __future__ import annotations

import torch
from detectron2.utils.events import EventStorage

from app.backend.modeling import build_model
from tests.backend.modeling.conftest import frame, person, tiny_cfg


def _pair():
    torch.manual_seed(0)
    plain = build_model(tiny_cfg("MODEL.ROI_KP_DP_REFINE.ENABLED", "False")).eval()
    refined = build_model(
        tiny_cfg("MODEL.ROI_KP_DP_REFINE.ENABLED", "True", "MODEL.ROI_KP_DP_REFINE.NUM_CONVS", "3")
    ).eval()
    result = refined.load_state_dict(plain.state_dict(), strict=False)
    return plain, refined, result


def _infer(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        return model([{"csi": torch.randn(2, 150, 3, 3, generator=g)}])[0]["instances"]


def test_refinement_parameters_have_their_own_names():
    plain, refined, result = _pair()
    assert not any("kp_dp_refine" in k for k in plain.state_dict())
    assert result.unexpected_keys == []
    assert result.missing_keys and all(k.startswith("roi_heads.kp_dp_refine.") for k in result.missing_keys)
    unit = refined.roi_heads.kp_dp_refine.kp_unit
    assert sum(isinstance(m, torch.nn.Conv2d) for m in unit.blocks) == 3  # NUM_CONVS
    assert unit.blocks[0].in_channels == 32 + 32  # keypoint features + DensePose features
    assert unit.project.out_channels == 32


def test_refinement_starts_as_identity_so_plain_checkpoints_stay_valid():
    plain, refined, _ = _pair()
    a, b = _infer(plain), _infer(refined)
    torch.testing.assert_close(b.pred_boxes.tensor, a.pred_boxes.tensor)
    torch.testing.assert_close(b.pred_keypoints, a.pred_keypoints)
    torch.testing.assert_close(b.pred_densepose.fine_segm, a.pred_densepose.fine_segm)
    torch.testing.assert_close(b.pred_densepose.u, a.pred_densepose.u)


def test_keypoints_depend_on_densepose_features_only_when_refining():
    plain, refined, _ = _pair()
    torch.manual_seed(1)
    for p in refined.roi_heads.kp_dp_refine.parameters():
        torch.nn.init.normal_(p, std=0.05)
    base_plain, base_ref = _infer(plain).pred_keypoint_heatmaps, _infer(refined).pred_keypoint_heatmaps
    with torch.no_grad():
        for model in (plain, refined):
            model.roi_heads.densepose_head.body_conv_fcn1.weight.mul_(3.0)
    assert torch.allclose(_infer(plain).pred_keypoint_heatmaps, base_plain)
    assert not torch.allclose(_infer(refined).pred_keypoint_heatmaps, base_ref)


def test_refinement_trains_and_its_parameters_get_gradients():
    _, refined, _ = _pair()
    refined.train()
    frames = [frame([person((10, 6, 40, 58), seed=1)], seed=1), frame([person((30, 10, 60, 60), seed=2)], seed=2)]
    with EventStorage():
        losses = refined(frames)
    sum(losses.values()).backward()
    proj = refined.roi_heads.kp_dp_refine.dp_unit.project.weight.grad
    assert proj is not None and proj.abs().sum() > 0  # zero-initialised, but it learns from step one

"""The MTN part-image target and loss, and the per-value CSI normalisation."""

from __future__ import annotations

import pytest
import torch
from detectron2.structures import Boxes, Instances
from detectron2.utils.events import EventStorage

from app.backend.modeling import build_model
from app.backend.modeling.mtn_target import PART_PALETTE, part_target, part_target_loss
from app.backend.structures import DensePoseInstance, DensePoseTargets
from tests.backend.modeling.conftest import frame, person, tiny_cfg


def _instances(boxes, segms, size=(40, 60)) -> Instances:
    inst = Instances(size)
    inst.gt_boxes = Boxes(torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4))
    dps = []
    for segm in segms:
        if segm is None:
            dps.append(None)
            continue
        z = torch.zeros(1)
        dps.append(DensePoseInstance(x=z, y=z, i=torch.ones(1, dtype=torch.long), u=z, v=z, segm=segm))
    inst.gt_densepose = DensePoseTargets(dps)
    return inst


def test_target_paints_each_part_colour_inside_its_box_and_nothing_outside():
    segm = torch.zeros(256, 256, dtype=torch.uint8)
    segm[:128] = 14  # head in the top half of the box
    segm[128:, :128] = 5  # right foot bottom-left, bottom-right stays background
    target, weight = part_target([_instances([(10, 4, 30, 24)], [segm])], (40, 60), torch.device("cpu"))
    assert target.shape == (1, 3, 40, 60) and weight.shape == (1, 1, 40, 60)
    assert bool((weight == 1).all())
    torch.testing.assert_close(target[0, :, 4:14, 10:30], PART_PALETTE[14].view(3, 1, 1).expand(3, 10, 20))
    torch.testing.assert_close(target[0, :, 14:24, 10:20], PART_PALETTE[5].view(3, 1, 1).expand(3, 10, 10))
    assert float(target[0, :, 14:24, 20:30].abs().sum()) == 0.0  # background inside the box
    outside = torch.ones(40, 60, dtype=torch.bool)
    outside[4:24, 10:30] = False
    assert float(target[0].abs().sum(0)[outside].sum()) == 0.0


def test_people_without_dp_masks_are_ignored_not_taught_as_background():
    segm = torch.full((256, 256), 1, dtype=torch.uint8)
    inst = _instances([(0, 0, 20, 20), (30, 10, 50, 30)], [segm, None])
    target, weight = part_target([inst], (40, 60), torch.device("cpu"))
    assert float(weight[0, 0, 10:30, 30:50].sum()) == 0.0
    assert float(weight.sum()) == 40 * 60 - 20 * 20
    assert bool((target[0, :, :20, :20] == PART_PALETTE[1].view(3, 1, 1)).all())


def test_loss_is_zero_at_the_target_and_positive_elsewhere():
    segm = torch.full((256, 256), 3, dtype=torch.uint8)
    inst = _instances([(5, 5, 25, 35)], [segm])
    target, _ = part_target([inst], (40, 60), torch.device("cpu"))
    assert float(part_target_loss(target.clone(), [inst])) == pytest.approx(0.0)
    assert float(part_target_loss(torch.zeros_like(target), [inst])) > 0.0


def test_model_adds_the_loss_only_when_its_weight_is_positive():
    frames = [frame([person((10, 6, 40, 58), seed=1)], seed=1)]
    for weight, expected in (("0.0", False), ("2.0", True)):
        torch.manual_seed(0)
        model = build_model(tiny_cfg("MODEL.LOSS_WEIGHTS.MTN_PARTS", weight))
        model.train()
        with EventStorage():
            losses = model(frames)
        assert ("loss_mtn_parts" in losses) is expected
    losses["loss_mtn_parts"].backward()
    assert model.mtn.to_image.weight.grad.abs().sum() > 0  # the loss trains the MTN


def test_feature_normalisation_buffers_travel_with_the_weights_and_apply_per_value():
    cfg = tiny_cfg("INPUT.CSI.NORMALIZATION", "feature")
    model = build_model(cfg)
    assert model.csi_feature_mean.shape == (2, 150, 3, 3)
    assert {"csi_feature_mean", "csi_feature_std"} <= set(model.state_dict())
    mean = torch.randn(2, 150, 3, 3)
    std = torch.rand(2, 150, 3, 3) + 0.5
    model.set_csi_feature_stats(mean, std)
    other = build_model(cfg)
    other.load_state_dict(model.state_dict())
    model.eval()
    other.eval()
    z = torch.randn(2, 150, 3, 3)
    with torch.no_grad():
        # x = mean + std * z normalises to z in both: same MTN output
        torch.testing.assert_close(model.translate([{"csi": mean + std * z}]), other.translate([{"csi": mean + std * z}]))
        plain = build_model(tiny_cfg())
        plain.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("csi_feature")})
        plain.eval()
        torch.testing.assert_close(model.translate([{"csi": mean + std * z}]), plain.translate([{"csi": z}]))
    with pytest.raises(ValueError, match="positive stds"):
        model.set_csi_feature_stats(mean, torch.zeros(2, 150, 3, 3))
    with pytest.raises(ValueError, match="shape"):
        model.set_csi_feature_stats(torch.zeros(2, 3), torch.ones(2, 3))
    with pytest.raises(ValueError, match="globally"):
        build_model(tiny_cfg()).set_csi_feature_stats(mean, std)
    with pytest.raises(ValueError, match="NORMALIZATION"):
        build_model(tiny_cfg("INPUT.CSI.NORMALIZATION", "per-pixel"))



@pytest.mark.parametrize("scale", [0.0, 0.5, 1.0])
def test_detector_grad_scale_scales_what_the_detector_sends_into_the_mtn(scale):
    frames = [frame([person((10, 6, 40, 58), seed=1)], seed=1)]
    grads = {}
    for s in (1.0, scale):
        torch.manual_seed(0)
        model = build_model(tiny_cfg("MODEL.MTN.DETECTOR_GRAD_SCALE", str(s)))
        model.train()
        torch.manual_seed(1)  # same proposal sampling
        with EventStorage():
            losses = model(frames)
        sum(losses.values()).backward()
        grad = model.mtn.to_image.weight.grad  # None: nothing reached the MTN
        grads[s] = torch.zeros_like(model.mtn.to_image.weight) if grad is None else grad.clone()
    torch.testing.assert_close(grads[scale], grads[1.0] * scale, rtol=1e-4, atol=1e-7)
    assert float(grads[1.0].abs().sum()) > 0


def test_body_weight_scales_the_error_on_body_pixels_only():
    segm = torch.full((256, 256), 3, dtype=torch.uint8)
    inst = _instances([(0, 0, 30, 20)], [segm])  # body: 600 of 2400 pixels
    target, _ = part_target([inst], (40, 60), torch.device("cpu"))
    off_body = target.clone()
    off_body[:, :, 20:, :] += 1.0  # error on background only
    on_body = target.clone()
    on_body[:, :, :20, :30] += 1.0  # error on the body only
    for out in (off_body, on_body):
        plain = float(part_target_loss(out, [inst]))
        heavy = float(part_target_loss(out, [inst], body_weight=5.0))
        total_w = 1800 + 5 * 600
        expected = plain * 2400 / total_w * (5.0 if out is on_body else 1.0)
        assert heavy == pytest.approx(expected, rel=1e-5)

"""DensePose branch: head/predictor/decoder computations, chart losses, ROI selection, results."""

from __future__ import annotations

import pytest
import torch
from detectron2.layers import ShapeSpec
from detectron2.structures import Boxes, Instances
from torch.nn import functional as F

from app.backend.modeling import build_model
from app.backend.modeling.densepose import (
    DensePoseChartLoss,
    DensePoseChartPredictor,
    DensePoseFPNDecoder,
    DensePoseOutputs,
    DensePoseV1ConvXHead,
    densepose_to_results,
)
from app.backend.modeling.densepose.losses import resample_segm, sample_points
from app.backend.structures import DensePoseInstance, DensePoseTargets
from tests.backend.modeling.conftest import tiny_cfg


def test_head_and_predictor_compute_the_densepose_functions():
    """conv3x3+ReLU stack; each output = bilinear x2 of a stride-2 transposed conv (DensePose v1convx/chart)."""
    torch.manual_seed(0)
    head = DensePoseV1ConvXHead(8, num_stacked_convs=3, conv_head_dim=16)
    pred = DensePoseChartPredictor(16, num_coarse_segm_channels=2)
    x = torch.randn(4, 8, 7, 7)
    ref = x
    for i in range(1, 4):
        conv = getattr(head, f"body_conv_fcn{i}")
        ref = F.relu(F.conv2d(ref, conv.weight, conv.bias, padding=1))
    out = pred(head(x))
    for name, got in (("ann_index_lowres", out.coarse_segm), ("index_uv_lowres", out.fine_segm), ("u_lowres", out.u)):
        layer = getattr(pred, name)
        low = F.conv_transpose2d(ref, layer.weight, layer.bias, stride=2, padding=1)
        torch.testing.assert_close(got, F.interpolate(low, scale_factor=2, mode="bilinear", align_corners=False))
    assert out.coarse_segm.shape == (4, 2, 28, 28) and out.v.shape == (4, 25, 28, 28)


def test_decoder_sums_upsampled_levels_then_projects():
    torch.manual_seed(0)
    shapes = {
        "p2": ShapeSpec(channels=8, stride=4),
        "p3": ShapeSpec(channels=8, stride=8),
        "p4": ShapeSpec(channels=8, stride=16),
    }
    dec = DensePoseFPNDecoder(shapes, in_features=["p2", "p3", "p4"], num_classes=6, conv_dims=5, common_stride=4)
    assert sorted(n for n, _ in dec.named_parameters()) == sorted(
        f"{n}.{s}" for n in ("p2.0", "p3.0", "p4.0", "p4.2", "predictor") for s in ("weight", "bias")
    )
    feats = [torch.randn(1, 8, 16, 16), torch.randn(1, 8, 8, 8), torch.randn(1, 8, 4, 4)]

    def block(x, conv):
        return F.relu(F.conv2d(x, conv.weight, conv.bias, padding=1))

    def up(x):
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)

    ref = (
        block(feats[0], dec.p2[0])
        + up(block(feats[1], dec.p3[0]))
        + up(block(up(block(feats[2], dec.p4[0])), dec.p4[2]))
    )
    ref = F.conv2d(ref, dec.predictor.weight, dec.predictor.bias)
    torch.testing.assert_close(dec(feats), ref)


def test_sample_points_is_bilinear_interpolation():
    maps = torch.randn(3, 4, 10, 12)
    roi = torch.tensor([0, 2, 1, 2])
    x = torch.tensor([0.5, 3.7, 11.5, 6.0])  # heatmap pixels, centres at i + 0.5
    y = torch.tensor([0.5, 2.2, 9.5, 5.0])
    got = sample_points(maps, roi, x, y)
    grid = torch.stack([x / 12 * 2 - 1, y / 10 * 2 - 1], dim=1)
    ref = torch.stack(
        [
            F.grid_sample(maps[r : r + 1], grid[k].view(1, 1, 1, 2), align_corners=False)[0, :, 0, 0]
            for k, r in enumerate(roi)
        ]
    )
    torch.testing.assert_close(got, ref)


def test_resample_segm_maps_the_gt_grid_onto_proposals():
    segm = torch.zeros(1, 256, 256, dtype=torch.uint8)
    segm[0, :, :128] = 3  # left half of the person box is part 3
    gt = torch.tensor([[10.0, 20.0, 50.0, 100.0]])
    same = resample_segm(segm, gt, gt, (8, 8))
    assert same[0, :, :4].eq(3).all() and same[0, :, 4:].eq(0).all()
    left = resample_segm(segm, gt, torch.tensor([[10.0, 20.0, 30.0, 100.0]]), (8, 8))
    assert left.eq(3).all()
    outside = resample_segm(segm, gt, torch.tensor([[60.0, 20.0, 80.0, 100.0]]), (8, 8))
    assert outside.eq(0).all()


def _proposals(est_box, gt_box, dp):
    inst = Instances((128, 128))
    inst.proposal_boxes = Boxes(torch.tensor([est_box], dtype=torch.float32))
    inst.gt_boxes = Boxes(torch.tensor([gt_box], dtype=torch.float32))
    inst.gt_classes = torch.zeros(1, dtype=torch.long)
    inst.gt_densepose = DensePoseTargets([dp])
    return inst


def test_chart_losses_vanish_for_a_perfect_prediction_and_ignore_points_outside():
    h = 16
    # four points at heatmap pixel centres of a proposal equal to the GT box
    xs = torch.tensor([2.5, 5.5, 10.5, 13.5]) / h * 256
    ys = torch.tensor([3.5, 8.5, 8.5, 12.5]) / h * 256
    parts = torch.tensor([1, 5, 5, 24])
    u = torch.tensor([0.1, 0.5, 0.5, 0.9])
    v = torch.tensor([0.2, 0.4, 0.4, 0.8])
    segm = torch.ones(256, 256, dtype=torch.uint8)
    dp = DensePoseInstance(x=xs, y=ys, i=parts, u=u, v=v, segm=segm)
    outputs = DensePoseOutputs(
        coarse_segm=torch.zeros(1, 2, h, h),
        fine_segm=torch.zeros(1, 25, h, h),
        u=torch.zeros(1, 25, h, h),
        v=torch.zeros(1, 25, h, h),
    )
    outputs.coarse_segm[0, 1] = 30.0  # person everywhere (segm > 0 everywhere)
    for px, py, p, uu, vv in zip(xs / 256 * h - 0.5, ys / 256 * h - 0.5, parts, u, v):
        outputs.fine_segm[0, p, int(py), int(px)] = 30.0
        outputs.u[0, p, int(py), int(px)] = uu
        outputs.v[0, p, int(py), int(px)] = vv
    loss = DensePoseChartLoss()
    perfect = loss([_proposals((0, 0, 64, 64), (0, 0, 64, 64), dp)], outputs)
    assert set(perfect) == {"loss_densepose_S", "loss_densepose_I", "loss_densepose_U", "loss_densepose_V"}
    assert all(v.item() < 1e-6 for v in perfect.values()), perfect
    # a proposal covering only the left half: the two right points fall outside and are ignored
    shifted = loss([_proposals((0, 0, 32, 64), (0, 0, 64, 64), dp)], outputs)
    assert shifted["loss_densepose_I"] > 1.0  # the remaining points now land on other heatmap pixels
    zero = DensePoseOutputs(
        *(
            torch.zeros_like(t, requires_grad=True)
            for t in (outputs.coarse_segm, outputs.fine_segm, outputs.u, outputs.v)
        )
    )
    out = loss([_proposals((0, 0, 64, 64), (0, 0, 64, 64), dp)], zero)
    assert out["loss_densepose_U"].item() == pytest.approx(
        0.01 * 0.5 * (u**2).sum().item(), rel=1e-5
    )  # smooth-L1 sum x 0.01
    assert out["loss_densepose_I"].item() == pytest.approx(torch.log(torch.tensor(25.0)).item(), rel=1e-5)
    assert out["loss_densepose_S"].item() == pytest.approx(5.0 * torch.log(torch.tensor(2.0)).item(), rel=1e-5)


def test_chart_losses_without_annotations_are_zero_but_connected():
    outputs = DensePoseOutputs(*(torch.randn(1, c, 8, 8, requires_grad=True) for c in (2, 25, 25, 25)))
    losses = DensePoseChartLoss()([_proposals((0, 0, 10, 10), (0, 0, 10, 10), None)], outputs)
    assert all(v.item() == 0 and v.requires_grad for v in losses.values())


def test_densepose_rois_need_iou_threshold_and_annotation():
    heads = build_model(tiny_cfg("MODEL.ROI_DENSEPOSE_HEAD.FG_IOU_THRESHOLD", "0.7")).roi_heads
    dp = DensePoseInstance(
        x=torch.tensor([100.0]), y=torch.tensor([100.0]), i=torch.tensor([2]), u=torch.zeros(1), v=torch.zeros(1)
    )
    inst = Instances((64, 64))
    gt = [0.0, 0.0, 40.0, 40.0]
    inst.proposal_boxes = Boxes(torch.tensor([gt, [0, 0, 40, 30], [0, 0, 40, 26], gt]))  # IoU 1, 0.75, 0.65, 1
    inst.gt_boxes = Boxes(torch.tensor([gt] * 4))
    inst.gt_classes = torch.tensor([0, 0, 0, 1])  # the last one is background (class 1 = num_classes)
    inst.gt_densepose = DensePoseTargets([dp, dp, dp, dp])
    kept = heads._select_densepose_rois([inst], require_densepose=True)[0]
    assert kept.proposal_boxes.tensor.tolist() == [gt, [0, 0, 40, 30]]
    inst.gt_densepose = DensePoseTargets([None, dp, dp, dp])
    kept = heads._select_densepose_rois([inst], require_densepose=True)[0]
    assert kept.proposal_boxes.tensor.tolist() == [[0, 0, 40, 30]]
    assert len(heads._select_densepose_rois([inst], require_densepose=False)[0]) == 2


def test_results_mask_parts_by_the_coarse_segmentation_and_pick_uv_of_the_part():
    h = 8
    coarse = torch.zeros(2, 2, h, h)
    coarse[:, 1, :, : h // 2] = 5.0  # person on the left half
    fine = torch.zeros(2, 25, h, h)
    fine[:, 3] = 5.0
    u = torch.full((2, 25, h, h), 0.9)
    u[:, 3] = 0.25
    v = torch.full((2, 25, h, h), 0.1)
    v[:, 3] = 0.75
    out = DensePoseOutputs(coarse, fine, u, v, valid=torch.tensor([True, False]))
    res = densepose_to_results(out, torch.tensor([[10.0, 20.0, 50.0, 40.0], [0, 0, 5, 5]]))
    assert res[1] is None
    r = res[0]
    assert r.labels.shape == (20, 40) and r.box_xyxy == (10.0, 20.0, 50.0, 40.0)
    assert (r.labels[:, :18] == 3).all() and (r.labels[:, 22:] == 0).all()
    assert r.uv[0][r.labels == 3] == pytest.approx(0.25) and r.uv[1][r.labels == 3] == pytest.approx(0.75)
    assert (r.uv[:, r.labels == 0] == 0).all()


def test_outputs_behave_as_an_instances_field():
    out = DensePoseOutputs(*(torch.randn(3, c, 4, 4) for c in (2, 25, 25, 25)))
    inst = Instances((10, 10), pred_densepose=out, scores=torch.tensor([0.9, 0.1, 0.5]))
    sub = inst[inst.scores > 0.4]
    assert len(sub.pred_densepose) == 2 and torch.equal(sub.pred_densepose.u[1], out.u[2])
    assert len(inst[1].pred_densepose) == 1
    both = Instances.cat([inst, sub])
    assert len(both.pred_densepose) == 5
    assert "num_rois=3" in repr(out)


def test_person_threshold_decides_which_pixels_belong_to_the_person():
    """1 - P(background) > threshold; 0.5 is the argmax rule (ties go to the background), lower thresholds widen the person."""
    h = 8
    coarse = torch.zeros(1, 2, h, h)
    # P(person) rises left to right: logit difference -3.5 .. 3.5 in steps of 1
    coarse[0, 1] = (torch.arange(h, dtype=torch.float32) - 3.5)[None, :].expand(h, h)
    fine = torch.zeros(1, 25, h, h)
    fine[:, 7] = 5.0
    uv = torch.zeros(1, 25, h, h)
    box = torch.tensor([[0.0, 0.0, 8.0, 8.0]])
    p_person = torch.sigmoid(coarse[0, 1, 0])  # 0.029 .. 0.971 over the 8 columns
    for t in (0.5, 0.35, 0.1, 0.9):
        out = DensePoseOutputs(coarse, fine, uv, uv, person_threshold=t)
        labels = densepose_to_results(out, box)[0].labels
        expected = (p_person > t).numpy()
        assert (labels[0] == 7).tolist() == expected.tolist(), t
        assert ((labels == 0) | (labels == 7)).all()
    argmax = densepose_to_results(DensePoseOutputs(coarse, fine, uv, uv), box)[0].labels
    assert ((argmax > 0) == (coarse[0].argmax(0) > 0).numpy()).all()
    # the threshold is carried by indexing, device moves and concatenation, and must agree to concatenate
    out = DensePoseOutputs(*(torch.randn(3, c, 4, 4) for c in (2, 25, 25, 25)), person_threshold=0.3)
    assert out[1:].person_threshold == 0.3 and out.to("cpu").person_threshold == 0.3
    assert DensePoseOutputs.cat(out.split([1, 2])).person_threshold == 0.3
    other = DensePoseOutputs(*(torch.randn(1, c, 4, 4) for c in (2, 25, 25, 25)))
    with pytest.raises(ValueError, match="person thresholds"):
        DensePoseOutputs.cat([out, other])


def test_model_inference_uses_the_configured_person_threshold():
    torch.manual_seed(0)
    model = build_model(tiny_cfg("MODEL.ROI_DENSEPOSE_HEAD.PERSON_THRESHOLD", "0.3")).eval()
    with torch.no_grad():
        inst = model([{"csi": torch.randn(2, 150, 3, 3), "height": 64, "width": 64}])[0]["instances"]
    assert len(inst) > 0 and inst.pred_densepose.person_threshold == 0.3


@pytest.mark.parametrize("value", ["0.0", "1.0", "-0.2"])
def test_person_threshold_outside_0_1_is_a_config_error(value):
    from app.backend.errors import ConfigError

    with pytest.raises(ConfigError, match="PERSON_THRESHOLD"):
        build_model(tiny_cfg("MODEL.ROI_DENSEPOSE_HEAD.PERSON_THRESHOLD", value))

"""CombinedModel in CSI modality: losses, inference outputs, edge cases, overfitting, configs."""

from __future__ import annotations

import pytest
import torch
from detectron2.utils.events import EventStorage

from app.backend.config import CONFIGS_DIR, load_config
from app.backend.modeling import CombinedModel, build_model, to_frame_prediction
from app.backend.structures import FramePrediction
from tests.backend.modeling.conftest import SIZE, frame, person, tiny_cfg

#: Documented loss keys (app/backend/modeling/meta_arch.py docstring).
LOSS_KEYS = {
    "loss_rpn_cls",
    "loss_rpn_loc",
    "loss_cls",
    "loss_box_reg",
    "loss_keypoint",
    "loss_densepose_S",
    "loss_densepose_I",
    "loss_densepose_U",
    "loss_densepose_V",
}


@pytest.fixture(scope="module")
def model() -> CombinedModel:
    torch.manual_seed(0)
    return build_model(tiny_cfg())


def _frames(n: int) -> list[dict]:
    boxes = [(10, 6, 40, 58), (30, 10, 60, 60), (2, 2, 30, 40)]
    return [frame([person(boxes[k % 3], seed=k)], seed=k) for k in range(n)]


@pytest.mark.parametrize("batch", [1, 3])
def test_training_returns_the_documented_finite_losses(model, batch):
    model.train()
    with EventStorage():
        losses = model(_frames(batch))
    assert set(losses) == LOSS_KEYS
    assert all(v.dim() == 0 and torch.isfinite(v) for v in losses.values())
    assert losses["loss_densepose_I"] > 0 and losses["loss_keypoint"] > 0


@pytest.mark.parametrize("batch", [1, 3])
def test_inference_outputs_at_the_requested_size(model, batch):
    model.eval()
    inputs = [{"csi": torch.randn(2, 150, 3, 3), "height": 240, "width": 320} for _ in range(batch)]
    with torch.no_grad():
        out = model(inputs)
    assert len(out) == batch
    for o in out:
        inst = o["instances"]
        n = len(inst)
        assert n == 5  # TEST.DETECTIONS_PER_IMAGE with a score threshold a random model passes
        assert inst.image_size == (240, 320)
        assert inst.pred_boxes.tensor.shape == (n, 4) and inst.scores.shape == (n,)
        assert inst.pred_classes.tolist() == [0] * n
        assert inst.pred_keypoints.shape == (n, 17, 3)
        dp = inst.pred_densepose
        assert dp.coarse_segm.shape == (n, 2, 56, 56) and dp.fine_segm.shape == (n, 25, 56, 56)
        assert dp.u.shape == dp.v.shape == (n, 25, 56, 56)
        assert inst.pred_boxes.tensor[:, 2].max() > SIZE  # boxes were rescaled from 64x64 to 320 wide
        pred = to_frame_prediction(inst)
        assert isinstance(pred, FramePrediction) and pred.image_size == (240, 320) and len(pred) == n
        assert pred.keypoints.shape == (n, 17, 3)
        for r, box in zip(pred.densepose, pred.boxes):
            assert r.labels.shape == (max(round(box[3] - box[1]), 1), max(round(box[2] - box[0]), 1))
            assert r.uv.shape == (2, *r.labels.shape) and r.labels.max() <= 24
            assert r.to_iuv_image().shape == (*r.labels.shape, 3)


def test_translate_gives_the_mtn_output(model):
    model.eval()
    with torch.no_grad():
        x = model.translate([{"csi": torch.randn(2, 150, 3, 3)}, {"csi": torch.randn(2, 150, 3, 3)}])
    assert x.shape == (2, 3, SIZE, SIZE) and torch.isfinite(x).all()


def test_images_without_people_or_densepose_train_with_zero_connected_losses():
    torch.manual_seed(0)
    m = build_model(tiny_cfg())
    m.train()
    batch = [
        frame([], seed=0),  # nobody in the room
        frame([person((10, 6, 40, 58), densepose=False, seed=1)], seed=1),  # keypoints only
    ]
    with EventStorage():
        losses = m(batch)
    assert set(losses) == LOSS_KEYS
    for k in ("loss_densepose_S", "loss_densepose_I", "loss_densepose_U", "loss_densepose_V"):
        assert losses[k].item() == 0.0 and losses[k].requires_grad
    sum(losses.values()).backward()
    # every DensePose parameter took part in the graph (DistributedDataParallel needs that)
    heads = m.roi_heads
    for module in (heads.decoder, heads.densepose_head, heads.densepose_predictor):
        assert all(p.grad is not None for p in module.parameters())


def test_no_detections_at_inference():
    m = build_model(tiny_cfg("MODEL.ROI_HEADS.SCORE_THRESH_TEST", "1.0")).eval()
    with torch.no_grad():
        out = m([{"csi": torch.randn(2, 150, 3, 3)}])
    inst = out[0]["instances"]
    assert len(inst) == 0
    assert inst.pred_keypoints.shape == (0, 17, 3) and len(inst.pred_densepose) == 0
    pred = to_frame_prediction(inst)
    assert len(pred) == 0 and pred.densepose == []


@pytest.mark.parametrize("refine", [True, False])
def test_gradients_reach_the_mtn_from_box_keypoint_and_densepose_losses(refine):
    torch.manual_seed(0)
    m = build_model(tiny_cfg("MODEL.ROI_KP_DP_REFINE.ENABLED", str(refine)))
    assert (m.roi_heads.kp_dp_refine is not None) == refine
    m.train()
    with EventStorage():
        losses = m(_frames(2))
    groups = {
        "box": losses["loss_cls"] + losses["loss_box_reg"],
        "keypoint": losses["loss_keypoint"],
        "densepose": sum(v for k, v in losses.items() if k.startswith("loss_densepose")),
    }
    params = list(m.mtn.parameters())
    for name, loss in groups.items():
        grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
        assert any(g is not None and g.abs().sum() > 0 for g in grads), f"no gradient from the {name} loss to the MTN"


def test_loss_weights_are_applied_inside_the_model():
    torch.manual_seed(0)
    a = build_model(tiny_cfg())
    torch.manual_seed(0)
    b = build_model(tiny_cfg("MODEL.LOSS_WEIGHTS.DENSEPOSE", "1.2", "MODEL.LOSS_WEIGHTS.KEYPOINT", "0.9"))
    b.load_state_dict(a.state_dict())
    frames = _frames(1)
    la, lb = {}, {}
    for m, out in ((a, la), (b, lb)):
        m.train()
        torch.manual_seed(1)  # same RPN/ROI sampling
        with EventStorage():
            out.update({k: v.item() for k, v in m(frames).items()})
    assert lb["loss_densepose_I"] == pytest.approx(2 * la["loss_densepose_I"], rel=1e-4)  # 1.2 vs 0.6
    assert lb["loss_keypoint"] == pytest.approx(3 * la["loss_keypoint"], rel=1e-4)  # 0.9 vs 0.3
    assert lb["loss_cls"] == pytest.approx(la["loss_cls"], rel=1e-4)


def test_csi_normalisation_buffers():
    m = build_model(tiny_cfg())
    assert m.csi_mean.tolist() == [0.0, 0.0] and m.csi_std.tolist() == [1.0, 1.0]  # STD <= 0: not computed yet
    assert {"csi_mean", "csi_std"} <= set(m.state_dict())  # travel with checkpoints
    m.set_csi_stats(10.0, 2.0, 0.5, 0.25)
    assert m.csi_mean.tolist() == [10.0, 0.5] and m.csi_std.tolist() == [2.0, 0.25]
    with pytest.raises(ValueError, match="stds must be > 0"):
        m.set_csi_stats(0.0, 0.0, 0.0, 1.0)
    given = build_model(tiny_cfg("INPUT.CSI.AMP_MEAN", "3.0", "INPUT.CSI.AMP_STD", "4.0", "INPUT.CSI.PHASE_STD", "0.5"))
    assert given.csi_mean.tolist() == [3.0, 0.0] and given.csi_std.tolist() == [4.0, 0.5]
    # normalisation is applied before the MTN: shifting the input by the mean changes nothing
    given.eval()
    csi = torch.randn(1, 2, 150, 3, 3)
    m2 = build_model(tiny_cfg())
    m2.load_state_dict(given.state_dict())
    m2.set_csi_stats(0.0, 4.0, 0.0, 0.5)
    m2.eval()
    shifted = csi.clone()
    shifted[:, 0] -= 3.0
    with torch.no_grad():
        torch.testing.assert_close(given.translate([{"csi": csi[0]}]), m2.translate([{"csi": shifted[0]}]))


def test_vis_period_puts_the_mtn_output_into_event_storage():
    m = build_model(tiny_cfg("VIS_PERIOD", "1"))
    m.train()
    with EventStorage() as storage:
        m(_frames(1))
        names = [v[0] for v in storage._vis_data]
    assert len(names) == 1 and "MTN output" in names[0]
    img = storage._vis_data[0][1]
    assert img.shape == (3, SIZE, 2 * SIZE)


def test_train_on_pred_boxes():
    m = build_model(tiny_cfg("MODEL.ROI_BOX_HEAD.TRAIN_ON_PRED_BOXES", "True"))
    m.train()
    with EventStorage():
        losses = m(_frames(2))
    assert set(losses) == LOSS_KEYS and all(torch.isfinite(v) for v in losses.values())


def test_overfits_two_synthetic_frames(two_frames):
    """30 iterations on two fixed frames at least halve the total loss (CSI modality)."""
    torch.manual_seed(0)
    m = build_model(tiny_cfg())
    m.train()
    opt = torch.optim.SGD(m.parameters(), lr=0.02, momentum=0.9)
    totals = []
    with EventStorage() as storage:
        for it in range(30):
            storage.iter = it
            losses = m(two_frames)
            total = sum(losses.values())
            opt.zero_grad()
            total.backward()
            torch.nn.utils.clip_grad_norm_(m.parameters(), 10.0)
            opt.step()
            totals.append(total.item())
    first, last = totals[0], sum(totals[-3:]) / 3
    assert last <= 0.5 * first, f"total loss {first:.3f} -> {last:.3f}"


@pytest.mark.parametrize("name", sorted(p.name for p in CONFIGS_DIR.glob("*.yaml") if not p.name.startswith("Base-")))
def test_every_builtin_config_builds(name):
    cfg = load_config(CONFIGS_DIR / name, ["MODEL.DEVICE", "cpu"])
    m = build_model(cfg)
    assert isinstance(m, CombinedModel) and m.modality == cfg.INPUT.MODALITY
    if m.modality == "csi":
        assert m.mtn.output_size == tuple(cfg.MODEL.MTN.OUTPUT_SIZE)
    assert (m.roi_heads.kp_dp_refine is not None) == (cfg.MODEL.ROI_KP_DP_REFINE.ENABLED and cfg.MODEL.KEYPOINT_ON)

"""The vectorised DensePose, keypoint and MTN-part targets and losses equal the previous per-person code.

The references below are the implementations the training step used before the target and loss
path was vectorised (a Python loop over people, host-device synchronisations), kept here verbatim
in substance; detectron2's own ``keypoint_rcnn_loss`` is the keypoint reference. The inputs are
real demo samples through the training mapper, with proposals jittered around (and away from)
their people, so every case of the masks is exercised: points outside the proposal, people without
points or masks, images without DensePose, background and empty images.
"""

from __future__ import annotations

import pytest
import torch
from detectron2.data import DatasetCatalog
from detectron2.modeling.roi_heads.keypoint_head import keypoint_rcnn_loss
from detectron2.structures import Boxes, Instances
from detectron2.utils.events import EventStorage
from torch.nn import functional as F

from app.backend.data import register_datasets
from app.backend.data.mapper import WiFiDensePoseDatasetMapper
from app.backend.modeling.densepose import DensePoseChartLoss, DensePoseOutputs
from app.backend.modeling.densepose.losses import resample_segm, sample_points
from app.backend.modeling.keypoint_loss import keypoint_loss
from app.backend.modeling.mtn_target import part_labels
from app.backend.structures import DensePoseTargets
from app.backend.structures.box_grid import DP_GRID, abs_to_grid, grid_to_abs
from tests.tiny_config import tiny_config

# ----------------------------------------------------------------------------- references


def reference_densepose_losses(loss: DensePoseChartLoss, proposals, outputs: DensePoseOutputs) -> dict:
    """DensePoseChartLoss.__call__ before vectorisation: a loop over every ROI's person."""
    dev = outputs.u.device
    rois, xs, ys, insides, parts, us, vs = [], [], [], [], [], [], []
    seg_rows, seg_maps, seg_gt, seg_est = [], [], [], []
    offset = 0
    for inst in proposals:
        n = len(inst)
        if n and inst.has("gt_densepose"):
            gt_boxes = inst.gt_boxes.tensor
            est_boxes = inst.proposal_boxes.tensor
            for j, dp in enumerate(inst.gt_densepose):
                if dp is None or len(dp) == 0:
                    continue
                ex0, ey0, ex1, ey1 = est_boxes[j]
                ax, ay = grid_to_abs(dp.x.to(dev), dp.y.to(dev), gt_boxes[j])
                insides.append((ax >= ex0) & (ax <= ex1) & (ay >= ey0) & (ay <= ey1))
                xs.append((ax - ex0) / (ex1 - ex0).clamp(min=1e-6))
                ys.append((ay - ey0) / (ey1 - ey0).clamp(min=1e-6))
                rois.append(torch.full((len(dp),), offset + j, dtype=torch.long, device=dev))
                parts.append(dp.i.to(dev).long())
                us.append(dp.u.to(dev).float())
                vs.append(dp.v.to(dev).float())
                if dp.segm is not None:
                    seg_rows.append(offset + j)
                    seg_maps.append(dp.segm.to(dev))
                    seg_gt.append(gt_boxes[j])
                    seg_est.append(est_boxes[j])
        offset += n
    if not rois:
        return loss.fake_losses(outputs)
    roi = torch.cat(rois)
    hh, wh = outputs.u.shape[-2:]
    x = torch.cat(xs) * wh
    y = torch.cat(ys) * hh
    part = torch.cat(parts)
    inside = torch.cat(insides).float()
    fg = inside * (part > 0).float()
    fine = sample_points(outputs.fine_segm, roi, x, y).float()
    ce = F.cross_entropy(fine, part.clamp(min=0), reduction="none")
    losses = {"loss_densepose_I": (ce * inside).sum() / inside.sum().clamp(min=1.0) * loss.w_part}
    idx = part.clamp(min=0)[:, None]
    u_est = sample_points(outputs.u, roi, x, y).gather(1, idx)[:, 0].float()
    v_est = sample_points(outputs.v, roi, x, y).gather(1, idx)[:, 0].float()
    losses["loss_densepose_U"] = (F.smooth_l1_loss(u_est, torch.cat(us), reduction="none") * fg).sum() * loss.w_points
    losses["loss_densepose_V"] = (F.smooth_l1_loss(v_est, torch.cat(vs), reduction="none") * fg).sum() * loss.w_points
    if seg_rows:
        with torch.no_grad():
            target = resample_segm(torch.stack(seg_maps), torch.stack(seg_gt), torch.stack(seg_est), (hh, wh))
            if loss.n_segm_chan == 2:
                target = (target > 0).long()
        est = outputs.coarse_segm[torch.tensor(seg_rows, device=dev)]
        losses["loss_densepose_S"] = F.cross_entropy(est, target) * loss.w_segm
    else:
        losses["loss_densepose_S"] = outputs.coarse_segm.sum() * 0
    return losses


def reference_part_labels(instances, size, device):
    """mtn_target.part_labels before vectorisation: each person's box painted in turn."""
    h, w = size
    labels = torch.zeros((len(instances), h, w), dtype=torch.long, device=device)
    weight = torch.ones((len(instances), 1, h, w), dtype=torch.float32, device=device)
    for n, inst in enumerate(instances):
        boxes = inst.gt_boxes.tensor.detach().to(device)
        dps = inst.gt_densepose if inst.has("gt_densepose") else [None] * len(inst)
        for box, dp in zip(boxes, dps):
            x0, y0 = int(box[0].floor().clamp(0, w)), int(box[1].floor().clamp(0, h))
            x1, y1 = int(box[2].ceil().clamp(0, w)), int(box[3].ceil().clamp(0, h))
            if x1 <= x0 or y1 <= y0:
                continue
            if dp is None or dp.segm is None:
                weight[n, 0, y0:y1, x0:x1] = 0.0
                continue
            cx = torch.arange(x0, x1, device=device, dtype=torch.float32) + 0.5
            cy = torch.arange(y0, y1, device=device, dtype=torch.float32) + 0.5
            gx, gy = abs_to_grid(cx, cy, box)
            xs, ys = gx.floor().long(), gy.floor().long()
            inside_x = (xs >= 0) & (xs < DP_GRID)
            inside_y = (ys >= 0) & (ys < DP_GRID)
            segm = dp.segm.long()[ys.clamp(0, DP_GRID - 1)][:, xs.clamp(0, DP_GRID - 1)]
            segm = segm * inside_y[:, None] * inside_x[None, :]
            region = labels[n, y0:y1, x0:x1]
            region[segm > 0] = segm[segm > 0]
    return labels, weight


# ----------------------------------------------------------------------------- fixed inputs


@pytest.fixture(scope="module")
def mapped(tmp_path_factory: pytest.TempPathFactory) -> list[Instances]:
    """The ground truth of 6 real demo training samples (160x160 MTN frame), as the mapper makes it."""
    from app.backend.data.demo import generate_demo_dataset

    root = tmp_path_factory.mktemp("demo_vec")
    generate_demo_dataset(root, num_train=6, num_val=2, seed=3)
    cfg = tiny_config(root, tmp_path_factory.mktemp("out"), MODEL__MTN__OUTPUT_SIZE=[160, 160])
    register_datasets(cfg)
    mapper = WiFiDensePoseDatasetMapper(cfg, is_train=True)
    out = [mapper(r)["instances"] for r in DatasetCatalog.get(cfg.DATASETS.TRAIN[0])]
    assert sum(len(i) for i in out) >= 8
    return out


def proposals_for(gt: Instances, gen: torch.Generator, n: int = 12) -> Instances:
    """``n`` proposals: jittered copies of random people (some shifted off them) with their ground truth."""
    g = len(gt)
    match = torch.randint(0, g, (n,), generator=gen)
    boxes = gt.gt_boxes.tensor[match]
    wh = (boxes[:, 2:] - boxes[:, :2]).repeat(1, 2)
    jitter = (torch.rand((n, 4), generator=gen) - 0.5) * 0.6 * wh  # up to 30 % of a side: points fall outside
    p = Instances(gt.image_size)
    p.proposal_boxes = Boxes(boxes + jitter)
    p.gt_boxes = Boxes(boxes)
    p.gt_classes = torch.zeros(n, dtype=torch.long)
    p.gt_keypoints = gt.gt_keypoints[match]
    p.gt_densepose = gt.gt_densepose[match]  # index composition, as label_and_sample_proposals does
    return p


def random_outputs(r: int, gen: torch.Generator, side: int = 28) -> DensePoseOutputs:
    def t(c: int) -> torch.Tensor:
        return torch.randn((r, c, side, side), generator=gen).requires_grad_()

    return DensePoseOutputs(t(2), t(25), t(25), t(25))


def batch(mapped: list[Instances], gen: torch.Generator) -> list[Instances]:
    """Four images: two ordinary, one whose people lost their points or masks, one without DensePose."""
    a, b, c, d = (proposals_for(mapped[k], gen) for k in range(4))
    dps = list(c.gt_densepose)
    dps[0] = None  # unannotated person
    dps[1] = type(dps[2])(x=dps[2].x[:0], y=dps[2].y[:0], i=dps[2].i[:0], u=dps[2].u[:0], v=dps[2].v[:0], segm=dps[2].segm)
    dps[3] = type(dps[3])(x=dps[3].x, y=dps[3].y, i=dps[3].i, u=dps[3].u, v=dps[3].v, segm=None)  # points, no mask
    c.gt_densepose = DensePoseTargets(dps)
    d.remove("gt_densepose")
    return [a, b, c, d]


def _maps(out: DensePoseOutputs) -> tuple[torch.Tensor, ...]:
    return out.coarse_segm, out.fine_segm, out.u, out.v


# ----------------------------------------------------------------------------- tests


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_densepose_losses_and_gradients_equal_the_per_person_loop(mapped, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    proposals = batch(mapped, gen)
    r = sum(len(p) for p in proposals)
    loss = DensePoseChartLoss()
    out_new = random_outputs(r, gen)
    out_ref = DensePoseOutputs(*(t.detach().clone().requires_grad_() for t in _maps(out_new)))
    new, ref = loss(proposals, out_new), reference_densepose_losses(loss, proposals, out_ref)
    assert set(new) == set(ref)
    for k in ref:
        torch.testing.assert_close(new[k], ref[k], rtol=1e-5, atol=1e-7, msg=k)
        assert float(ref[k]) != 0.0, k  # the inputs exercise every loss
    sum(new.values()).backward()
    sum(ref.values()).backward()
    for a, b in zip(_maps(out_new), _maps(out_ref)):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-5, atol=1e-8)


def test_densepose_losses_without_points_are_zero_and_connected(mapped) -> None:
    gen = torch.Generator().manual_seed(5)
    p = proposals_for(mapped[0], gen)
    p.gt_densepose = DensePoseTargets([None] * len(p))
    out = random_outputs(len(p), gen)
    new = DensePoseChartLoss()([p, p[:0]], out)
    ref = reference_densepose_losses(DensePoseChartLoss(), [p, p[:0]], out)
    for k in ref:
        assert float(new[k]) == float(ref[k]) == 0.0 and new[k].requires_grad


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("normalizer", [None, 7.0])
def test_keypoint_loss_equals_detectron2s(mapped, seed: int, normalizer) -> None:
    gen = torch.Generator().manual_seed(seed)
    proposals = batch(mapped, gen)
    r = sum(len(p) for p in proposals)
    logits = torch.randn((r, 17, 56, 56), generator=gen, requires_grad=True)
    ref_logits = logits.detach().clone().requires_grad_()
    new = keypoint_loss(logits, proposals, normalizer)
    with EventStorage():
        ref = keypoint_rcnn_loss(ref_logits, proposals, normalizer)
    torch.testing.assert_close(new, ref, rtol=1e-5, atol=1e-6)
    new.backward()
    ref.backward()
    torch.testing.assert_close(logits.grad, ref_logits.grad, rtol=1e-5, atol=1e-9)
    # an image without keypoint annotations adds rows of weight 0 (detectron2's needs them dropped first)
    bare = proposals[1][:]
    bare.remove("gt_keypoints")
    with_bare = keypoint_loss(torch.cat([logits.detach(), logits.detach()[: len(bare)]]), [*proposals, bare], normalizer)
    torch.testing.assert_close(with_bare, new.detach(), rtol=1e-5, atol=1e-6)


def test_keypoint_loss_without_visible_keypoints_is_zero_and_connected(mapped) -> None:
    p = proposals_for(mapped[0], torch.Generator().manual_seed(0))
    p.proposal_boxes = Boxes(p.proposal_boxes.tensor + 1000.0)  # every keypoint outside its proposal
    logits = torch.randn((len(p), 17, 56, 56), requires_grad=True)
    loss = keypoint_loss(logits, [p])
    assert float(loss) == 0.0 and loss.requires_grad


def test_part_labels_equal_the_per_person_painting(mapped) -> None:
    gen = torch.Generator().manual_seed(0)
    images = [m[:] for m in mapped]
    dps = list(images[1].gt_densepose)
    dps[0] = None  # a person without dp_masks: weight 0 in the box
    images[1].gt_densepose = DensePoseTargets(dps)
    images[2].remove("gt_densepose")  # nobody has masks
    shifted = images[3]
    shifted.gt_boxes = Boxes(shifted.gt_boxes.tensor + (torch.rand((len(shifted), 4), generator=gen) - 0.5) * 9.7)
    images.append(Instances((160, 160), gt_boxes=Boxes(torch.zeros((0, 4)))))  # nobody in the frame
    for size in ((160, 160), (96, 128)):
        labels, weight = part_labels(images, size, torch.device("cpu"))
        ref_labels, ref_weight = reference_part_labels(images, size, torch.device("cpu"))
        assert torch.equal(labels, ref_labels) and torch.equal(weight, ref_weight)
        assert int(labels.max()) > 0 and float(weight.min()) == 0.0  # parts painted, unknown boxes masked


def test_targets_index_without_leaving_the_device(mapped) -> None:
    dp = mapped[0].gt_densepose
    idx = torch.tensor([1, 0, 1])
    sub = dp[idx]
    assert sub.packed is dp.packed and torch.equal(sub.index, dp.index[idx])  # no copy of the masks
    gathered = sub.gather()
    for k, j in enumerate(idx.tolist()):
        assert torch.equal(gathered.x[k, : len(dp[j])], dp[j].x) and torch.equal(gathered.segm[k], dp[j].segm)
    both = DensePoseTargets.cat([sub, mapped[1].gt_densepose])
    assert len(both) == len(sub) + len(mapped[1].gt_densepose)
    assert torch.equal(both[len(sub)].u, mapped[1].gt_densepose[0].u)
    assert torch.equal(dp[torch.tensor([True] + [False] * (len(dp) - 1))][0].i, dp[0].i)


def test_empty_targets_index_and_concatenate() -> None:
    empty = DensePoseTargets([])
    assert len(empty) == 0 and len(DensePoseTargets.cat([empty, empty])) == 0
    assert empty.has_annotation().shape == (0,)

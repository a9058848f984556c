"""Chart-based DensePose losses at annotated points (as detectron2's DensePose ``DensePoseChartLoss``).

Loss dict keys (all scalar tensors, before ``MODEL.LOSS_WEIGHTS.DENSEPOSE``):

* ``loss_densepose_S``: cross-entropy of the coarse segmentation against the 256x256
  ``segm`` of the matched ground truth resampled (nearest) onto each proposal's
  heatmap; with 2 channels the target is person (segm > 0) vs background. Weight
  ``INDEX_WEIGHTS``.
* ``loss_densepose_I``: cross-entropy of the fine part logits sampled (bilinear) at the
  annotated points that fall inside the proposal. Weight ``PART_WEIGHTS``.
* ``loss_densepose_U`` / ``loss_densepose_V``: smooth-L1 (beta 1, summed over points) of
  the U/V of the annotated part at those points. Weight ``POINT_REGRESSION_WEIGHTS``.

With no annotated points all four are zero, but connected to the graph so every parameter gets
a (zero) gradient and DistributedDataParallel never hangs. The S loss is the mean over the ROIs'
heatmaps of the per-ROI mean cross-entropy (every heatmap has the same size, so this is the mean
over their pixels).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from detectron2.config import CfgNode, configurable
from detectron2.structures import Instances
from torch.nn import functional as F

from app.backend.modeling.densepose.outputs import DensePoseOutputs
from app.backend.structures.box_grid import grid_to_abs
from app.backend.structures.densepose_targets import PackedDensePose


def sample_points(maps: torch.Tensor, roi: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Bilinear samples of ``maps`` (R, C, H, W) at continuous pixel coords, one ROI per point.

    Args:
        roi: int64 (K,) ROI index of each point.
        x, y: float (K,) positions in heatmap pixels (pixel centres at i + 0.5 grid, i.e.
            x in [0, W] spans the map; values are clamped to the border).
    Returns:
        (K, C) sampled values.
    """
    h, w = maps.shape[-2:]
    px = (x - 0.5).clamp(0, w - 1)
    py = (y - 0.5).clamp(0, h - 1)
    x0 = px.floor().long().clamp(max=w - 1)
    y0 = py.floor().long().clamp(max=h - 1)
    x1 = (x0 + 1).clamp(max=w - 1)
    y1 = (y0 + 1).clamp(max=h - 1)
    fx = (px - x0.to(px.dtype))[:, None]
    fy = (py - y0.to(py.dtype))[:, None]
    v00 = maps[roi, :, y0, x0]
    v01 = maps[roi, :, y0, x1]
    v10 = maps[roi, :, y1, x0]
    v11 = maps[roi, :, y1, x1]
    return (v00 * (1 - fx) + v01 * fx) * (1 - fy) + (v10 * (1 - fx) + v11 * fx) * fy


def resample_segm(
    segm: torch.Tensor, gt_boxes: torch.Tensor, est_boxes: torch.Tensor, size: tuple[int, int]
) -> torch.Tensor:
    """Nearest resampling of box-relative label maps onto other boxes' heatmaps.

    Args:
        segm: (R, S, S) labels on a grid spanning each ``gt_boxes`` row (XYXY_ABS).
        est_boxes: (R, 4) XYXY_ABS boxes whose (Hh, Wh) = ``size`` heatmaps are wanted.
    Returns:
        int64 (R, Hh, Wh) labels; 0 outside the ground-truth box.
    """
    hh, wh = size
    dev = segm.device
    ys = (torch.arange(hh, device=dev, dtype=torch.float32) + 0.5) / hh
    xs = (torch.arange(wh, device=dev, dtype=torch.float32) + 0.5) / wh
    ex0, ey0, ex1, ey1 = est_boxes.float().unbind(1)
    gx0, gy0, gx1, gy1 = gt_boxes.float().unbind(1)
    ax = ex0[:, None] + xs[None] * (ex1 - ex0)[:, None]  # (R, Wh) absolute x of heatmap columns
    ay = ey0[:, None] + ys[None] * (ey1 - ey0)[:, None]
    nx = (ax - gx0[:, None]) / (gx1 - gx0).clamp(min=1e-6)[:, None] * 2 - 1  # -1..1 over the GT box
    ny = (ay - gy0[:, None]) / (gy1 - gy0).clamp(min=1e-6)[:, None] * 2 - 1
    grid = torch.stack([nx[:, None, :].expand(-1, hh, -1), ny[:, :, None].expand(-1, -1, wh)], dim=-1)
    out = F.grid_sample(segm[:, None].float(), grid, mode="nearest", padding_mode="zeros", align_corners=False)
    return out[:, 0].round().long()


class DensePoseChartLoss:
    """Computes the four chart losses for proposals matched to DensePose ground truth."""

    @configurable
    def __init__(
        self,
        *,
        index_weight: float = 5.0,
        part_weight: float = 1.0,
        point_weight: float = 0.01,
        num_coarse_segm_channels: int = 2,
    ):
        self.w_segm = index_weight
        self.w_part = part_weight
        self.w_points = point_weight
        self.n_segm_chan = num_coarse_segm_channels

    @classmethod
    def from_config(cls, cfg: CfgNode) -> dict:
        h = cfg.MODEL.ROI_DENSEPOSE_HEAD
        return {
            "index_weight": h.INDEX_WEIGHTS,
            "part_weight": h.PART_WEIGHTS,
            "point_weight": h.POINT_REGRESSION_WEIGHTS,
            "num_coarse_segm_channels": h.NUM_COARSE_SEGM_CHANNELS,
        }

    @staticmethod
    def fake_losses(outputs: DensePoseOutputs) -> dict[str, torch.Tensor]:
        return {
            "loss_densepose_S": outputs.coarse_segm.sum() * 0,
            "loss_densepose_I": outputs.fine_segm.sum() * 0,
            "loss_densepose_U": outputs.u.sum() * 0,
            "loss_densepose_V": outputs.v.sum() * 0,
        }

    def __call__(self, proposals: Sequence[Instances], outputs: DensePoseOutputs) -> dict[str, torch.Tensor]:
        """
        Args:
            proposals: per image, the ROIs the outputs were computed for (in order), with
                ``proposal_boxes``, ``gt_boxes`` and ``gt_densepose`` (DensePoseTargets;
                entries without points are ignored, images without the field too).
            outputs: predictor outputs, one row per ROI over all images.

        All ROIs are handled at once on padded (R, K) point tables: no Python loop over people
        and no host-device synchronisation (points outside their proposal, padding and ROIs
        without points are masked by weight 0, not filtered out).
        """
        num_rois = sum(len(p) for p in proposals)
        if num_rois != len(outputs):
            raise ValueError(f"{len(outputs)} DensePose outputs for {num_rois} ROIs")
        if num_rois == 0:
            return self.fake_losses(outputs)
        dev = outputs.u.device
        packed, gt_boxes, est_boxes = _gather_targets(proposals, dev)
        hh, wh = outputs.u.shape[-2:]
        r, k = packed.x.shape
        valid = torch.arange(k, device=dev)[None, :] < packed.count[:, None]  # (R, K) real points
        g = gt_boxes[:, :, None]  # (R, 4, 1): broadcasts over the point columns
        ax, ay = grid_to_abs(packed.x, packed.y, (g[:, 0], g[:, 1], g[:, 2], g[:, 3]))
        ex0, ey0, ex1, ey1 = (c[:, None] for c in est_boxes.unbind(1))
        inside = valid & (ax >= ex0) & (ax <= ex1) & (ay >= ey0) & (ay <= ey1)
        # positions relative to the proposal box (0..1 spans it), in heatmap pixels
        x = ((ax - ex0) / (ex1 - ex0).clamp(min=1e-6) * wh).reshape(-1)
        y = ((ay - ey0) / (ey1 - ey0).clamp(min=1e-6) * hh).reshape(-1)
        roi = torch.arange(r, device=dev)[:, None].expand(r, k).reshape(-1)
        part = packed.i.reshape(-1)
        w_in = inside.reshape(-1).float()
        fg = w_in * (part > 0).float()
        fine = sample_points(outputs.fine_segm, roi, x, y).float()
        ce = F.cross_entropy(fine, part.clamp(min=0), reduction="none")
        losses = {"loss_densepose_I": (ce * w_in).sum() / w_in.sum().clamp(min=1.0) * self.w_part}
        idx = part.clamp(min=0)[:, None]
        u_est = sample_points(outputs.u, roi, x, y).gather(1, idx)[:, 0].float()
        v_est = sample_points(outputs.v, roi, x, y).gather(1, idx)[:, 0].float()
        u_loss = F.smooth_l1_loss(u_est, packed.u.reshape(-1), reduction="none")
        v_loss = F.smooth_l1_loss(v_est, packed.v.reshape(-1), reduction="none")
        losses["loss_densepose_U"] = (u_loss * fg).sum() * self.w_points
        losses["loss_densepose_V"] = (v_loss * fg).sum() * self.w_points
        # coarse segmentation: ROIs whose person has points and a segm
        seg_rows = (packed.has_segm & (packed.count > 0)).float()
        with torch.no_grad():
            target = resample_segm(packed.segm, gt_boxes, est_boxes, (hh, wh))
            if self.n_segm_chan == 2:
                target = (target > 0).long()
        ce_s = F.cross_entropy(outputs.coarse_segm, target, reduction="none")  # (R, Hh, Wh)
        per_roi = ce_s.float().mean(dim=(1, 2))
        losses["loss_densepose_S"] = (per_roi * seg_rows).sum() / seg_rows.sum().clamp(min=1.0) * self.w_segm
        return losses


def _gather_targets(proposals: Sequence[Instances], device: torch.device) -> tuple[PackedDensePose, torch.Tensor, torch.Tensor]:
    """(packed DensePose ground truth, gt boxes (R, 4), proposal boxes (R, 4)) of every ROI, in order.

    Images without ``gt_densepose`` (or ``gt_boxes``) give rows without points. One loop over
    images, none over people.
    """
    packs, gts, ests = [], [], []
    for inst in proposals:
        n = len(inst)
        if n == 0:
            continue
        est = inst.proposal_boxes.tensor
        ests.append(est)
        gts.append(inst.gt_boxes.tensor if inst.has("gt_boxes") else est)
        if inst.has("gt_densepose"):
            packs.append(inst.gt_densepose.gather())
        else:
            packs.append(PackedDensePose.from_items([None] * n).to(device))
    return PackedDensePose.cat(packs), torch.cat(gts).float(), torch.cat(ests).float()

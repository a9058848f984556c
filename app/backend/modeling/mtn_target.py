"""A dense target for the MTN output: the people's coarse body parts painted in fixed colours.

The paper trains the MTN only through the detector's losses (plus, optionally, feature
transfer from an image teacher). With little data and little compute that signal is weak
and sparse: the detector losses reach the MTN through the whole backbone. This module
builds an optional, direct one from annotations every COCO-DensePose dataset already has:
each annotated person's ``dp_masks`` (coarse labels 0..14 on a 256x256 grid of its box),
pasted at its box into an image of the MTN's output size, each part in the colour
:data:`PART_PALETTE` gives it. The loss ``loss_mtn_parts`` is the mean squared error between
the MTN output and that image, with zero weight inside the boxes of people who have no
``dp_masks`` (their pixels are unknown, not background). Weight: ``MODEL.LOSS_WEIGHTS.MTN_PARTS``
(0 = off, the paper's method). At inference nothing changes: only CSI goes in.

Colours are in the units of the MTN output (the backbone's input), roughly -1..1 per
channel, background 0; channel order is the model's (BGR for the default INPUT.FORMAT).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from detectron2.structures import Instances
from torch.nn import functional as F

from app.backend.structures.body import COARSE_PART_NAMES
from app.backend.structures.box_grid import DP_GRID, abs_to_grid

#: (15, 3) colour of each coarse label (0 = background). Left/right parts differ in hue.
PART_PALETTE = torch.tensor(
    [
        [0.0, 0.0, 0.0],  # background
        [0.9, 0.2, -0.6],  # torso
        [-0.8, 0.9, 0.9],  # right hand
        [0.9, 0.9, -0.8],  # left hand
        [-0.9, -0.9, 0.9],  # left foot
        [0.9, -0.9, -0.9],  # right foot
        [-0.5, 0.9, -0.5],  # upper leg right
        [0.9, -0.5, 0.9],  # upper leg left
        [-0.9, 0.4, 0.2],  # lower leg right
        [0.2, 0.4, -0.9],  # lower leg left
        [-0.2, -0.7, 0.6],  # upper arm left
        [0.6, -0.7, -0.2],  # upper arm right
        [-0.6, -0.1, -0.9],  # lower arm left
        [-0.9, -0.1, -0.6],  # lower arm right
        [0.7, 0.7, 0.7],  # head
    ],
    dtype=torch.float32,
)
if PART_PALETTE.shape[0] != len(COARSE_PART_NAMES) + 1:  # pragma: no cover - guards edits of either table
    raise RuntimeError("PART_PALETTE needs one colour per coarse part plus background")


def part_labels(instances: Sequence[Instances], size: tuple[int, int], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Coarse label image and per-pixel weight for a batch.

    Args:
        instances: per image, ``gt_boxes`` (XYXY_ABS in MTN-output pixels) and optionally
            ``gt_densepose`` (:class:`DensePoseTargets`; entries with ``segm`` are painted).
        size: (H, W) of the MTN output.

    Returns:
        labels long (N, H, W) in 0..14, weight float32 (N, 1, H, W) in {0, 1} (0 inside the
        boxes of people without ``dp_masks``).
    """
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
            segm = _segm_on_pixels(dp.segm.to(device), box, (x0, y0, x1, y1))
            region = labels[n, y0:y1, x0:x1]
            region[segm > 0] = segm[segm > 0]
    return labels, weight


def labels_to_image(labels: torch.Tensor) -> torch.Tensor:
    """Coarse labels (N, H, W) -> float32 (N, 3, H, W) image in the colours of :data:`PART_PALETTE`."""
    return PART_PALETTE.to(labels.device)[labels.long()].permute(0, 3, 1, 2)


def part_target(instances: Sequence[Instances], size: tuple[int, int], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Target image and per-pixel weight for a batch (arguments as :func:`part_labels`).

    Returns:
        target float32 (N, 3, H, W), weight float32 (N, 1, H, W) in {0, 1}.
    """
    labels, weight = part_labels(instances, size, device)
    return labels_to_image(labels), weight


def _segm_on_pixels(segm: torch.Tensor, box: torch.Tensor, cells: tuple[int, int, int, int]) -> torch.Tensor:
    """Nearest sample of a (256, 256) box-relative label map at the pixel centres of ``cells`` (long (h, w))."""
    x0, y0, x1, y1 = cells
    centres_x = torch.arange(x0, x1, device=segm.device, dtype=torch.float32) + 0.5
    centres_y = torch.arange(y0, y1, device=segm.device, dtype=torch.float32) + 0.5
    gx, gy = abs_to_grid(centres_x, centres_y, box)
    xs, ys = gx.floor().long(), gy.floor().long()
    inside_x = (xs >= 0) & (xs < DP_GRID)
    inside_y = (ys >= 0) & (ys < DP_GRID)
    out = segm.long()[ys.clamp(0, DP_GRID - 1)][:, xs.clamp(0, DP_GRID - 1)]
    return out * inside_y[:, None] * inside_x[None, :]


def part_target_loss(mtn_out: torch.Tensor, instances: Sequence[Instances], body_weight: float = 1.0) -> torch.Tensor:
    """Weighted mean squared error between the MTN output (N, 3, H, W) and :func:`part_target`.

    ``body_weight``: weight of body pixels relative to background ones (thin limbs are a few
    per cent of the pixels; > 1 makes the MTN draw them).
    """
    labels, weight = part_labels(instances, tuple(mtn_out.shape[-2:]), mtn_out.device)
    return part_image_loss(mtn_out, labels, weight, body_weight)


def part_image_loss(mtn_out: torch.Tensor, labels: torch.Tensor, weight: torch.Tensor, body_weight: float = 1.0) -> torch.Tensor:
    """:func:`part_target_loss` from precomputed :func:`part_labels` (labels (N, H, W), weight (N, 1, H, W))."""
    target = labels_to_image(labels)
    weight = weight.to(torch.float32)
    if body_weight != 1.0:
        body = (labels > 0).unsqueeze(1).to(weight.dtype)
        weight = weight * (1.0 + (body_weight - 1.0) * body)
    err = F.mse_loss(mtn_out.float(), target, reduction="none") * weight
    return err.sum() / (weight.sum() * 3.0).clamp(min=1.0)

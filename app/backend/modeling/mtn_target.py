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

    A person covers the pixels of its box rounded outwards (floor of the top-left corner, ceil of
    the bottom-right) and clipped to the image; a later person paints over an earlier one. All
    people of an image are painted at once (no Python loop over people, no host-device
    synchronisation).
    """
    h, w = size
    labels = torch.zeros((len(instances), h, w), dtype=torch.long, device=device)
    weight = torch.ones((len(instances), 1, h, w), dtype=torch.float32, device=device)
    cols = torch.arange(w, device=device, dtype=torch.float32)
    rows = torch.arange(h, device=device, dtype=torch.float32)
    for n, inst in enumerate(instances):
        if len(inst) == 0:
            continue
        boxes = inst.gt_boxes.tensor.detach().to(device).float()  # (J, 4)
        j = boxes.shape[0]
        if inst.has("gt_densepose"):
            dps = inst.gt_densepose
            segm, has_segm = dps.packed.segm[dps.index].to(device), dps.has_segm().to(device)
        else:
            segm = torch.zeros((j, DP_GRID, DP_GRID), dtype=torch.uint8, device=device)
            has_segm = torch.zeros(j, dtype=torch.bool, device=device)
        x0, y0 = boxes[:, 0].floor().clamp(0, w), boxes[:, 1].floor().clamp(0, h)
        x1, y1 = boxes[:, 2].ceil().clamp(0, w), boxes[:, 3].ceil().clamp(0, h)
        in_x = (cols[None] >= x0[:, None]) & (cols[None] < x1[:, None])  # (J, W) pixels of each person's box
        in_y = (rows[None] >= y0[:, None]) & (rows[None] < y1[:, None])  # (J, H)
        # nearest sample of each person's 256x256 box-relative labels at the pixel centres
        gx, gy = abs_to_grid(cols[None] + 0.5, rows[None] + 0.5, tuple(boxes[:, k, None] for k in range(4)))
        xs, ys = gx.floor().long(), gy.floor().long()  # (J, W), (J, H)
        on_x = in_x & (xs >= 0) & (xs < DP_GRID)
        on_y = in_y & (ys >= 0) & (ys < DP_GRID)
        xs, ys = xs.clamp(0, DP_GRID - 1), ys.clamp(0, DP_GRID - 1)
        cells = (ys[:, :, None] * DP_GRID + xs[:, None, :]).reshape(j, -1)
        sampled = segm.reshape(j, -1).gather(1, cells).reshape(j, h, w).long()
        painted = sampled * (on_y[:, :, None] & on_x[:, None, :] & has_segm[:, None, None])
        # the last person with a label > 0 at a pixel wins
        order = (painted > 0) * torch.arange(1, j + 1, device=device)[:, None, None]
        top = order.amax(dim=0)  # (H, W): 1 + index of the winning person, 0 = none
        labels[n] = painted.gather(0, (top - 1).clamp(min=0)[None])[0] * (top > 0)
        # people without dp_masks: their box pixels are unknown, not background
        unknown = (in_y[:, :, None] & in_x[:, None, :] & ~has_segm[:, None, None]).any(dim=0)
        weight[n, 0] = (~unknown).float()
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

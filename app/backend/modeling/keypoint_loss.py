"""The keypoint loss of Keypoint R-CNN without a host-device synchronisation.

Same value as detectron2's ``keypoint_rcnn_loss`` (cross-entropy over each keypoint's 56x56
heatmap at its ground-truth cell, summed over visible keypoints inside their proposal, divided by
their number or by a given normalizer), but the keypoints that do not count are weighted 0
instead of being picked out with ``nonzero``: the step never waits for the device to say how
many there are. Images without ``gt_keypoints`` add rows of weight 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from detectron2.structures import Instances
from torch.nn import functional as F


def keypoint_loss(pred_keypoint_logits: torch.Tensor, instances: Sequence[Instances], normalizer: float | None = None) -> torch.Tensor:
    """
    Args:
        pred_keypoint_logits: (N, K, S, S) logits, one row per ROI over all images, in order.
        instances: per image, its ROIs with ``proposal_boxes`` and (optionally) ``gt_keypoints``.
        normalizer: divide by this; None = by the number of keypoints that count.

    Returns:
        scalar loss (0, still connected to the logits, when no keypoint counts).
    """
    n, k, s, _ = pred_keypoint_logits.shape
    targets, weights = [], []
    for inst in instances:
        if len(inst) == 0:
            continue
        if inst.has("gt_keypoints"):
            cells, valid = inst.gt_keypoints.to_heatmap(inst.proposal_boxes.tensor, s)
        else:
            cells = torch.zeros((len(inst), k), dtype=torch.long, device=pred_keypoint_logits.device)
            valid = torch.zeros((len(inst), k), dtype=torch.bool, device=pred_keypoint_logits.device)
        targets.append(cells.reshape(-1))
        weights.append(valid.reshape(-1))
    if not targets or n == 0:
        return pred_keypoint_logits.sum() * 0
    target = torch.cat(targets)
    weight = torch.cat(weights).to(pred_keypoint_logits.dtype)
    ce = F.cross_entropy(pred_keypoint_logits.reshape(n * k, s * s), target, reduction="none")
    total = (ce * weight).sum()
    if normalizer is None:
        return total / weight.sum().clamp(min=1.0)
    return total / normalizer

"""The keypoint/DensePose refinement unit of "DensePose From WiFi".

The paper: the keypoint and DensePose heads see the same ROI features; "the results are
combined and then fed into the refinement unit of each branch, where each refinement
unit consists of two convolutional blocks followed by an FCN". How they are combined is
not stated. Our design:

* Both branches run on the same ROIs. Their head features (keypoint conv stack output
  ``F_kp`` (R, C_kp, 14, 14); DensePose head output ``F_dp`` (R, C_dp, 28, 28)) are both
  pooled from the same boxes, so they are spatially aligned up to scale.
* Combination: for the keypoint unit, ``cat(F_kp, resize(F_dp -> 14x14))``; for the
  DensePose unit, ``cat(F_dp, resize(F_kp -> 28x28))`` (bilinear resize).
* Each unit: NUM_CONVS conv blocks (3x3 conv + ReLU, CONV_DIM channels) and a zero-
  initialised 1x1 projection back to the branch's channels, added to the branch features
  (residual), then the branch's own FCN predictor (the keypoint ``score_lowres`` deconv +
  x2 upsampling; the DensePose chart predictor). At initialisation the refined model thus
  computes exactly what the plain heads compute, so an image teacher's checkpoint
  (keypoint R-CNN, DensePose R-CNN) loads into the plain parts and stays valid.
* The refinement parameters live under ``roi_heads.kp_dp_refine.*``: distinct names, so
  checkpoints without them load with refinement on (they start at identity), and models
  with refinement off carry none of them.
"""

from __future__ import annotations

import torch
from detectron2.config import CfgNode, configurable
from torch import nn
from torch.nn import functional as F


class RefinementUnit(nn.Module):
    """conv blocks on ``cat(own, other)`` -> zero-init 1x1 projection -> residual add to ``own``.

    Input ``own`` (R, C_own, H, W), ``other`` (R, C_other, h, w) (resized to H x W);
    output (R, C_own, H, W).
    """

    def __init__(self, own_channels: int, other_channels: int, conv_dim: int, num_convs: int):
        super().__init__()
        ch = own_channels + other_channels
        blocks: list[nn.Module] = []
        for _ in range(num_convs):
            conv = nn.Conv2d(ch, conv_dim, 3, padding=1)
            nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(conv.bias)
            blocks += [conv, nn.ReLU(inplace=True)]
            ch = conv_dim
        self.blocks = nn.Sequential(*blocks)
        self.project = nn.Conv2d(ch, own_channels, 1)
        nn.init.zeros_(self.project.weight)
        nn.init.zeros_(self.project.bias)

    def forward(self, own: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
        if other.shape[-2:] != own.shape[-2:]:
            other = F.interpolate(other, size=own.shape[-2:], mode="bilinear", align_corners=False)
        return own + self.project(self.blocks(torch.cat([own, other], dim=1)))


class KeypointDensePoseRefinement(nn.Module):
    """One refinement unit per branch: ``kp_unit`` and ``dp_unit``."""

    @configurable
    def __init__(self, *, keypoint_channels: int, densepose_channels: int, conv_dim: int = 256, num_convs: int = 2):
        super().__init__()
        self.kp_unit = RefinementUnit(keypoint_channels, densepose_channels, conv_dim, num_convs)
        self.dp_unit = RefinementUnit(densepose_channels, keypoint_channels, conv_dim, num_convs)

    @classmethod
    def from_config(cls, cfg: CfgNode, keypoint_channels: int, densepose_channels: int) -> dict:
        r = cfg.MODEL.ROI_KP_DP_REFINE
        return {
            "keypoint_channels": keypoint_channels,
            "densepose_channels": densepose_channels,
            "conv_dim": r.CONV_DIM,
            "num_convs": r.NUM_CONVS,
        }

    def forward(self, kp_features: torch.Tensor, dp_features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(R, C_kp, h, w), (R, C_dp, H, W) -> refined features of the same shapes."""
        return self.kp_unit(kp_features, dp_features), self.dp_unit(dp_features, kp_features)

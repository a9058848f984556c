"""DensePose head, predictor and the Panoptic-FPN decoder in front of the DensePose pooler.

Parameter names and shapes follow detectron2's DensePose project so its model-zoo
checkpoints load unchanged (projects/DensePose/densepose/modeling/roi_heads/v1convx.py,
predictors/chart.py, roi_heads/roi_head.py ``Decoder``):

* head ``body_conv_fcn1..N``: Conv2d(C_in or D, D, k, padding k//2), ReLU after each;
* predictor ``ann_index_lowres`` (K coarse channels), ``index_uv_lowres``, ``u_lowres``,
  ``v_lowres`` (NUM_PATCHES + 1 channels): ConvTranspose2d(D, ., DECONV_KERNEL, stride 2,
  padding DECONV_KERNEL/2 - 1), each followed by bilinear x UP_SCALE;
* decoder ``<feature>.<index>`` 3x3 conv (+ReLU, x2 bilinear upsampling until the common
  stride) per FPN level, summed, then ``predictor`` 1x1 conv.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from detectron2.config import CfgNode, configurable
from detectron2.layers import Conv2d, ConvTranspose2d, ShapeSpec, get_norm
from detectron2.utils.registry import Registry
from fvcore.nn import weight_init
from torch import nn
from torch.nn import functional as F

from app.backend.modeling.densepose.outputs import DensePoseOutputs

ROI_DENSEPOSE_HEAD_REGISTRY = Registry("ROI_DENSEPOSE_HEAD")
ROI_DENSEPOSE_HEAD_REGISTRY.__doc__ = """
Registry for DensePose heads: ROI features (R, C, P, P) -> head features (R, D, P, P).
Built as ``obj(cfg, input_channels)``; must expose ``n_out_channels``.
"""


def init_like_densepose(module: nn.Module) -> None:
    """Biases 0, weights Kaiming-normal (fan_out, ReLU): DensePose's own initialisation."""
    for name, param in module.named_parameters():
        if "bias" in name:
            nn.init.zeros_(param)
        elif "weight" in name:
            nn.init.kaiming_normal_(param, mode="fan_out", nonlinearity="relu")


@ROI_DENSEPOSE_HEAD_REGISTRY.register()
class DensePoseV1ConvXHead(nn.Module):
    """N stacked k x k convs with D channels, each followed by ReLU (fully convolutional).

    Input (R, C_in, P, P) pooled ROI features; output (R, D, P, P).
    """

    @configurable
    def __init__(
        self, input_channels: int, *, num_stacked_convs: int = 8, conv_head_dim: int = 512, kernel_size: int = 3
    ):
        super().__init__()
        self.n_stacked_convs = int(num_stacked_convs)
        ch = input_channels
        for i in range(self.n_stacked_convs):
            self.add_module(
                f"body_conv_fcn{i + 1}", Conv2d(ch, conv_head_dim, kernel_size, stride=1, padding=kernel_size // 2)
            )
            ch = conv_head_dim
        self.n_out_channels = ch
        init_like_densepose(self)

    @classmethod
    def from_config(cls, cfg: CfgNode, input_channels: int) -> dict:
        h = cfg.MODEL.ROI_DENSEPOSE_HEAD
        return {
            "input_channels": input_channels,
            "num_stacked_convs": h.NUM_STACKED_CONVS,
            "conv_head_dim": h.CONV_HEAD_DIM,
            "kernel_size": h.CONV_HEAD_KERNEL,
        }

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i in range(self.n_stacked_convs):
            x = F.relu(getattr(self, f"body_conv_fcn{i + 1}")(x))
        return x


class DensePoseChartPredictor(nn.Module):
    """Head features (R, D, P, P) -> :class:`DensePoseOutputs` with maps of side 2 * P * UP_SCALE."""

    @configurable
    def __init__(
        self,
        input_channels: int,
        *,
        num_coarse_segm_channels: int = 2,
        num_patches: int = 24,
        deconv_kernel: int = 4,
        up_scale: int = 2,
    ):
        super().__init__()
        pad = int(deconv_kernel / 2 - 1)

        def deconv(out_ch: int) -> ConvTranspose2d:
            return ConvTranspose2d(input_channels, out_ch, deconv_kernel, stride=2, padding=pad)

        self.ann_index_lowres = deconv(num_coarse_segm_channels)
        self.index_uv_lowres = deconv(num_patches + 1)
        self.u_lowres = deconv(num_patches + 1)
        self.v_lowres = deconv(num_patches + 1)
        self.scale_factor = up_scale
        init_like_densepose(self)

    @classmethod
    def from_config(cls, cfg: CfgNode, input_channels: int) -> dict:
        h = cfg.MODEL.ROI_DENSEPOSE_HEAD
        return {
            "input_channels": input_channels,
            "num_coarse_segm_channels": h.NUM_COARSE_SEGM_CHANNELS,
            "num_patches": h.NUM_PATCHES,
            "deconv_kernel": h.DECONV_KERNEL,
            "up_scale": h.UP_SCALE,
        }

    def _up(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=self.scale_factor, mode="bilinear", align_corners=False)

    def forward(self, x: torch.Tensor) -> DensePoseOutputs:
        return DensePoseOutputs(
            coarse_segm=self._up(self.ann_index_lowres(x)),
            fine_segm=self._up(self.index_uv_lowres(x)),
            u=self._up(self.u_lowres(x)),
            v=self._up(self.v_lowres(x)),
        )


class DensePoseFPNDecoder(nn.Module):
    """Panoptic-FPN style decoder merging FPN levels into one map at ``common_stride``.

    Input: dict of FPN features (N, C, H/s, W/s) for ``in_features``; output
    (N, num_classes, H/common_stride, W/common_stride). Level s gets
    max(1, log2(s) - log2(common_stride)) conv blocks, each followed by a x2 bilinear
    upsampling while its stride exceeds the common stride.
    """

    @configurable
    def __init__(
        self,
        input_shape: dict[str, ShapeSpec],
        *,
        in_features: Sequence[str],
        num_classes: int = 256,
        conv_dims: int = 256,
        norm: str = "",
        common_stride: int = 4,
    ):
        super().__init__()
        self.in_features = list(in_features)
        self.common_stride = common_stride
        self._heads: list[nn.Sequential] = []
        for name in self.in_features:
            stride = input_shape[name].stride
            length = max(1, int(math.log2(stride) - math.log2(common_stride)))
            ops: list[nn.Module] = []
            for k in range(length):
                conv = Conv2d(
                    input_shape[name].channels if k == 0 else conv_dims,
                    conv_dims,
                    kernel_size=3,
                    padding=1,
                    bias=not norm,
                    norm=get_norm(norm, conv_dims),
                    activation=F.relu,
                )
                weight_init.c2_msra_fill(conv)
                ops.append(conv)
                if stride != common_stride:
                    ops.append(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False))
            head = nn.Sequential(*ops)
            self.add_module(name, head)
            self._heads.append(head)
        self.predictor = Conv2d(conv_dims, num_classes, kernel_size=1)
        weight_init.c2_msra_fill(self.predictor)
        self.out_channels = num_classes

    @classmethod
    def from_config(cls, cfg: CfgNode, input_shape: dict[str, ShapeSpec]) -> dict:
        h = cfg.MODEL.ROI_DENSEPOSE_HEAD
        return {
            "input_shape": input_shape,
            "in_features": cfg.MODEL.ROI_HEADS.IN_FEATURES,
            "num_classes": h.DECODER_NUM_CLASSES,
            "conv_dims": h.DECODER_CONV_DIMS,
            "norm": h.DECODER_NORM,
            "common_stride": h.DECODER_COMMON_STRIDE,
        }

    def forward(self, features: Sequence[torch.Tensor]) -> torch.Tensor:
        """``features``: FPN maps in ``in_features`` order."""
        x = self._heads[0](features[0])
        for head, f in zip(self._heads[1:], features[1:]):
            x = x + head(f)
        return self.predictor(x)


def build_densepose_head(cfg: CfgNode, input_channels: int) -> nn.Module:
    """The head named by ``MODEL.ROI_DENSEPOSE_HEAD.NAME``."""
    return ROI_DENSEPOSE_HEAD_REGISTRY.get(cfg.MODEL.ROI_DENSEPOSE_HEAD.NAME)(cfg, input_channels)

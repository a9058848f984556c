"""Modality Translation Networks: CSI (amplitude, phase) -> an image-like 3xHxW tensor.

The paper ("DensePose From WiFi", Sec. 3.2) describes the MTN as: amplitude and phase
each flattened and encoded by their own MLP, the two codes concatenated and fused by
a third MLP into 576 values, reshaped to 1x24x24, reduced by two conv blocks to 6x6
and upsampled by four deconvolution stages to 3x720x1280. Layer widths and the
normalisation are not given; :class:`MLPConvMTN` takes every one of them from
``MODEL.MTN.*`` and works for any output size.

Other translators can be added with ``@MTN_REGISTRY.register()``; they are built by
:func:`build_mtn` from ``MODEL.MTN.NAME`` and must map a normalised CSI tensor of
shape (N, 2, P*S, R, T) to (N, 3, H, W) with (H, W) = ``MODEL.MTN.OUTPUT_SIZE``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from detectron2.config import CfgNode, configurable
from detectron2.utils.registry import Registry
from torch import nn
from torch.nn import functional as F

MTN_REGISTRY = Registry("MTN")
MTN_REGISTRY.__doc__ = """
Registry for modality translation networks (CSI -> image-like tensor).
The registered object is called as ``obj(cfg)`` (``@configurable`` classes accept a cfg)
and must return an ``nn.Module`` mapping (N, 2, P*S, R, T) to (N, 3, H, W).
"""

#: Largest integer stride of one deconvolution stage (kernel = stride + 2 * padding).
MAX_DECONV_STRIDE = 4


def norm_2d(norm: str, channels: int) -> nn.Module | None:
    """A 2-D normalisation layer by name: '', 'BN', 'SyncBN', 'GN' or 'LN' (GroupNorm with one group).

    GN uses the largest group count <= 32 that divides ``channels``, so any width works.
    """
    if not norm:
        return None
    if norm == "BN":
        return nn.BatchNorm2d(channels)
    if norm == "SyncBN":
        return nn.SyncBatchNorm(channels)
    if norm == "GN":
        groups = max(g for g in range(1, min(32, channels) + 1) if channels % g == 0)
        return nn.GroupNorm(groups, channels)
    if norm == "LN":
        return nn.GroupNorm(1, channels)
    raise ValueError(f"MODEL.MTN.NORM must be '', 'BN', 'SyncBN', 'GN' or 'LN', got {norm!r}")


def mlp(
    in_dim: int, dims: Sequence[int], *, layer_norm: bool, dropout: float, last_activation: bool = True
) -> nn.Sequential:
    """Linear layers of widths ``dims``, each followed by [LayerNorm] + ReLU [+ Dropout].

    With ``last_activation=False`` the last Linear layer stays linear (no norm, ReLU or dropout).
    """
    layers: list[nn.Module] = []
    for k, width in enumerate(dims):
        layers.append(nn.Linear(in_dim, width))
        if last_activation or k < len(dims) - 1:
            if layer_norm:
                layers.append(nn.LayerNorm(width))
            layers.append(nn.ReLU(inplace=True))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
        in_dim = width
    return nn.Sequential(*layers)


def choose_strides(ratio: float, num_stages: int, max_stride: int = MAX_DECONV_STRIDE) -> tuple[int, ...]:
    """Integer strides (ascending, each 1..max_stride) whose product is closest to ``ratio`` in log scale.

    Ties go to the smaller product (cheaper), then to the smaller largest stride. Ascending order keeps the large feature maps
    for the late, narrow stages. Example: ratio 120 (6 -> 720) over 4 stages -> (2, 4, 4, 4).
    """
    best: tuple[float, int, int, tuple[int, ...]] | None = None
    target = math.log(max(ratio, 1e-6))
    for combo in itertools.combinations_with_replacement(range(1, max_stride + 1), num_stages):
        prod = math.prod(combo)
        key = (round(abs(math.log(prod) - target), 9), prod, max(combo), combo)
        if best is None or key < best:
            best = key
    assert best is not None
    return best[3]


def _deconv(in_ch: int, out_ch: int, stride: tuple[int, int], bias: bool) -> nn.ConvTranspose2d:
    """Transposed conv whose output is exactly ``input * stride`` per dimension.

    Padding p = ceil(s / 2) and kernel k = s + 2p give (n - 1) * s - 2p + k = n * s; s = 1 is a
    plain 3x3 conv.
    """
    pad = tuple((s + 1) // 2 for s in stride)
    kernel = tuple(s + 2 * p for s, p in zip(stride, pad))
    return nn.ConvTranspose2d(in_ch, out_ch, kernel, stride=stride, padding=pad, bias=bias)


@MTN_REGISTRY.register()
class MLPConvMTN(nn.Module):
    """The paper's MTN: MLP encoders + fusion MLP -> 1xLxL latent map -> conv blocks -> deconvolutions.

    Shapes (defaults, paper input P*S = 150, R = T = 3, output 720x1280):
        amplitude (N, 1350) --enc--> (N, 512) \\
                                               cat (N, 1024) --fusion--> (N, 576) -> (N, 1, 24, 24)
        phase     (N, 1350) --enc--> (N, 512) /
        conv blocks (3x3, stride 2): 24 -> 12 -> 6 with CONV_CHANNELS (64, 128) channels
        deconvolution stages with DECONV_CHANNELS (128, 64, 32, 16) channels and integer
        strides per axis chosen by :func:`choose_strides` (720x1280: 6 -> 768 x 1152),
        a linear 3x3 conv to 3 channels, then a bilinear resize to exactly OUTPUT_SIZE
        when the strides cannot hit it.

    Default widths (``app.backend.config.add_mtn_config``) and why:
        * ENCODER_DIMS (1024, 512): the 1350 inputs per modality are highly correlated
          (neighbouring subcarriers and packets), a 1024-wide first layer keeps nearly all of
          their information, the 512-wide code halves it before fusion; ~1.9M weights each.
        * FUSION_DIMS (1024,): one hidden layer as wide as the concatenated codes, then the
          linear projection to LATENT_SIZE**2 = 576 (paper).
        * CONV_CHANNELS (64, 128): the usual doubling as resolution halves; 6x6x128 = 4608
          values leave the bottleneck, ample for a few people in a room.
        * DECONV_CHANNELS (128, 64, 32, 16): halving as resolution grows keeps each stage's
          cost roughly constant; 16 channels at full 720x1280 resolution keep memory low
          (the backbone's stem immediately reduces the map anyway).
        * NORM 'BN' (LayerNorm in the MLPs): stable from a random start at batch sizes >= 2;
          'GN'/'LN' are the choice for batch 1 per GPU. DROPOUT 0: the detector losses and
          the small input already regularise; raise it for tiny datasets.
        * The output layer is linear: the MTN learns its own scale for the backbone.

    Input: normalised CSI of shape (N, 2, P*S, R, T) (channel 0 amplitude, 1 phase).
    Output: float tensor (N, 3, H, W), (H, W) = ``output_size``.
    """

    @configurable
    def __init__(
        self,
        *,
        input_shape: tuple[int, int, int],
        output_size: tuple[int, int],
        encoder_dims: Sequence[int] = (1024, 512),
        fusion_dims: Sequence[int] = (1024,),
        latent_size: int = 24,
        conv_channels: Sequence[int] = (64, 128),
        deconv_channels: Sequence[int] = (128, 64, 32, 16),
        norm: str = "BN",
        dropout: float = 0.0,
    ):
        """
        Args:
            input_shape: (P*S, R, T) of one modality, e.g. (150, 3, 3).
            output_size: (H, W) of the image-like output.
            encoder_dims, fusion_dims: hidden widths of the encoders / fusion MLP.
            latent_size: side L of the latent map; the fusion MLP outputs L*L values.
            conv_channels: channels of the stride-2 conv blocks (one block per entry).
            deconv_channels: channels of the deconvolution stages (one stage per entry).
            norm: '', 'BN', 'SyncBN', 'GN' or 'LN' for conv blocks; MLPs use LayerNorm when set.
            dropout: dropout probability in the MLPs.
        """
        super().__init__()
        if not encoder_dims or not deconv_channels:
            raise ValueError("MODEL.MTN.ENCODER_DIMS and DECONV_CHANNELS need at least one entry")
        self.input_shape = tuple(int(v) for v in input_shape)
        self.output_size = (int(output_size[0]), int(output_size[1]))
        in_dim = math.prod(self.input_shape)
        use_ln = bool(norm)
        self.amp_encoder = mlp(in_dim, encoder_dims, layer_norm=use_ln, dropout=dropout)
        self.phase_encoder = mlp(in_dim, encoder_dims, layer_norm=use_ln, dropout=dropout)
        self.latent_size = int(latent_size)
        self.fusion = mlp(
            2 * encoder_dims[-1],
            [*fusion_dims, self.latent_size**2],
            layer_norm=use_ln,
            dropout=dropout,
            last_activation=False,
        )

        blocks: list[nn.Module] = []
        ch, side = 1, self.latent_size
        for out_ch in conv_channels:
            blocks.append(self._block(nn.Conv2d(ch, out_ch, 3, stride=2, padding=1, bias=not norm), norm, out_ch))
            ch, side = out_ch, (side + 1) // 2
        self.down = nn.Sequential(*blocks)
        self.bottleneck_size = side

        n = len(deconv_channels)
        strides_h = choose_strides(self.output_size[0] / side, n)
        strides_w = choose_strides(self.output_size[1] / side, n)
        self.strides = tuple(zip(strides_h, strides_w))
        stages: list[nn.Module] = []
        for out_ch, stride in zip(deconv_channels, self.strides):
            stages.append(self._block(_deconv(ch, out_ch, stride, bias=not norm), norm, out_ch))
            ch = out_ch
        self.up = nn.Sequential(*stages)
        self.deconv_size = (side * math.prod(strides_h), side * math.prod(strides_w))
        self.to_image = nn.Conv2d(ch, 3, 3, padding=1)
        self._init_weights()
        # The conv stack keeps its weights and activations channels-last (NHWC): oneDNN runs the
        # transposed convolutions much faster so on CPU (an MTN pretraining step of 16 at 128x128,
        # float32 AVX2: 79 vs 105 ms; benchmarks/bench_mtn_memory_format.py). Loading a state dict
        # copies into these tensors and keeps the layout.
        self.set_conv_memory_format(torch.channels_last)

    def set_conv_memory_format(self, memory_format: torch.memory_format) -> None:
        """Lay out the conv stack's weights, and its activations in :meth:`forward`, in ``memory_format``."""
        self.conv_memory_format = memory_format
        for stack in (self.down, self.up, self.to_image):
            stack.to(memory_format=memory_format)

    @staticmethod
    def _block(conv: nn.Module, norm: str, channels: int) -> nn.Sequential:
        layers = [conv]
        n = norm_2d(norm, channels)
        if n is not None:
            layers.append(n)
        layers.append(nn.ReLU(inplace=True))
        return nn.Sequential(*layers)

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.kaiming_uniform_(m.weight, a=1)
                nn.init.zeros_(m.bias)
        nn.init.normal_(self.to_image.weight, std=0.01)

    @classmethod
    def from_config(cls, cfg: CfgNode) -> dict:
        c = cfg.INPUT.CSI
        m = cfg.MODEL.MTN
        return {
            "input_shape": (c.PACKETS_PER_SAMPLE * c.NUM_SUBCARRIERS, c.NUM_RX, c.NUM_TX),
            "output_size": tuple(m.OUTPUT_SIZE),
            "encoder_dims": tuple(m.ENCODER_DIMS),
            "fusion_dims": tuple(m.FUSION_DIMS),
            "latent_size": m.LATENT_SIZE,
            "conv_channels": tuple(m.CONV_CHANNELS),
            "deconv_channels": tuple(m.DECONV_CHANNELS),
            "norm": m.NORM,
            "dropout": m.DROPOUT,
        }

    def forward(self, csi: torch.Tensor) -> torch.Tensor:
        """(N, 2, P*S, R, T) normalised CSI -> (N, 3, H, W) image-like tensor."""
        if csi.dim() != 5 or csi.shape[1] != 2 or tuple(csi.shape[2:]) != self.input_shape:
            raise ValueError(
                f"MTN expects CSI of shape (N, 2, {', '.join(map(str, self.input_shape))}), got {tuple(csi.shape)}"
            )
        n = csi.shape[0]
        amp = self.amp_encoder(csi[:, 0].reshape(n, -1))
        phase = self.phase_encoder(csi[:, 1].reshape(n, -1))
        z = self.fusion(torch.cat([amp, phase], dim=1)).view(n, 1, self.latent_size, self.latent_size)
        x = self.to_image(self.up(self.down(z.contiguous(memory_format=self.conv_memory_format))))
        if tuple(x.shape[-2:]) != self.output_size:
            # resize the 3-channel result (not the wider features): same linear map, 5x less memory traffic
            x = F.interpolate(x, size=self.output_size, mode="bilinear", align_corners=False)
        # the detector gets the usual NCHW layout (its weights are contiguous)
        return x.contiguous()


def build_mtn(cfg: CfgNode) -> nn.Module:
    """The translator named by ``MODEL.MTN.NAME`` (registered in :data:`MTN_REGISTRY`)."""
    return MTN_REGISTRY.get(cfg.MODEL.MTN.NAME)(cfg)

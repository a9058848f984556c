"""MLPConvMTN: any output size, configurable widths, the paper's 24x24 latent and 6x6 bottleneck."""

from __future__ import annotations

import math

import pytest
import torch

from app.backend.config import get_cfg
from app.backend.modeling import MTN_REGISTRY, MLPConvMTN, build_mtn
from app.backend.modeling.mtn import choose_strides


def _small(size: tuple[int, int], **kw) -> MLPConvMTN:
    args = dict(
        input_shape=(150, 3, 3),
        output_size=size,
        encoder_dims=(32,),
        fusion_dims=(64,),
        conv_channels=(8, 8),
        deconv_channels=(8, 8, 8, 4),
    )
    args.update(kw)
    return MLPConvMTN(**args)


@pytest.mark.parametrize("size", [(64, 64), (160, 160), (96, 128), (100, 37)])
def test_output_is_exactly_the_configured_size(size):
    mtn = _small(size).eval()
    out = mtn(torch.randn(3, 2, 150, 3, 3))
    assert out.shape == (3, 3, *size)
    assert torch.isfinite(out).all()


def test_paper_size_720x1280_from_the_default_config():
    cfg = get_cfg()
    assert tuple(cfg.MODEL.MTN.OUTPUT_SIZE) == (720, 1280)
    mtn = build_mtn(cfg).eval()
    assert isinstance(mtn, MLPConvMTN) and "MLPConvMTN" in MTN_REGISTRY
    assert mtn.latent_size == 24 and mtn.bottleneck_size == 6  # paper: 576 values -> 24x24 -> 6x6
    assert mtn.fusion[-1].out_features == 576
    assert mtn.amp_encoder[0].in_features == 1350  # 5 packets x 30 subcarriers x 3 x 3
    with torch.no_grad():
        out = mtn(torch.randn(1, 2, 150, 3, 3))
    assert out.shape == (1, 3, 720, 1280)


def test_widths_come_from_the_config():
    cfg = get_cfg()
    cfg.MODEL.MTN.ENCODER_DIMS = [48, 24]
    cfg.MODEL.MTN.FUSION_DIMS = [40]
    cfg.MODEL.MTN.CONV_CHANNELS = [4, 6]
    cfg.MODEL.MTN.DECONV_CHANNELS = [6, 5, 4]
    cfg.MODEL.MTN.OUTPUT_SIZE = [48, 48]
    cfg.MODEL.MTN.NORM = "GN"
    cfg.INPUT.CSI.NUM_SUBCARRIERS = 114
    cfg.INPUT.CSI.NUM_TX = 1
    mtn = build_mtn(cfg)
    assert mtn.amp_encoder[0].in_features == 5 * 114 * 3 * 1
    assert [m.out_features for m in mtn.amp_encoder if isinstance(m, torch.nn.Linear)] == [48, 24]
    assert len(mtn.up) == 3 and mtn.up[-1][0].out_channels == 4
    assert mtn(torch.randn(2, 2, 570, 3, 1)).shape == (2, 3, 48, 48)


def test_wrong_csi_shape_is_a_clear_error():
    with pytest.raises(ValueError, match=r"MTN expects CSI of shape \(N, 2, 150, 3, 3\)"):
        _small((64, 64))(torch.randn(1, 2, 114, 3, 3))


@pytest.mark.parametrize("norm", ["", "BN", "GN", "LN"])
def test_gradients_reach_both_encoders(norm):
    mtn = _small((32, 32), norm=norm)
    mtn(torch.randn(2, 2, 150, 3, 3)).square().mean().backward()
    assert mtn.amp_encoder[0].weight.grad.abs().sum() > 0
    assert mtn.phase_encoder[0].weight.grad.abs().sum() > 0


def test_stride_choice_tracks_the_ratio():
    assert choose_strides(16, 4) == (2, 2, 2, 2)
    assert 100 <= math.prod(choose_strides(120, 4)) <= 144  # 6 -> ~720
    assert all(s <= 4 for s in choose_strides(1000, 4))


def _conv_weights(mtn: MLPConvMTN) -> list[torch.Tensor]:
    return [p for stack in (mtn.down, mtn.up, mtn.to_image) for p in stack.parameters() if p.dim() == 4]


def test_conv_stack_runs_channels_last_and_hands_the_detector_nchw():
    mtn = _small((64, 64)).train()
    weights = _conv_weights(mtn)
    assert weights and all(w.is_contiguous(memory_format=torch.channels_last) for w in weights)
    out = mtn(torch.randn(2, 2, 150, 3, 3))
    assert out.is_contiguous()  # the usual NCHW layout for the backbone
    out.square().mean().backward()
    assert all(w.grad is not None and torch.isfinite(w.grad).all() for w in weights)


def test_channels_last_output_equals_the_nchw_computation():
    """The layout is a speed choice only: the same weights in NCHW give the same image."""
    torch.manual_seed(0)
    mtn = _small((96, 128)).eval()
    csi = torch.randn(3, 2, 150, 3, 3)
    with torch.no_grad():
        fast = mtn(csi)
        mtn.set_conv_memory_format(torch.contiguous_format)
        assert all(w.is_contiguous() for w in _conv_weights(mtn))
        ref = mtn(csi)
    torch.testing.assert_close(fast, ref, rtol=1e-4, atol=1e-5)


def test_a_state_dict_loads_into_the_channels_last_weights():
    a, b = _small((64, 64)), _small((64, 64))
    sd = {k: v.contiguous() for k, v in a.state_dict().items()}  # as an NCHW checkpoint holds them
    b.load_state_dict(sd)
    assert all(w.is_contiguous(memory_format=torch.channels_last) for w in _conv_weights(b))
    csi = torch.randn(2, 2, 150, 3, 3)
    with torch.no_grad():
        torch.testing.assert_close(a.eval()(csi), b.eval()(csi))

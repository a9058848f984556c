"""SOLVER.AMP.ENABLED on a CPU (bfloat16 autocast) and the fused AdamW step."""

from __future__ import annotations

import logging
import math

import pytest
import torch
from detectron2.engine import AMPTrainer, SimpleTrainer

from app.backend.config import ConfigError
from app.backend.data.dataset import register_datasets
from app.backend.engine.trainer import CPU_BF16_ENV, CPUAutocastTrainer, Trainer, cpu_has_native_bf16, loop_class

needs_bf16 = pytest.mark.skipif(not cpu_has_native_bf16(), reason="this CPU has no native bfloat16")


@pytest.fixture(autouse=True)
def _no_forced_bf16(monkeypatch):
    """These tests choose WDS_CPU_BF16 themselves; the caller's environment must not decide."""
    monkeypatch.delenv(CPU_BF16_ENV, raising=False)


def test_adamw_is_fused_and_makes_the_same_update_as_the_per_tensor_loop(tiny_cfg):
    cfg = tiny_cfg("fused", SOLVER__OPTIMIZER="AdamW", SOLVER__BASE_LR=0.01)
    model = Trainer.build_model(cfg)
    fused = Trainer.build_optimizer(cfg, model)
    assert fused.defaults["fused"] is True
    groups = [{**{k: v for k, v in g.items() if k != "params"}, "params": [p.detach().clone().requires_grad_() for p in g["params"]]}
              for g in fused.param_groups]
    loop = type(fused)(groups, fused=False, foreach=False)  # the same gradient clipping wrapper
    gen = torch.Generator().manual_seed(0)
    for _ in range(3):
        for g_fused, g_loop in zip(fused.param_groups, loop.param_groups):
            for p, q in zip(g_fused["params"], g_loop["params"]):
                p.grad = torch.randn(p.shape, generator=gen)
                q.grad = p.grad.clone()
        fused.step()
        loop.step()
    for g_fused, g_loop in zip(fused.param_groups, loop.param_groups):
        for p, q in zip(g_fused["params"], g_loop["params"]):
            torch.testing.assert_close(p.detach(), q.detach(), rtol=1e-5, atol=1e-6)


def test_loop_class_follows_the_device_and_the_cpu(tiny_cfg, monkeypatch, caplog):
    assert loop_class(tiny_cfg("plain", SOLVER__AMP__ENABLED=False), on_cpu=True) is SimpleTrainer
    amp = tiny_cfg("amp", SOLVER__AMP__ENABLED=True)
    assert loop_class(amp, on_cpu=False) is AMPTrainer
    # a CPU without native bfloat16 (oneDNN's own probe says no): float32, and the log says why
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)
    assert not cpu_has_native_bf16()
    with caplog.at_level(logging.WARNING):
        assert loop_class(amp, on_cpu=True) is SimpleTrainer
    assert "no native bfloat16" in caplog.text


@pytest.mark.parametrize("native", [True, False])
def test_bf16_choice_is_forced_by_the_config_or_the_environment(tiny_cfg, monkeypatch, native):
    monkeypatch.setattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: native)
    auto = CPUAutocastTrainer if native else SimpleTrainer
    assert loop_class(tiny_cfg("auto", SOLVER__AMP__ENABLED=True), on_cpu=True) is auto
    assert loop_class(tiny_cfg("off", SOLVER__AMP__ENABLED=True, SOLVER__AMP__CPU_BF16="off"), on_cpu=True) is SimpleTrainer
    assert loop_class(tiny_cfg("on", SOLVER__AMP__ENABLED=True, SOLVER__AMP__CPU_BF16="on"), on_cpu=True) is CPUAutocastTrainer
    # the environment wins over the config
    for env, expected in (("0", SimpleTrainer), ("1", CPUAutocastTrainer), ("auto", auto)):
        monkeypatch.setenv(CPU_BF16_ENV, env)
        assert loop_class(tiny_cfg("env", SOLVER__AMP__ENABLED=True, SOLVER__AMP__CPU_BF16="on"), on_cpu=True) is expected
    # AMP off stays float32, GPUs keep AMPTrainer, whatever the CPU setting
    monkeypatch.setenv(CPU_BF16_ENV, "1")
    assert loop_class(tiny_cfg("plain", SOLVER__AMP__ENABLED=False), on_cpu=True) is SimpleTrainer
    assert loop_class(tiny_cfg("gpu", SOLVER__AMP__ENABLED=True), on_cpu=False) is AMPTrainer
    monkeypatch.setenv(CPU_BF16_ENV, "maybe")
    with pytest.raises(ConfigError, match="WDS_CPU_BF16 must be 0, 1 or auto"):
        loop_class(tiny_cfg("bad", SOLVER__AMP__ENABLED=True), on_cpu=True)
    monkeypatch.delenv(CPU_BF16_ENV)
    with pytest.raises(ConfigError, match="SOLVER.AMP.CPU_BF16"):
        loop_class(tiny_cfg("bad2", SOLVER__AMP__ENABLED=True, SOLVER__AMP__CPU_BF16="yes please"), on_cpu=True)


def test_forced_float32_trains_in_float32(tiny_cfg, monkeypatch):
    monkeypatch.setenv(CPU_BF16_ENV, "0")
    cfg = tiny_cfg("f32", max_iter=1, SOLVER__AMP__ENABLED=True)
    register_datasets(cfg)
    trainer = Trainer(cfg)
    assert type(trainer._trainer) is SimpleTrainer and not trainer.cpu_bf16_autocast


@needs_bf16
def test_amp_on_cpu_trains_in_bfloat16_with_float32_weights(tiny_cfg):
    cfg = tiny_cfg("amp_train", max_iter=3, SOLVER__AMP__ENABLED=True)
    register_datasets(cfg)
    trainer = Trainer(cfg)
    assert type(trainer._trainer) is CPUAutocastTrainer and trainer.cpu_bf16_autocast
    model = trainer.model.module if hasattr(trainer.model, "module") else trainer.model
    seen: list[torch.dtype] = []

    def record(module, inputs, output):  # training's forward passes only (evaluation runs in float32)
        if module.training:
            seen.append(output.dtype)

    handle = model.backbone.bottom_up.stem.conv1.register_forward_hook(record)
    before = model.mtn.amp_encoder[0].weight.detach().clone()
    trainer.resume_or_load(resume=False)
    trainer.train()
    handle.remove()
    assert len(seen) == 3 and set(seen) == {torch.bfloat16}  # training's convolutions ran in bfloat16
    assert all(p.dtype == torch.float32 for p in model.parameters())  # the weights did not
    assert not torch.equal(before, model.mtn.amp_encoder[0].weight)
    losses = trainer.storage.history("total_loss").values()
    assert len(losses) >= 1 and all(math.isfinite(v) for v, _ in losses)

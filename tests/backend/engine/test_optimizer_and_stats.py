"""SOLVER.OPTIMIZER (SGD / AdamW) and the per-value CSI statistics over the training set."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app.backend.data.csi import csi_model_input
from app.backend.data.dataset import register_datasets
from app.backend.engine.csi_stats import collect_csi_stats
from app.backend.engine.trainer import Trainer
from app.backend.errors import UserFacingError


def test_optimizer_choice_keeps_lr_groups_and_gradient_clipping(tiny_cfg):
    model = Trainer.build_model(tiny_cfg("opt"))
    sgd = Trainer.build_optimizer(tiny_cfg("opt", SOLVER__OPTIMIZER="SGD", SOLVER__BASE_LR=0.02), model)
    adam = Trainer.build_optimizer(
        tiny_cfg("opt", SOLVER__OPTIMIZER="AdamW", SOLVER__BASE_LR=0.002, SOLVER__BETAS=[0.8, 0.99]), model
    )
    assert isinstance(sgd, torch.optim.SGD) and isinstance(adam, torch.optim.AdamW)
    assert "Clip" in type(adam).__name__  # SOLVER.CLIP_GRADIENTS is on in the base config
    assert {g["lr"] for g in adam.param_groups} == {0.002}
    assert adam.defaults["betas"] == (0.8, 0.99)
    # detectron2's groups: no weight decay on norm layers (WEIGHT_DECAY_NORM 0)
    assert {g["weight_decay"] for g in adam.param_groups} == {0.0, 1e-4}
    with pytest.raises(UserFacingError, match="SOLVER.OPTIMIZER"):
        Trainer.build_optimizer(tiny_cfg("opt", SOLVER__OPTIMIZER="Lion"), model)


@pytest.mark.parametrize("clip_type, norm_type", [("norm", 2.0), ("norm", 1.0), ("value", 2.0)])
def test_gradient_clipping_equals_detectron2s_per_parameter_clipping(tiny_cfg, clip_type, norm_type):
    from detectron2.solver.build import maybe_add_gradient_clipping

    cfg = tiny_cfg(
        "clip", SOLVER__OPTIMIZER="SGD", SOLVER__CLIP_GRADIENTS__CLIP_TYPE=clip_type,
        SOLVER__CLIP_GRADIENTS__CLIP_VALUE=0.5, SOLVER__CLIP_GRADIENTS__NORM_TYPE=norm_type,
    )
    model = Trainer.build_model(cfg)
    ours = Trainer.build_optimizer(cfg, model)
    theirs_params = [{**{k: v for k, v in g.items() if k != "params"}, "params": [p.detach().clone().requires_grad_() for p in g["params"]]}
                     for g in ours.param_groups]
    theirs = maybe_add_gradient_clipping(cfg, torch.optim.SGD)(theirs_params, lr=cfg.SOLVER.BASE_LR, momentum=cfg.SOLVER.MOMENTUM)
    gen = torch.Generator().manual_seed(0)
    clipped = 0
    for g_ours, g_theirs in zip(ours.param_groups, theirs.param_groups):
        for p, q in zip(g_ours["params"], g_theirs["params"]):
            p.grad = torch.randn(p.shape, generator=gen) * (3.0 if p.numel() > 100 else 0.01)  # some above the limit, some below
            q.grad = p.grad.clone()
    ours.step()
    theirs.step()
    for g_ours, g_theirs in zip(ours.param_groups, theirs.param_groups):
        for p, q in zip(g_ours["params"], g_theirs["params"]):
            torch.testing.assert_close(p.grad, q.grad, rtol=1e-5, atol=1e-7)
            torch.testing.assert_close(p.detach(), q.detach(), rtol=1e-5, atol=1e-7)
            clipped += int(p.grad.abs().max() <= 0.5 + 1e-6 and p.numel() > 100)
    assert clipped > 0


def test_adamw_step_changes_the_mtn(tiny_cfg):
    cfg = tiny_cfg("adam", SOLVER__OPTIMIZER="AdamW")
    model = Trainer.build_model(cfg)
    opt = Trainer.build_optimizer(cfg, model)
    before = model.mtn.amp_encoder[0].weight.detach().clone()
    model.mtn.amp_encoder[0].weight.grad = torch.ones_like(before)
    opt.step()
    assert not torch.equal(before, model.mtn.amp_encoder[0].weight)


def test_feature_stats_are_the_mean_and_std_of_every_input_value(tiny_cfg):
    cfg = tiny_cfg("stats")
    register_datasets(cfg)
    from detectron2.data import DatasetCatalog

    files = [r["csi_file"] for r in DatasetCatalog.get(cfg.DATASETS.TRAIN[0])]
    _, (mean, std) = collect_csi_stats(cfg, global_stats=False, per_value=True, max_samples=len(files))
    x = np.stack([csi_model_input(f, cfg) for f in files]).astype(np.float64)
    assert mean.shape == std.shape == x.shape[1:] == (2, 150, 3, 3)
    np.testing.assert_allclose(mean, x.mean(0), rtol=1e-4, atol=1e-4)
    floor = 0.01 * np.median(x.std(0).reshape(2, -1), axis=1)
    np.testing.assert_allclose(std, np.maximum(x.std(0), floor[:, None, None, None]), rtol=1e-3, atol=1e-4)
    assert (std > 0).all()


def test_one_pass_gives_both_normalisations(tiny_cfg):
    """collect_csi_stats reads the training CSI once and returns what the two passes gave."""
    cfg = tiny_cfg("stats_one_pass")
    register_datasets(cfg)
    stats, (mean, std) = collect_csi_stats(cfg, global_stats=True, per_value=True)
    alone, _ = collect_csi_stats(cfg)
    assert stats.to_cfg_dict() == alone.to_cfg_dict()
    _, (mean2, std2) = collect_csi_stats(cfg, global_stats=False, per_value=True)
    np.testing.assert_array_equal(mean, mean2)
    np.testing.assert_array_equal(std, std2)
    assert collect_csi_stats(cfg, global_stats=False, per_value=False) == (None, None)


def test_trainer_puts_feature_stats_into_the_model(tiny_cfg):
    trainer = Trainer(tiny_cfg("trainer_stats", INPUT__CSI__NORMALIZATION="feature"))
    model = trainer.model.module if hasattr(trainer.model, "module") else trainer.model
    assert float(model.csi_feature_std.min()) > 0
    assert float(model.csi_feature_mean.abs().sum()) > 0  # computed, not the 0/1 placeholders


@pytest.mark.parametrize("max_iter", [6, 8, 9])
def test_lr_steps_at_or_after_max_iter_are_ignored_not_fatal(tiny_cfg, max_iter):
    # demo_cpu decays by cosine; the multi-step schedule is what the STEPS handling is for
    cfg = tiny_cfg("steps", max_iter=max_iter, SOLVER__STEPS=(4, 8), SOLVER__LR_SCHEDULER_NAME="WarmupMultiStepLR")
    model = Trainer.build_model(cfg)
    sched = Trainer.build_lr_scheduler(cfg, Trainer.build_optimizer(cfg, model))
    lrs = []
    for _ in range(max_iter):
        lrs.append(sched.get_last_lr()[0])
        sched.step()
    assert lrs[5] == pytest.approx(lrs[4])  # after the step at 4 the LR stays put
    assert lrs[5] < lrs[3]
    if max_iter == 9:  # the step at 8 < 9 still applies
        assert lrs[8] < lrs[7]

"""MTN pretraining: the modality translation network alone on the part image, before the detector.

With ``LOSS_WEIGHTS.MTN_PARTS`` on, the MTN learns to paint the people's coarse body parts
(:mod:`app.backend.modeling.mtn_target`) and the detector reads that painting. In a full step
the MTN is a small part of the cost (the synthetic demo on 2 CPU cores: ~0.03 s of ~0.37 s),
yet the detector cannot learn much from the MTN's output until it shows people. So a fresh
run may first train the MTN alone for ``SOLVER.MTN_PRETRAIN.ITERS`` steps of
``SOLVER.MTN_PRETRAIN.IMS_PER_BATCH`` samples: CSI in, part image out, the same loss, no
backbone, RPN or ROI heads.

The samples (model input and coarse label image) are mapped once per dataset version through
the training mapper and kept in the training cache (:mod:`app.backend.engine.sample_cache`): at
most ``MAX_SAMPLES`` spread evenly over ``DATASETS.TRAIN`` and at most 1 GiB. The MTN's own fused
AdamW (``SOLVER.MTN_PRETRAIN.BASE_LR``, constant; ``WEIGHT_DECAY``, ``BETAS``) updates it; the main
optimizer starts afterwards as usual. Under DDP every process draws its own batches and the
gradients are averaged. The forward pass runs under bfloat16 autocast when the main loop does
(:class:`CPUAutocastTrainer`).

It runs as the first hook's ``before_train`` (:class:`MTNPretrainHook`) and only when a run
starts at iteration 0: ``--resume`` never repeats it. What it reports (see
:mod:`app.backend.engine.hooks`): progress of the phases ``"read"`` and ``"pretrain"``, and
``{"kind": "metrics", "phase": "pretrain", ...}`` events with ``loss_mtn_parts`` from the first
steps on, also written to ``OUTPUT_DIR/metrics.json`` as lines ``{"phase": "pretrain",
"pretrain_iteration": k, "pretrain_max_iter": K, "loss_mtn_parts": x, "lr": lr, "time": s}``
(no ``"iteration"`` key: the main loop's lines keep theirs). The log gets 20 lines with the ETA.
A :class:`TrainControl` can pause or stop it between two samples or steps
(:class:`TrainingStopped` in phase ``"read"`` or ``"pretrain"``, nothing saved).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Callable
from typing import Any

import torch
from detectron2.config import CfgNode
from detectron2.engine import HookBase
from detectron2.utils import comm

from app.backend.engine.hooks import PhaseProgress
from app.backend.engine.sample_cache import PartSamples, collect_part_samples
from app.backend.errors import ConfigError
from app.backend.modeling.mtn_target import part_image_loss

logger = logging.getLogger(__name__)

def check_pretrain_config(cfg: CfgNode) -> int:
    """Steps of MTN pretraining this run does: ``SOLVER.MTN_PRETRAIN.ITERS``, 0 for image models.

    Raises:
        ConfigError: negative steps, batch or sample count < 1, or no part image to learn
            (``LOSS_WEIGHTS.MTN_PARTS`` 0) in a CSI run that asks for pretraining.
    """
    node = cfg.SOLVER.MTN_PRETRAIN
    iters = int(node.ITERS)
    if iters < 0:
        raise ConfigError(f"SOLVER.MTN_PRETRAIN.ITERS must be >= 0, got {iters}")
    if iters == 0:
        return 0
    if cfg.INPUT.MODALITY != "csi":
        return 0  # an image model has no MTN (like every MODEL.MTN key, the setting does not apply)
    if not float(cfg.MODEL.LOSS_WEIGHTS.MTN_PARTS) > 0:
        raise ConfigError("SOLVER.MTN_PRETRAIN.ITERS needs MODEL.LOSS_WEIGHTS.MTN_PARTS > 0 (the part image is its only target)")
    if int(node.IMS_PER_BATCH) < 1 or int(node.MAX_SAMPLES) < 1:
        raise ConfigError("SOLVER.MTN_PRETRAIN.IMS_PER_BATCH and MAX_SAMPLES must be >= 1")
    return iters


def pretrain_mtn(
    model: torch.nn.Module,
    samples: PartSamples,
    iters: int,
    batch_size: int,
    optimizer: torch.optim.Optimizer,
    *,
    bf16: bool = False,
    body_weight: float = 1.0,
    generator: torch.Generator | None = None,
    on_step: Callable[[int, float], None] | None = None,
) -> list[float]:
    """Train ``model.mtn`` (through ``model.translate``) for ``iters`` steps; returns each step's loss.

    ``model`` may be DDP-wrapped: the MTN runs outside the wrapper and gradients are
    averaged over processes here. ``on_step(step, loss)`` runs after each step (it may raise
    to end early). Raises FloatingPointError on a non-finite loss.
    """
    inner = getattr(model, "module", model)
    params = [p for p in inner.mtn.parameters() if p.requires_grad]
    world = comm.get_world_size()
    device = next(inner.parameters()).device
    was_training = inner.training
    inner.train()
    losses: list[float] = []
    try:
        for step in range(iters):
            index = torch.randint(0, len(samples), (batch_size,), generator=generator)
            inputs, labels, weight = samples.batch(index, device)
            if bf16:
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    out = inner.translate(inputs)
            else:
                out = inner.translate(inputs)
            loss = part_image_loss(out, labels, weight, body_weight)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"MTN pretraining: loss became {float(loss)} at step {step}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if world > 1:
                for p in params:
                    if p.grad is not None:
                        torch.distributed.all_reduce(p.grad)
                        p.grad /= world
            optimizer.step()
            losses.append(float(loss.detach()))
            if on_step is not None:
                on_step(step, losses[-1])
    finally:
        inner.train(was_training)
    return losses


def build_mtn_optimizer(cfg: CfgNode, model: torch.nn.Module) -> torch.optim.Optimizer:
    """AdamW over the MTN's parameters at ``SOLVER.MTN_PRETRAIN.BASE_LR`` (constant), ``WEIGHT_DECAY``, ``BETAS``."""
    inner = getattr(model, "module", model)
    return torch.optim.AdamW(
        [p for p in inner.mtn.parameters() if p.requires_grad],
        lr=float(cfg.SOLVER.MTN_PRETRAIN.BASE_LR),
        betas=tuple(float(b) for b in cfg.SOLVER.BETAS),
        weight_decay=float(cfg.SOLVER.WEIGHT_DECAY),
        fused=True,  # one kernel for all parameters, as the main optimizer
    )


class MTNPretrainHook(HookBase):
    """Runs :func:`pretrain_mtn` in ``before_train`` of a run that starts at iteration 0.

    ``callback`` (plain dicts, as :mod:`app.backend.engine.hooks`) and ``control``
    (:class:`TrainControl`) are optional; by default they are the trainer's (``trainer.callback``,
    ``trainer.control``).
    """

    #: Steps after which metrics go out: each of the first ones, then every METRICS_PERIOD-th.
    FIRST_STEPS = 10

    def __init__(self, cfg: CfgNode, callback: Callable[[dict[str, Any]], None] | None = None, control: Any = None) -> None:
        self.iters = check_pretrain_config(cfg)
        self.cfg = cfg
        self.callback = callback
        self.control = control
        self.losses: list[float] = []

    def _say(self, text: str) -> None:
        logger.info(text)
        if self.callback is not None:
            self.callback({"kind": "log", "text": text})

    def before_train(self) -> None:
        if self.iters <= 0 or int(self.trainer.iter) > 0:
            return
        if self.callback is None:
            self.callback = getattr(self.trainer, "callback", None)
        if self.control is None:
            self.control = getattr(self.trainer, "control", None)
        cfg = self.cfg
        read = PhaseProgress("read", int(cfg.SOLVER.MTN_PRETRAIN.MAX_SAMPLES), self.callback, self.control)
        read.check()
        samples = collect_part_samples(cfg, int(cfg.SOLVER.MTN_PRETRAIN.MAX_SAMPLES), read)
        batch = int(cfg.SOLVER.MTN_PRETRAIN.IMS_PER_BATCH)
        self._say(f"MTN pretraining: {self.iters} steps of {batch} samples from {len(samples)} training samples")
        model = self.trainer.model
        optimizer = build_mtn_optimizer(cfg, model)
        lr = float(cfg.SOLVER.MTN_PRETRAIN.BASE_LR)
        seed = int(cfg.SEED) if int(cfg.SEED) >= 0 else int(torch.randint(0, 2**31, (1,)))
        generator = torch.Generator().manual_seed(seed + 7919 * comm.get_rank())
        log_period = max(1, self.iters // 20)
        metrics_period = max(1, int(cfg.UI.METRICS_PERIOD))
        progress = PhaseProgress("pretrain", self.iters, self.callback, self.control)
        writer = _MetricsLines(cfg.OUTPUT_DIR) if comm.is_main_process() else None
        t0 = last = time.perf_counter()

        def on_step(step: int, loss: float) -> None:
            nonlocal last
            now = time.perf_counter()
            step_time, last = now - last, now
            done = step + 1
            if step < self.FIRST_STEPS or done % metrics_period == 0 or done == self.iters:
                record = {"iteration": step, "max_iter": self.iters, "losses": {"loss_mtn_parts": loss}, "lr": lr, "time": step_time}
                if self.callback is not None:
                    self.callback({"kind": "metrics", "phase": "pretrain", **record})
                if writer is not None:
                    writer.write(step, self.iters, loss, lr, step_time)
            if done % log_period == 0 or done == self.iters:
                spent = now - t0
                eta = spent / done * (self.iters - done)
                self._say(f"MTN pretraining {done}/{self.iters}: loss_mtn_parts {loss:.4f}, {spent:.0f} s, ETA {eta:.0f} s")
            progress.update(done, f"MTN pretraining {done}/{self.iters}: loss_mtn_parts {loss:.4f}")

        try:
            self.losses = pretrain_mtn(
                model,
                samples,
                self.iters,
                batch,
                optimizer,
                bf16=bool(getattr(self.trainer, "cpu_bf16_autocast", False)),
                body_weight=float(cfg.MODEL.MTN.PARTS_BODY_WEIGHT),
                generator=generator,
                on_step=on_step,
            )
        finally:
            if writer is not None:
                writer.close()
        progress.finish(f"MTN pretraining done in {time.perf_counter() - t0:.0f} s")
        self._say(f"MTN pretraining done in {time.perf_counter() - t0:.0f} s")


class _MetricsLines:
    """Appends pretraining lines to ``OUTPUT_DIR/metrics.json`` (one JSON object per line, as
    detectron2's JSONWriter writes; ``pretrain_iteration`` instead of ``iteration``)."""

    def __init__(self, output_dir: str) -> None:
        self._file = None
        if output_dir:
            try:
                os.makedirs(output_dir, exist_ok=True)
                self._file = open(os.path.join(output_dir, "metrics.json"), "a", encoding="utf-8")  # noqa: SIM115 (open for the whole pretraining)
            except OSError as exc:
                logger.warning("cannot write MTN pretraining metrics to %s: %s", output_dir, exc)

    def write(self, step: int, max_iter: int, loss: float, lr: float, step_time: float) -> None:
        if self._file is None:
            return
        line = {"phase": "pretrain", "pretrain_iteration": step, "pretrain_max_iter": max_iter,
                "loss_mtn_parts": loss, "lr": lr, "time": step_time}
        try:
            self._file.write(json.dumps(line) + "\n")
            self._file.flush()
        except OSError as exc:
            logger.warning("cannot write MTN pretraining metrics: %s", exc)
            self.close()

    def close(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None

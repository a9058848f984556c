"""MTN pretraining: the modality translation network alone on the part image, before the detector.

With ``LOSS_WEIGHTS.MTN_PARTS`` on, the MTN learns to paint the people's coarse body parts
(:mod:`app.backend.modeling.mtn_target`) and the detector reads that painting. In a full step
the MTN is a small part of the cost (the synthetic demo on 2 CPU cores: ~0.03 s of ~0.37 s),
yet the detector cannot learn much from the MTN's output until it shows people. So a fresh
run may first train the MTN alone for ``SOLVER.MTN_PRETRAIN.ITERS`` steps of
``SOLVER.MTN_PRETRAIN.IMS_PER_BATCH`` samples: CSI in, part image out, the same loss, no
backbone, RPN or ROI heads.

The samples (model input and coarse label image) are decoded once, through the training
mapper, and held in memory: at most ``MAX_SAMPLES`` spread evenly over ``DATASETS.TRAIN``
and at most :data:`MAX_CACHE_BYTES`. The MTN's own AdamW (``SOLVER.MTN_PRETRAIN.BASE_LR``, constant;
``WEIGHT_DECAY``, ``BETAS``) updates it; the main optimizer starts afterwards as usual. Under
DDP every process draws its own batches and the gradients are averaged. The forward pass
runs under bfloat16 autocast when the main loop does (:class:`CPUAutocastTrainer`).

It runs as the first hook's ``before_train`` (:class:`MTNPretrainHook`) and only when a run
starts at iteration 0: ``--resume`` never repeats it. Progress and ETA go to the log and, as
``{"kind": "log"}`` events, to an optional callback; an optional :class:`TrainControl` can
pause it or stop it (:class:`TrainingStopped` at iteration -1, nothing saved).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import torch
from detectron2.config import CfgNode
from detectron2.data import DatasetCatalog
from detectron2.engine import HookBase
from detectron2.utils import comm

from app.backend.data.mapper import WiFiDensePoseDatasetMapper
from app.backend.engine.hooks import TrainingStopped
from app.backend.errors import ConfigError, DatasetError
from app.backend.modeling.mtn_target import part_image_loss, part_labels
from app.backend.sampling import spread_indices

logger = logging.getLogger(__name__)

#: Memory the sample cache may take (model inputs + label and weight images).
MAX_CACHE_BYTES = 1 << 30


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


class PartSamples:
    """Model inputs (N, ...) float32 with their coarse label images (N, H, W) uint8 and weights (N, H, W) uint8."""

    def __init__(self, csi: torch.Tensor, labels: torch.Tensor, weight: torch.Tensor) -> None:
        if not (len(csi) == len(labels) == len(weight)) or len(csi) == 0:
            raise ValueError("PartSamples needs the same, non-zero number of inputs, label and weight images")
        self.csi, self.labels, self.weight = csi, labels, weight

    def __len__(self) -> int:
        return len(self.csi)

    def batch(self, index: torch.Tensor, device: torch.device) -> tuple[list[dict], torch.Tensor, torch.Tensor]:
        """(batched inputs for ``translate``, labels long (B, H, W), weight float32 (B, 1, H, W)) on ``device``."""
        inputs = [{"csi": c} for c in self.csi[index]]
        labels = self.labels[index].to(device, torch.long)
        weight = self.weight[index].to(device, torch.float32).unsqueeze(1)
        return inputs, labels, weight


def collect_part_samples(
    cfg: CfgNode, max_samples: int, progress: Callable[[str], None] | None = None, max_bytes: int = MAX_CACHE_BYTES
) -> PartSamples:
    """Map up to ``max_samples`` training records (evenly spread, same in every process) into memory.

    Records the mapper rejects (unreadable CSI, ...) are skipped as training skips them.

    Raises:
        DatasetError: no training record could be mapped.
    """
    records = [r for name in cfg.DATASETS.TRAIN for r in DatasetCatalog.get(name)]
    if not records:
        raise DatasetError(f"no training records in {list(cfg.DATASETS.TRAIN)}")
    h, w = (int(v) for v in cfg.MODEL.MTN.OUTPUT_SIZE)
    mapper = WiFiDensePoseDatasetMapper(cfg, is_train=True)
    csi_list: list[torch.Tensor] = []
    labels = weights = None
    limit = max_samples
    picks = spread_indices(len(records), limit).tolist()
    t0 = time.perf_counter()
    k = 0
    while k < len(picks) and len(csi_list) < limit:
        if progress is not None and k and k % 500 == 0:
            progress(f"MTN pretraining: read {k}/{len(picks)} training samples ({time.perf_counter() - t0:.0f} s)")
        idx = picks[k]
        k += 1
        mapped = mapper(records[idx])
        if mapped is None or "instances" not in mapped:
            continue
        if labels is None:  # the first sample fixes the cache's size
            per_sample = mapped["csi"].numel() * 4 + 2 * h * w
            limit = max(1, min(limit, max_bytes // per_sample))
            labels = torch.zeros((limit, h, w), dtype=torch.uint8)
            weights = torch.zeros((limit, h, w), dtype=torch.uint8)
            if limit < len(picks) - k + 1:
                # fewer fit than were picked: spread the rest over the whole remaining dataset
                picks = picks[:k] + spread_indices(len(records), limit - 1, start=idx + 1).tolist()
                logger.info("MTN pretraining keeps %d samples (%.0f MiB cap)", limit, max_bytes / 2**20)
        lab, wt = part_labels([mapped["instances"]], (h, w), torch.device("cpu"))
        labels[len(csi_list)] = lab[0].to(torch.uint8)
        weights[len(csi_list)] = wt[0, 0].to(torch.uint8)
        csi_list.append(mapped["csi"])
    if not csi_list:
        raise DatasetError("MTN pretraining: no training sample could be read")
    n = len(csi_list)
    return PartSamples(torch.stack(csi_list), labels[:n].clone(), weights[:n].clone())


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
    (:class:`TrainControl`) may be set after construction; both are optional.
    """

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
        cfg = self.cfg
        if self.control is not None and self.control.stop_requested:
            raise TrainingStopped(-1, "")
        samples = collect_part_samples(cfg, int(cfg.SOLVER.MTN_PRETRAIN.MAX_SAMPLES), self._say)
        batch = int(cfg.SOLVER.MTN_PRETRAIN.IMS_PER_BATCH)
        self._say(f"MTN pretraining: {self.iters} steps of {batch} samples from {len(samples)} training samples")
        model = self.trainer.model
        optimizer = build_mtn_optimizer(cfg, model)
        seed = int(cfg.SEED) if int(cfg.SEED) >= 0 else int(torch.randint(0, 2**31, (1,)))
        generator = torch.Generator().manual_seed(seed + 7919 * comm.get_rank())
        period = max(1, self.iters // 20)
        t0 = time.perf_counter()

        def on_step(step: int, loss: float) -> None:
            if self.control is not None:
                self.control.wait_while_paused()
                if self.control.stop_requested:
                    raise TrainingStopped(-1, "")
            done = step + 1
            if done % period == 0 or done == self.iters:
                spent = time.perf_counter() - t0
                eta = spent / done * (self.iters - done)
                self._say(f"MTN pretraining {done}/{self.iters}: loss_mtn_parts {loss:.4f}, {spent:.0f} s, ETA {eta:.0f} s")

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
        self._say(f"MTN pretraining done in {time.perf_counter() - t0:.0f} s")

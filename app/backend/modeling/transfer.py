"""Teacher-student transfer: match the student's FPN levels to a frozen image model's.

``Ltr = sum_k MSE(P_k student, resize(P_k teacher))`` over ``MODEL.TRANSFER.IN_FEATURES``
(paper: P2..P5); the teacher map is resized (bilinear) to the student map's size. The
weight ``MODEL.LOSS_WEIGHTS.TRANSFER`` is applied by :class:`CombinedModel` with the
other loss weights.

The teacher is an image-modality model built from ``MODEL.TRANSFER.TEACHER_CONFIG``
and loaded from ``MODEL.TRANSFER.TEACHER_WEIGHTS`` (``.pth`` or detectron2 model-zoo
``.pkl``, read without running code). It is frozen (eval mode, no gradients) and kept
outside the student's module tree: its weights never enter the student's
``state_dict``, ``parameters()`` or optimizer; ``model.to(device)`` still moves it
(``CombinedModel._apply`` forwards to :meth:`FeatureTransfer.apply_`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from detectron2.config import CfgNode
from detectron2.modeling import META_ARCH_REGISTRY
from torch import nn
from torch.nn import functional as F

from app.backend.checkpoint import AtomicCheckpointer, read_checkpoint
from app.backend.config import load_config
from app.backend.errors import CheckpointError, ConfigError

logger = logging.getLogger(__name__)


class FeatureTransfer:
    """Holds the frozen teacher (not an ``nn.Module`` attribute) and computes the transfer loss."""

    def __init__(self, teacher: nn.Module, in_features: Sequence[str]):
        """
        Args:
            teacher: an image-modality model with ``preprocess_image(batched_inputs)`` and
                ``backbone`` (e.g. :class:`CombinedModel` or detectron2's GeneralizedRCNN).
            in_features: FPN level names compared, e.g. ("p2", "p3", "p4", "p5").
        """
        self._teacher = [teacher.eval().requires_grad_(False)]  # a list hides it from nn.Module
        self.in_features = list(in_features)

    @property
    def teacher(self) -> nn.Module:
        return self._teacher[0]

    def apply_(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
        """Apply a tensor conversion (device/dtype) to the teacher, as ``Module._apply`` does."""
        self._teacher[0] = self._teacher[0]._apply(fn)

    @torch.no_grad()
    def teacher_features(self, batched_inputs: list[dict]) -> dict[str, torch.Tensor]:
        """Teacher FPN maps for the paired RGB frames (``"image"`` in every input)."""
        if any("image" not in x for x in batched_inputs):
            raise ValueError("transfer learning needs the paired RGB frame ('image') in every input")
        t = self.teacher
        t.eval()
        images = t.preprocess_image(batched_inputs)
        feats = t.backbone(images.tensor)
        return {k: feats[k] for k in self.in_features}

    def loss(self, student_features: dict[str, torch.Tensor], batched_inputs: list[dict]) -> torch.Tensor:
        """Unweighted ``sum_k MSE(student P_k, teacher P_k resized to the student's size)``."""
        teacher = self.teacher_features(batched_inputs)
        total = student_features[self.in_features[0]].new_zeros(())
        for k in self.in_features:
            s = student_features[k]
            t = teacher[k].to(s.dtype)
            if t.shape[-2:] != s.shape[-2:]:
                t = F.interpolate(t, size=s.shape[-2:], mode="bilinear", align_corners=False)
            total = total + F.mse_loss(s, t)
        return total


def teacher_config(cfg: CfgNode) -> CfgNode:
    """The teacher's config: ``MODEL.TRANSFER.TEACHER_CONFIG`` forced to image modality, no transfer."""
    path = cfg.MODEL.TRANSFER.TEACHER_CONFIG
    if not path:
        raise ConfigError("MODEL.TRANSFER.ENABLED needs MODEL.TRANSFER.TEACHER_CONFIG (an image-modality config)")
    tcfg = load_config(path)
    tcfg.defrost()
    tcfg.INPUT.MODALITY = "image"
    tcfg.MODEL.TRANSFER.ENABLED = False
    tcfg.MODEL.DEVICE = cfg.MODEL.DEVICE
    tcfg.VIS_PERIOD = 0
    tcfg.freeze()
    return tcfg


def load_teacher_weights(model: nn.Module, weights: str) -> None:
    """Load ``weights`` into ``model`` without running code from the file.

    Raises:
        CheckpointError: unreadable file, or a checkpoint that lacks the backbone weights
            (the transfer loss would be meaningless).
    """
    if not weights:
        raise ConfigError("MODEL.TRANSFER.ENABLED needs MODEL.TRANSFER.TEACHER_WEIGHTS (a trained image model)")
    if not Path(weights).is_file():
        raise CheckpointError(f"teacher checkpoint not found: {weights}")
    data = read_checkpoint(weights)
    if not data.get("matching_heuristics", False):
        want = [f"backbone.{k}" for k in model.backbone.state_dict()]
        missing = [k for k in want if k not in data["model"]]
        if missing:
            raise CheckpointError(
                f"teacher checkpoint {weights} lacks {len(missing)} of {len(want)} backbone weights (e.g. {missing[0]})"
            )
    incompatible = AtomicCheckpointer(model).load_model_state(data)
    bad = [k for k in getattr(incompatible, "incorrect_shapes", []) if k[0].startswith("backbone.")]
    if bad:
        raise CheckpointError(
            f"teacher checkpoint {weights}: backbone shapes differ from the teacher config, e.g. {bad[0]}"
        )


def build_transfer(cfg: CfgNode) -> FeatureTransfer:
    """The frozen teacher from ``MODEL.TRANSFER.*`` wrapped in a :class:`FeatureTransfer`."""
    tcfg = teacher_config(cfg)
    teacher = META_ARCH_REGISTRY.get(tcfg.MODEL.META_ARCHITECTURE)(tcfg)
    load_teacher_weights(teacher, cfg.MODEL.TRANSFER.TEACHER_WEIGHTS)
    teacher.to(torch.device(cfg.MODEL.DEVICE))
    logger.info(
        "transfer teacher %s loaded from %s", cfg.MODEL.TRANSFER.TEACHER_CONFIG, cfg.MODEL.TRANSFER.TEACHER_WEIGHTS
    )
    return FeatureTransfer(teacher, cfg.MODEL.TRANSFER.IN_FEATURES)

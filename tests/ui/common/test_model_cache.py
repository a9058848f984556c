"""The UI's model cache: one build per config and weights-file version; retraining into the same file reloads."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch

from app.backend.checkpoint import AtomicCheckpointer
from app.backend.config import builtin_config, load_config
from app.backend.errors import CheckpointError
from app.ui.common.model_cache import ModelCache


def _weight(predictor) -> torch.Tensor:
    return next(p for p in predictor.model.parameters() if p.dim() == 4).detach().clone()


def test_retraining_into_the_same_file_gives_the_new_weights(tmp_path: Path) -> None:
    cfg = load_config(builtin_config("demo_cpu"))
    cache = ModelCache()
    untrained = cache.get(cfg)  # "" = random weights
    assert cache.get(cfg) is untrained  # nothing changed: no rebuild
    checkpointer = AtomicCheckpointer(untrained.model, str(tmp_path))
    checkpointer.save("model_final")
    path = str(tmp_path / "model_final.pth")
    first = cache.get(cfg, path)
    assert first is not untrained and cache.get(cfg, path) is first
    torch.testing.assert_close(_weight(first), _weight(untrained))

    with torch.no_grad():  # "train" on: every weight moves, then the run saves into the same file
        for p in untrained.model.parameters():
            p.add_(1.0)
    time.sleep(0.05)  # a later save: file-system clocks tick every few ms
    checkpointer.save("model_final")
    second = cache.get(cfg, path)
    assert second is not first
    torch.testing.assert_close(_weight(second), _weight(first) + 1.0)

    other = cfg.clone()
    other.defrost()
    other.TEST.DETECTIONS_PER_IMAGE = 7
    assert cache.get(other, path) is not second  # another config, another model

    with pytest.raises(CheckpointError):
        cache.get(cfg, str(tmp_path / "missing.pth"))
    third = cache.get(cfg, path)  # a failed build leaves nothing stale behind
    assert third is not None and third is not second
    torch.testing.assert_close(_weight(third), _weight(second))

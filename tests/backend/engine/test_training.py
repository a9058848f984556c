"""Training through run_training: callbacks, stop/resume with the same LR schedule, pause, NaN."""

from __future__ import annotations

import math
import os
import threading

import numpy as np
import pytest
import torch
from detectron2.engine import HookBase

from app.backend.checkpoint import load_checkpoint_file
from app.backend.config import builtin_config, load_config
from app.backend.engine import TrainControl, run_training
from app.backend.structures import FramePrediction
from tests.tiny_config import tiny_opts

MAX_ITER = 6


class _LrLog(HookBase):
    def __init__(self) -> None:
        self.lr: dict[int, float] = {}

    def after_step(self) -> None:
        self.lr[self.trainer.iter] = self.trainer.storage.latest()["lr"][0]


@pytest.fixture(scope="module")
def reference_run(demo_dataset_dir, tmp_path_factory):
    """One uninterrupted run with every UI hook: (cfg, result, events, lr per iteration)."""
    out = tmp_path_factory.mktemp("reference")
    opts = tiny_opts(demo_dataset_dir, out, MAX_ITER, UI__METRICS_PERIOD=1, UI__PREVIEW_PERIOD=3, UI__PREVIEW_SAMPLES=2)
    cfg = load_config(builtin_config("demo_cpu"), opts)
    events: list[dict] = []
    lr = _LrLog()
    result = run_training(cfg, callback=events.append, extra_hooks=[lr])
    return cfg, result, events, lr.lr


def test_uninterrupted_run_reports_metrics_previews_and_every_metric(reference_run) -> None:
    cfg, result, events, _ = reference_run
    assert result["status"] == "finished" and result["iteration"] == MAX_ITER - 1
    assert result["last_checkpoint"].endswith("model_final.pth")

    metrics = [e for e in events if e["kind"] == "metrics"]
    assert [e["iteration"] for e in metrics] == list(range(MAX_ITER))
    last = metrics[-1]
    assert last["max_iter"] == MAX_ITER and math.isfinite(last["total_loss"])
    losses = {k for k in last if k.startswith("loss_")}
    assert {"loss_cls", "loss_box_reg", "loss_keypoint"} <= losses and any("densepose" in k for k in losses)
    assert all(type(v) in (int, float, str) for e in metrics for v in e.values())  # plain values only
    assert last["it_per_s"] > 0 and last["eta_seconds"] == 0

    previews = [e for e in events if e["kind"] == "preview"]
    assert [e["iteration"] for e in previews] == [2, 5]
    for img, pred in zip(previews[0]["images"], previews[0]["predictions"]):
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
        assert isinstance(pred, FramePrediction)

    evals = [e for e in events if e["kind"] == "eval"]
    assert len(evals) == 1 and evals[0]["results"] == result["results"]
    keys = set(result["results"])
    assert {"bbox/AP50", "keypoints/AP50"} <= keys
    assert any(k.startswith("densepose/") and "part_acc" in k for k in keys), keys
    saved = load_checkpoint_file(result["last_checkpoint"])
    assert float(saved["model"]["csi_std"][0]) > 0  # CSI stats computed and in the model
    with open(os.path.join(cfg.OUTPUT_DIR, "config.yaml")) as f:
        assert "AMP_STD: 0.0" not in f.read()


def test_stop_then_resume_continues_with_the_same_lr_schedule(tiny_cfg, reference_run) -> None:
    reference = reference_run[3]
    assert sorted(reference) == list(range(MAX_ITER))

    cfg = tiny_cfg("stopped", max_iter=MAX_ITER, DATASETS__TEST=(), UI__METRICS_PERIOD=1)
    control = TrainControl()
    events: list[dict] = []

    def callback(event: dict) -> None:
        events.append(event)
        if event["kind"] == "metrics" and event["iteration"] == 0:
            control.pause()
            threading.Timer(0.3, control.resume).start()
        if event["kind"] == "metrics" and event["iteration"] == 2:
            control.stop()

    first = _LrLog()
    stopped = run_training(cfg, callback=callback, control=control, extra_hooks=[first])
    assert stopped["status"] == "stopped" and stopped["iteration"] == 2
    assert stopped["last_checkpoint"].endswith("model_0000002.pth")
    states = [e["state"] for e in events if e["kind"] == "state"]
    assert states == ["paused", "running", "stopping"]
    assert os.path.getsize(os.path.join(cfg.OUTPUT_DIR, "metrics.json")) > 0  # writers flushed

    second = _LrLog()
    resumed = run_training(cfg, resume=True, extra_hooks=[second])
    assert resumed["status"] == "finished"
    assert sorted(first.lr) == list(range(3)) and sorted(second.lr) == list(range(3, MAX_ITER))
    assert {**first.lr, **second.lr} == reference


class _InjectNaN(HookBase):
    """Test-only fault: poison one weight before iteration ``at``."""

    def __init__(self, at: int) -> None:
        self.at = at

    def before_step(self) -> None:
        if self.trainer.iter == self.at:
            model = self.trainer.model
            with torch.no_grad():
                next(p for p in model.parameters() if p.requires_grad).fill_(float("nan"))


def test_non_finite_loss_stops_with_message_and_keeps_last_good_checkpoint(tiny_cfg) -> None:
    cfg = tiny_cfg("nan", max_iter=MAX_ITER, DATASETS__TEST=(), SOLVER__CHECKPOINT_PERIOD=2)
    result = run_training(cfg, extra_hooks=[_InjectNaN(at=2)])
    assert result["status"] == "diverged"
    assert "non-finite at iteration 2" in result["message"]
    assert result["last_checkpoint"].endswith("model_0000001.pth")
    state = load_checkpoint_file(result["last_checkpoint"])["model"]
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())
    assert not os.path.exists(os.path.join(cfg.OUTPUT_DIR, "model_final.pth"))


def test_short_demo_run_loss_falls(tiny_cfg) -> None:
    events: list[dict] = []
    cfg = tiny_cfg("short", max_iter=16, DATASETS__TEST=(), UI__METRICS_PERIOD=1, SOLVER__CHECKPOINT_PERIOD=100)
    assert run_training(cfg, callback=events.append)["status"] == "finished"
    total = [e["total_loss"] for e in events if e["kind"] == "metrics"]
    assert len(total) == 16
    assert np.median(total[-6:]) < 0.8 * np.mean(total[:3]), total

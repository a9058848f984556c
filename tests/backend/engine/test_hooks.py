"""Each engine hook alone, detectron2 style: a ten-line model in detectron2's SimpleTrainer.

The full-model runs of test_training.py / test_mtn_pretrain.py show the hooks working together;
these pin each hook's own contract: when it fires, what it hands out, how it stops the loop.
"""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from detectron2.engine import HookBase, SimpleTrainer, hooks
from detectron2.structures import Boxes, Instances
from torch import nn

from app.backend.checkpoint import AtomicCheckpointer
from app.backend.data import register_datasets
from app.backend.engine.hooks import (
    ControlHook,
    EvalResultsHook,
    MetricsHook,
    PreviewHook,
    TrainControl,
    TrainingStopped,
)
from app.backend.engine.mtn_pretrain import MTNPretrainHook
from app.backend.structures import FramePrediction
from app.backend.vis import OverlayOptions
from tests.tiny_config import tiny_config

BOX = [20.0, 30.0, 120.0, 200.0]  # what the tiny detector always finds, XYXY_ABS


class TenLineModel(nn.Module):
    """Training: two quadratic losses. Eval: one person at BOX. ``translate``: a linear MTN."""

    def __init__(self, mtn_in: int = 1, mtn_hw: tuple[int, int] = (1, 1)) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor([2.0]))
        self.mtn, self.mtn_hw = nn.Linear(mtn_in, 3 * mtn_hw[0] * mtn_hw[1]), mtn_hw

    def forward(self, batched: list[dict]):
        if self.training:
            return {"loss_w": ((self.w - 3.0) ** 2).sum(), "loss_half": ((self.w - 3.0) ** 2).sum() / 2}
        return [{"instances": Instances((x["height"], x["width"]), pred_boxes=Boxes(torch.tensor([BOX])),
                                        scores=self.w.detach().clamp(0, 1))} for x in batched]  # fmt: skip

    def translate(self, inputs: list[dict]) -> torch.Tensor:
        x = torch.stack([i["csi"].flatten() for i in inputs])
        return self.mtn(nn.functional.layer_norm(x, x.shape[1:])).view(len(inputs), 3, *self.mtn_hw)


def _trainer(model: nn.Module | None = None) -> SimpleTrainer:
    model = model or TenLineModel()
    return SimpleTrainer(model, itertools.repeat([{}]), torch.optim.SGD(model.parameters(), lr=0.1))


class _BeforeTrain(HookBase):
    def __init__(self, fn) -> None:
        self.fn = fn

    def before_train(self) -> None:
        self.fn(self.trainer)


class _At(HookBase):
    """Calls ``fn(trainer)`` after step ``it``."""

    def __init__(self, it: int, fn) -> None:
        self.it, self.fn = it, fn

    def after_step(self) -> None:
        if self.trainer.iter == self.it:
            self.fn(self.trainer)


def test_metrics_hook_reports_plain_values_every_period_and_at_the_end() -> None:
    events: list[dict] = []
    trainer = _trainer()
    trainer.register_hooks([hooks.IterationTimer(warmup_iter=0), MetricsHook(events.append, period=2)])
    trainer.train(0, 5)
    progress = [e for e in events if e["kind"] == "progress"]
    events = [e for e in events if e["kind"] != "progress"]
    assert [e["iteration"] for e in events] == [1, 3, 4]
    # the "train" phase: rate-limited progress, and once done == total at the end
    assert progress[-1] == {"kind": "progress", "phase": "train", "done": 5, "total": 5, "text": "iteration 5/5"}
    assert [p["done"] == p["total"] for p in progress].count(True) == 1
    last = events[-1]
    assert last["kind"] == "metrics" and last["max_iter"] == 5 and last["eta_seconds"] == 0
    assert last["total_loss"] == pytest.approx(1.5 * last["loss_w"]) and last["loss_half"] == pytest.approx(last["loss_w"] / 2)
    assert last["it_per_s"] > 0 and last["time"] > 0
    assert events[0]["loss_w"] > last["loss_w"]  # the SGD steps reached the numbers handed out
    assert all(type(v) in (int, float, str) for e in events for v in e.values())


def test_control_hook_pauses_resumes_and_stops_with_a_checkpoint(tmp_path: Path) -> None:
    control, events = TrainControl(), []
    trainer = _trainer()
    trainer.checkpointer = AtomicCheckpointer(trainer.model, str(tmp_path))

    def pause_then_resume(_trainer) -> None:
        control.pause()
        threading.Timer(0.2, control.resume).start()

    trainer.register_hooks([_At(0, pause_then_resume), _At(2, lambda t: control.stop()), ControlHook(control, events.append)])
    with pytest.raises(TrainingStopped) as stop:
        trainer.train(0, 10)
    assert stop.value.iteration == 2 and stop.value.checkpoint == str(tmp_path / "model_0000002.pth")
    assert [e.get("state") for e in events if e["kind"] == "state"] == ["paused", "running", "stopping"]
    assert events[-1] == {"kind": "log", "text": f"stopped after iteration 3; saved {tmp_path / 'model_0000002.pth'}"}
    saved = torch.load(tmp_path / "model_0000002.pth", weights_only=True)
    assert saved["iteration"] == 2 and torch.equal(saved["model"]["w"], trainer.model.w.detach())


def test_control_hook_stops_before_the_first_step_without_a_checkpointer() -> None:
    control = TrainControl()
    control.stop()
    trainer = _trainer()
    steps = []
    trainer.register_hooks([_At(0, steps.append), ControlHook(control)])
    with pytest.raises(TrainingStopped) as stop:
        trainer.train(0, 10)
    assert (stop.value.iteration, stop.value.checkpoint) == (-1, "") and steps == []


def test_eval_results_hook_forwards_each_new_result_once() -> None:
    events: list[dict] = []

    def evaluate(trainer) -> None:  # what detectron2's EvalHook leaves on the trainer
        trainer._last_eval_results = {"bbox": {"AP": 50.0, "AP50": 75}, "note": "not a number"}

    trainer = _trainer()
    trainer.register_hooks([_At(1, evaluate), EvalResultsHook(events.append)])
    trainer.train(0, 4)
    assert events == [{"kind": "eval", "iteration": 1, "results": {"bbox/AP": 50.0, "bbox/AP50": 75.0}}]


def test_preview_hook_draws_the_models_people_on_the_samples(demo_dataset_dir: Path, tmp_path: Path) -> None:
    cfg = tiny_config(demo_dataset_dir, tmp_path, INPUT__MODALITY="image", MODEL__DENSEPOSE_ON=False,
                      MODEL__KEYPOINT_ON=False, MODEL__TRANSFER__ENABLED=False)  # fmt: skip
    register_datasets(cfg)
    from detectron2.data import DatasetCatalog

    samples = DatasetCatalog.get(cfg.DATASETS.TEST[0])[:2]
    events: list[dict] = []
    trainer = _trainer()
    trainer.cfg = cfg
    modes = []
    trainer.register_hooks([PreviewHook(events.append, 3, samples, OverlayOptions(score_threshold=0.0)),
                            _At(2, lambda t: modes.append(t.model.training))])  # fmt: skip
    trainer.train(0, 7)
    assert [e["iteration"] for e in events] == [2, 5] and modes == [True]
    import cv2

    for image, pred, record in zip(events[0]["images"], events[0]["predictions"], samples):
        frame = cv2.imread(record["file_name"], cv2.IMREAD_COLOR)
        assert isinstance(pred, FramePrediction) and pred.boxes.tolist() == [BOX]
        assert image.shape == frame.shape and image.dtype == np.uint8
        changed = np.any(image != frame, axis=2)
        x0, y0, x1, y1 = (round(v) for v in BOX)
        assert changed[y0 + 5 : y1 - 5, x0].mean() > 0.9  # the box's left edge is drawn on the RGB frame
        assert not changed[y1 + 10 :, :].any() and not changed[:, x1 + 10 :].any()  # nothing away from the person


def test_mtn_pretrain_hook_trains_only_the_mtn_before_the_first_step(demo_dataset_dir: Path, tmp_path: Path) -> None:
    cfg = tiny_config(demo_dataset_dir, tmp_path, MODEL__MTN__OUTPUT_SIZE=[8, 8], SOLVER__MTN_PRETRAIN__ITERS=30,
                      SOLVER__MTN_PRETRAIN__IMS_PER_BATCH=4, SOLVER__MTN_PRETRAIN__MAX_SAMPLES=6,
                      SOLVER__MTN_PRETRAIN__BASE_LR=1e-4)  # fmt: skip
    register_datasets(cfg)
    from detectron2.data import DatasetCatalog

    from app.backend.data.csi import csi_model_input

    csi_size = csi_model_input(DatasetCatalog.get(cfg.DATASETS.TRAIN[0])[0]["csi_file"], cfg).size
    model = TenLineModel(csi_size, (8, 8))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    said: list[dict] = []
    hook = MTNPretrainHook(cfg, callback=said.append)
    at_start = []  # (w unchanged, MTN changed) when the loop is about to start
    trainer = _trainer(model)
    trainer.register_hooks([hook, _BeforeTrain(lambda t: at_start.append(
        (torch.equal(t.model.w, before["w"]), not torch.equal(t.model.mtn.weight, before["mtn.weight"]))))])  # fmt: skip
    trainer.train(0, 1)
    assert len(hook.losses) == 30 and hook.losses[-1] < 0.8 * hook.losses[0]
    assert at_start == [(True, True)]  # pretraining ran first and touched the MTN only
    logs = [e["text"] for e in said if e["kind"] == "log"]
    assert logs[0].startswith("MTN pretraining: 30 steps of 4 samples from 6 training samples")
    # progress: reading the samples, then the steps, each phase ending once with done == total
    progress = [e for e in said if e["kind"] == "progress"]
    assert [(p["phase"], p["done"], p["total"]) for p in progress if p["done"] == p["total"]] == [("read", 6, 6), ("pretrain", 30, 30)]
    assert [p["phase"] for p in progress] == sorted((p["phase"] for p in progress), key=["read", "pretrain"].index)
    # the loss from the first step on: each of the first 10 steps, then every UI.METRICS_PERIOD-th, and the last
    metrics = [e for e in said if e["kind"] == "metrics"]
    period = cfg.UI.METRICS_PERIOD
    assert [m["iteration"] for m in metrics] == [k for k in range(30) if k < 10 or (k + 1) % period == 0 or k == 29]
    assert all(m["phase"] == "pretrain" and m["max_iter"] == 30 and set(m["losses"]) == {"loss_mtn_parts"} for m in metrics)
    assert [m["losses"]["loss_mtn_parts"] for m in metrics] == [hook.losses[m["iteration"]] for m in metrics]
    assert metrics[0]["lr"] == pytest.approx(1e-4) and metrics[0]["time"] > 0
    # ... and in metrics.json, as lines that do not look like the main loop's (no "iteration")
    import json

    lines = [json.loads(line) for line in (tmp_path / "metrics.json").read_text().splitlines()]
    assert [r["pretrain_iteration"] for r in lines] == [m["iteration"] for m in metrics]
    assert all(r["phase"] == "pretrain" and "iteration" not in r and r["pretrain_max_iter"] == 30 for r in lines)
    assert [r["loss_mtn_parts"] for r in lines] == [m["losses"]["loss_mtn_parts"] for m in metrics]

    resumed = MTNPretrainHook(cfg)
    trainer = _trainer(TenLineModel(csi_size, (8, 8)))
    trainer.register_hooks([resumed])
    trainer.train(5, 6)  # a resumed run starts after iteration 0: no pretraining
    assert resumed.losses == []

    control = TrainControl()
    control.stop()
    stopped = MTNPretrainHook(cfg, control=control)
    trainer = _trainer(TenLineModel(csi_size, (8, 8)))
    trainer.register_hooks([stopped])
    with pytest.raises(TrainingStopped) as stop:
        trainer.train(0, 1)
    assert (stop.value.iteration, stop.value.phase) == (-1, "read") and stopped.losses == []

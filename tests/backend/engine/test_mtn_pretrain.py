"""MTN pretraining on real demo samples: config checks, the sample cache, learning, the hook in a run."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from detectron2.data import DatasetCatalog

from app.backend.checkpoint import load_checkpoint_file
from app.backend.config import ConfigError
from app.backend.data import register_datasets
from app.backend.data.mapper import WiFiDensePoseDatasetMapper
from app.backend.engine import TrainControl, disk_cache, run_training, sample_cache
from app.backend.engine.hooks import PhaseProgress
from app.backend.engine.mtn_pretrain import build_mtn_optimizer, check_pretrain_config, pretrain_mtn
from app.backend.engine.sample_cache import collect_part_samples
from app.backend.engine.trainer import Trainer
from app.backend.modeling.mtn_target import part_labels, part_target_loss


def test_config_is_checked(tiny_cfg) -> None:
    assert check_pretrain_config(tiny_cfg()) == 0
    assert check_pretrain_config(tiny_cfg(SOLVER__MTN_PRETRAIN__ITERS=5)) == 5
    with pytest.raises(ConfigError, match=">= 0"):
        check_pretrain_config(tiny_cfg(SOLVER__MTN_PRETRAIN__ITERS=-1))
    with pytest.raises(ConfigError, match="MTN_PARTS"):
        check_pretrain_config(tiny_cfg(SOLVER__MTN_PRETRAIN__ITERS=5, MODEL__LOSS_WEIGHTS__MTN_PARTS=0.0))
    assert check_pretrain_config(tiny_cfg(SOLVER__MTN_PRETRAIN__ITERS=5, INPUT__MODALITY="image")) == 0  # no MTN
    with pytest.raises(ConfigError, match="IMS_PER_BATCH"):
        check_pretrain_config(tiny_cfg(SOLVER__MTN_PRETRAIN__ITERS=5, SOLVER__MTN_PRETRAIN__IMS_PER_BATCH=0))


def test_samples_are_the_mapped_training_records(tiny_cfg) -> None:
    cfg = tiny_cfg()
    register_datasets(cfg)
    records = DatasetCatalog.get(cfg.DATASETS.TRAIN[0])
    samples = collect_part_samples(cfg, max_samples=5)
    assert len(samples) == 5
    h, w = cfg.MODEL.MTN.OUTPUT_SIZE
    assert samples.labels.shape == (5, h, w) and samples.labels.dtype == np.uint8
    assert samples.weight.shape == (5, h, w)
    # evenly spread: the last sample is the last record
    mapper = WiFiDensePoseDatasetMapper(cfg, is_train=True)
    last = mapper(records[-1])
    labels, weight = part_labels([last["instances"]], (h, w), torch.device("cpu"))
    assert np.array_equal(samples.csi[-1], last["csi"].numpy())
    assert np.array_equal(samples.labels[-1], labels[0].numpy()) and np.array_equal(samples.weight[-1], weight[0, 0].numpy())
    assert int(samples.labels[-1].max()) > 0  # people painted
    inputs, batch_labels, batch_weight = samples.batch(torch.tensor([4, 4, 0]), torch.device("cpu"))
    assert torch.equal(inputs[0]["csi"], last["csi"]) and batch_labels.dtype == torch.long and batch_weight.shape == (3, 1, h, w)
    # the memory cap limits the count, and what fits still spans the dataset (first to last record)
    per_sample = last["csi"].numel() * 4 + 2 * h * w
    capped = collect_part_samples(cfg, max_samples=5, max_bytes=3 * per_sample)
    assert len(capped) == 3
    assert np.array_equal(capped.csi[0], mapper(records[0])["csi"].numpy()) and np.array_equal(capped.csi[-1], last["csi"].numpy())


def test_samples_are_read_once_then_memory_mapped_from_the_cache(tiny_cfg, monkeypatch) -> None:
    cfg = tiny_cfg()
    register_datasets(cfg)
    events: list[dict] = []
    first = collect_part_samples(cfg, max_samples=8, progress=PhaseProgress("read", 0, events.append))
    assert [(e["done"], e["total"]) for e in events if e["done"] == e["total"]] == [(8, 8)]
    folders = list(disk_cache.cache_root().glob("mtn-samples-*"))
    assert len(folders) == 1

    mapped: list[int] = []
    real_map = sample_cache._map
    monkeypatch.setattr(sample_cache, "_map", lambda *a, **k: mapped.append(1) or real_map(*a, **k))
    events.clear()
    again = collect_part_samples(cfg, max_samples=8, progress=PhaseProgress("read", 0, events.append))
    assert not mapped and isinstance(again.csi, np.memmap)  # nothing read: the arrays are mapped from disk
    assert events == [{"kind": "progress", "phase": "read", "done": 8, "total": 8, "text": "8 training samples from the cache"}]
    for name in ("csi", "labels", "weight"):
        assert np.array_equal(getattr(first, name), getattr(again, name))
    # other picks, another key; a changed CSI file (the demo made again), another key
    collect_part_samples(cfg, max_samples=6)
    assert len(mapped) == 1
    csi_file = DatasetCatalog.get(cfg.DATASETS.TRAIN[0])[0]["csi_file"]
    os.utime(csi_file, ns=(os.stat(csi_file).st_atime_ns, os.stat(csi_file).st_mtime_ns + 10**9))
    collect_part_samples(cfg, max_samples=8)
    assert len(mapped) == 2
    assert len(list(disk_cache.cache_root().glob("mtn-samples-*"))) == disk_cache.KEEP_PER_KIND  # the oldest went


def test_an_unwritable_cache_only_costs_the_reading(tiny_cfg, make_read_only, caplog) -> None:
    cfg = tiny_cfg()
    register_datasets(cfg)
    root = disk_cache.cache_root()
    root.mkdir(parents=True)
    make_read_only(root)
    samples = collect_part_samples(cfg, max_samples=4)
    assert len(samples) == 4 and not isinstance(samples.csi, np.memmap)
    assert "could not keep mtn-samples in the cache" in caplog.text


def test_a_damaged_cache_is_read_again(tiny_cfg) -> None:
    cfg = tiny_cfg()
    register_datasets(cfg)
    first = collect_part_samples(cfg, max_samples=4)
    (folder,) = disk_cache.cache_root().glob("mtn-samples-*")
    (folder / "labels.npy").write_bytes(b"not an array")
    again = collect_part_samples(cfg, max_samples=4)
    assert np.array_equal(first.labels, again.labels)


def test_pretraining_lowers_the_part_loss_and_touches_only_the_mtn(tiny_cfg) -> None:
    cfg = tiny_cfg(SOLVER__MTN_PRETRAIN__ITERS=1)
    register_datasets(cfg)
    torch.manual_seed(0)
    trainer = Trainer(cfg)
    model = trainer.model
    samples = collect_part_samples(cfg, max_samples=24)
    before = {k: v.clone() for k, v in model.state_dict().items()}

    def loss_on_all() -> float:
        mapper = WiFiDensePoseDatasetMapper(cfg, is_train=True)
        records = DatasetCatalog.get(cfg.DATASETS.TRAIN[0])[:8]
        with torch.no_grad():
            inputs = [mapper(r) for r in records]
            return float(part_target_loss(model.translate(inputs), [x["instances"] for x in inputs]))

    start = loss_on_all()
    losses = pretrain_mtn(model, samples, 60, 8, build_mtn_optimizer(cfg, model), generator=torch.Generator().manual_seed(0))
    assert len(losses) == 60 and all(np.isfinite(losses))
    assert np.mean(losses[-10:]) < 0.8 * np.mean(losses[:10]), losses
    assert loss_on_all() < start
    after = model.state_dict()
    changed = {k for k in before if before[k].is_floating_point() and not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith("mtn.") for k in changed), sorted(changed)[:5]
    assert model.training


def test_a_run_pretrains_once_and_resume_skips_it(tiny_cfg) -> None:
    cfg = tiny_cfg("run", max_iter=4, DATASETS__TEST=(), SOLVER__MTN_PRETRAIN__ITERS=10,
                   SOLVER__MTN_PRETRAIN__IMS_PER_BATCH=4, SOLVER__MTN_PRETRAIN__MAX_SAMPLES=12)  # fmt: skip
    events: list[dict] = []
    result = run_training(cfg, callback=events.append)
    assert result["status"] == "finished"
    logs = [e["text"] for e in events if e["kind"] == "log"]
    assert any("10 steps of 4 samples from 12 training samples" in t for t in logs), logs
    assert any(t.startswith("MTN pretraining 10/10: loss_mtn_parts") and "ETA 0 s" in t for t in logs), logs

    longer = tiny_cfg("run", max_iter=6, DATASETS__TEST=(), SOLVER__MTN_PRETRAIN__ITERS=10)
    events.clear()
    resumed = run_training(longer, resume=True, callback=events.append)
    assert resumed["status"] == "finished" and resumed["iteration"] == 5
    assert not [e for e in events if e["kind"] == "log" and "MTN pretraining" in e["text"]]


def test_stop_during_pretraining_saves_nothing(tiny_cfg) -> None:
    cfg = tiny_cfg("stop", max_iter=4, DATASETS__TEST=(), SOLVER__MTN_PRETRAIN__ITERS=1000,
                   SOLVER__MTN_PRETRAIN__IMS_PER_BATCH=2, SOLVER__MTN_PRETRAIN__MAX_SAMPLES=6)  # fmt: skip
    control = TrainControl()
    steps: list[str] = []

    def callback(event: dict) -> None:
        if event["kind"] == "log" and event["text"].startswith("MTN pretraining 50/"):
            steps.append(event["text"])
            control.stop()

    result = run_training(cfg, callback=callback, control=control)
    assert steps and result["status"] == "stopped"
    assert result["message"] == "stopped during MTN pretraining; nothing was saved (training had not started)"
    assert result["last_checkpoint"] == "" and not result["resumable"] and result["phase"] == "pretrain"
    assert not [f for f in os.listdir(cfg.OUTPUT_DIR) if f.endswith(".pth")]


def test_pretrained_weights_reach_the_first_checkpoint(tiny_cfg) -> None:
    plain = run_training(tiny_cfg("plain", max_iter=1, DATASETS__TEST=(), SOLVER__BASE_LR=0.0))
    warmed = run_training(tiny_cfg("warm", max_iter=1, DATASETS__TEST=(), SOLVER__BASE_LR=0.0,
                                   SOLVER__MTN_PRETRAIN__ITERS=5, SOLVER__MTN_PRETRAIN__IMS_PER_BATCH=2))  # fmt: skip
    a = load_checkpoint_file(plain["last_checkpoint"])["model"]
    b = load_checkpoint_file(warmed["last_checkpoint"])["model"]
    assert torch.equal(a["backbone.bottom_up.stem.conv1.weight"], b["backbone.bottom_up.stem.conv1.weight"])
    assert not all(torch.equal(a[k], b[k]) for k in a if k.startswith("mtn."))

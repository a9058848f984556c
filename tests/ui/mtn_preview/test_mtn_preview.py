"""MTN preview on the real Intel 5300 capture, an MM-Fi frame and a demo sample, with a tiny real model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.ui.mtn_preview.mtn_preview_view import MtnPreviewView
from tests.tiny_config import tiny_opts


@pytest.fixture(scope="module")
def tiny_cfg():
    from app.backend.config import builtin_config, load_config

    return load_config(builtin_config("demo_cpu"), tiny_opts())


@pytest.fixture
def view(qtbot):
    v = MtnPreviewView()
    qtbot.addWidget(v)
    v.resize(1200, 800)
    v.show()
    yield v
    v.shutdown()


def test_intel5300_heatmaps_mtn_and_scrubbing(qtbot, view: MtnPreviewView, intel_dat: Path, tiny_cfg) -> None:
    view.set_model(tiny_cfg)
    with qtbot.waitSignal(view.mtnUpdated, timeout=120000) as first:
        view.open_file(intel_dat)
    assert first.args == [0]
    rec = view.payload["recording"]
    p, s, r, t = rec.amplitude.shape
    assert view.amplitude.data.shape == (r * t * s, p) == (270, 540)
    assert view.phase.data.shape == view.sanitized.data.shape == (270, 540)
    assert np.isfinite(view.sanitized.data).all()
    assert view.slider.maximum() + 1 == 540 // 5
    assert view.window_label.text() == "window 1/108 (packets 0..4)"
    for ch in view.channels:
        assert ch.data.shape == (64, 64)
    assert view.composite.data.shape == (64, 64, 3) and view.composite.data.dtype == np.uint8
    assert view.frame.data is None  # a bare .dat file has no paired frame
    first_out = view.mtn["channels"].copy()
    with qtbot.waitSignal(view.mtnUpdated, timeout=60000) as moved:
        view.slider.setValue(50)
    assert moved.args == [250]
    assert view.amplitude.region.getRegion() == (250, 255)
    assert not np.allclose(view.mtn["channels"], first_out)  # a different window gives a different image


def test_retraining_into_the_same_checkpoint_file_updates_the_preview(
    qtbot, view: MtnPreviewView, intel_dat: Path, tiny_cfg, tmp_path: Path
) -> None:
    import time

    import torch

    from app.backend.checkpoint import AtomicCheckpointer
    from app.backend.engine.predictor import Predictor

    model = Predictor(tiny_cfg).model
    checkpointer = AtomicCheckpointer(model, str(tmp_path))
    checkpointer.save("model_final")
    weights = tmp_path / "model_final.pth"
    view.set_model(tiny_cfg, weights)
    with qtbot.waitSignal(view.mtnUpdated, timeout=120000):
        view.open_file(intel_dat)
    before = view.mtn["channels"].copy()
    with torch.no_grad():  # a new run trains on and saves into the same file
        for p in model.parameters():
            p.add_(0.5)
    time.sleep(0.05)  # a later save: file-system clocks tick every few ms
    checkpointer.save("model_final")
    with qtbot.waitSignal(view.mtnUpdated, timeout=120000):
        view.set_model(tiny_cfg, weights)  # what reopening the project does: same config, same path
    assert not np.allclose(view.mtn["channels"], before)  # the new weights, not the model in memory


def test_scrubbing_faster_than_the_model_runs_the_latest_window_next(qtbot, view: MtnPreviewView, intel_dat: Path,
                                                                     tiny_cfg) -> None:
    view.set_model(tiny_cfg)
    with qtbot.waitSignal(view.mtnUpdated, timeout=120000):
        view.open_file(intel_dat)
    qtbot.waitUntil(lambda: not view.mtn_job.is_running(), timeout=10_000)  # its finished comes after the result
    shown: list[int] = []
    view.mtnUpdated.connect(shown.append)
    for value in (10, 20, 30):  # the first move starts a pass; the next two come before it can finish
        view.slider.setValue(value)
    qtbot.waitUntil(lambda: shown[-1:] == [150] and not view.mtn_job.is_running(), timeout=120000)
    assert shown == [50, 150]  # window 20 was overtaken while it waited; the last one asked for ran


def test_mmfi_frame(qtbot, view: MtnPreviewView, mmfi_frames: list[Path], tiny_cfg) -> None:
    view.set_model(tiny_cfg)
    with qtbot.waitSignal(view.mtnUpdated, timeout=120000):
        view.open_file(mmfi_frames[0])
    rec = view.payload["recording"]
    assert rec.amplitude.shape[:2] == (10, 114)  # MM-Fi: 10 packets x 114 subcarriers per frame
    assert view.amplitude.data.shape == (3 * rec.amplitude.shape[3] * 114, 10)
    assert view.slider.maximum() + 1 == 2
    assert view.composite.data.shape == (64, 64, 3)


def test_demo_sample_with_paired_frame_without_model(qtbot, view: MtnPreviewView, demo_dataset_dir: Path) -> None:
    csi = demo_dataset_dir / "csi" / "train" / "000000.npz"
    frame = demo_dataset_dir / "images" / "train" / "000000.jpg"
    with qtbot.waitSignal(view.loaded, timeout=60000):
        view.open_sample(csi, frame)
    assert view.frame.data.shape == (240, 320, 3)
    assert view.composite.data is None  # no model configured: the panel says so


def test_unreadable_file_reports_error(qtbot, view: MtnPreviewView, tmp_path: Path) -> None:
    bad = tmp_path / "bad.dat"
    bad.write_bytes(b"\x00\x01garbage" * 10)
    with qtbot.waitSignal(view.failed, timeout=30000) as err:
        view.open_file(bad)
    assert "bad.dat" in err.args[0]

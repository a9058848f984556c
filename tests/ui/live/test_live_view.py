"""Live view: a real tiny checkpoint predicts a replayed and a followed capture off the UI thread."""

from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.backend.config import load_config
from app.backend.data.csi.framing import walk_records
from app.ui.shell.project import Project


@pytest.fixture
def checkpoint(demo_project: Project) -> str:
    """A checkpoint saved from a freshly built model of the project's config."""
    from detectron2.checkpoint import DetectionCheckpointer

    from app.backend.modeling import build_model

    model = build_model(load_config(demo_project.config_path))
    out = demo_project.output_path
    out.mkdir(parents=True, exist_ok=True)
    DetectionCheckpointer(model, save_dir=str(out)).save("model_live")
    return str(out / "model_live.pth")


@pytest.fixture
def view(qtbot, qapp_settings, demo_project: Project, checkpoint: str):
    from app.ui.live.live_view import LiveView

    cfg = load_config(demo_project.config_path, ["MODEL.ROI_HEADS.SCORE_THRESH_TEST", "0.0"])
    view = LiveView()
    qtbot.addWidget(view)
    view.resize(1200, 760)
    view.show()
    view.set_config_provider(lambda: cfg)
    view.set_checkpoint(checkpoint)
    view.controls.min_score.setValue(0.0)  # an untrained model still draws its (low-score) people
    yield view
    view.shutdown()


def processed(view) -> int:
    return view.control.pipeline.stats.processed if view.control and view.control.pipeline else 0


def test_a_replay_shows_predictions_charts_and_records(qtbot, view, intel_dat: Path, tmp_path: Path) -> None:
    view.set_source("replay", str(intel_dat), rate=150)  # 540 packets in 3.6 s
    with qtbot.waitSignal(view.resultShown, timeout=300_000):
        assert view.start()
    assert not view.start()  # one run at a time
    assert view.start_button.text() == "Stop" and not view.path_edit.isEnabled()
    mtn, overlay = view.mtn_view.image(), view.overlay_view.image()
    assert mtn is not None and mtn.shape[:2] == tuple(view._config().MODEL.MTN.OUTPUT_SIZE)
    scale = overlay.shape[0] // mtn.shape[0]  # drawn at display size
    assert scale > 1 and overlay.shape == (mtn.shape[0] * scale, mtn.shape[1] * scale, 3)
    plain = cv2.resize(mtn, overlay.shape[1::-1], interpolation=cv2.INTER_NEAREST)
    assert mtn.dtype == np.uint8 and not np.array_equal(overlay, plain)  # people drawn over the MTN output
    record = tmp_path / "live.jsonl"
    assert view.start_recording(str(record))
    qtbot.waitUntil(lambda: view.amplitude_chart.series_names() != [], timeout=60_000)
    pairs = view.amplitude_chart.series_names()
    assert pairs == ["rx1 tx1", "rx1 tx2", "rx2 tx1", "rx2 tx2", "rx3 tx1", "rx3 tx2"]  # the capture's 3x2 pairs
    curve = view.amplitude_chart.curve("rx1 tx1")
    # pause: reading goes on, no window is predicted
    paused_at = processed(view)
    view.set_paused(True)
    qtbot.waitUntil(lambda: view.control.pipeline.stats.paused > 2, timeout=60_000)
    assert processed(view) <= paused_at + 1  # at most the window being predicted when it paused
    qtbot.waitUntil(lambda: "(paused)" in view.status.text(), timeout=5_000)  # at the next redraw (100 ms timer)
    view.set_paused(False)
    with qtbot.waitSignal(view.finished, timeout=300_000) as done:
        pass  # the replay plays to its end
    summary = done.args[0]
    assert summary["packets"] == 540 and summary["processed"] > paused_at
    assert summary["processed"] + summary["dropped"] + summary["paused"] == summary["windows_made"] == 108
    times, values = view.amplitude_chart.series("rx1 tx1")
    assert len(times) == 540 and np.all(np.diff(times) >= 0) and np.all(values > 0)
    assert view.amplitude_chart.curve("rx1 tx1") is curve  # curves are made once, then setData
    assert len(view.people_chart.series("people")[0]) == summary["processed"]
    assert view.status.text().startswith("Ended:") and view.start_button.text() == "Start"
    lines = [json.loads(line) for line in record.read_text().splitlines()]
    assert lines and all(set(r) >= {"window", "latency_ms", "results"} for r in lines)
    assert len(lines) <= summary["processed"] and not view.record_button.isChecked()


def test_bad_input_is_shown_and_stop_ends_a_followed_log(qtbot, view, intel_dat: Path, tmp_path: Path) -> None:
    data = bytearray(intel_dat.read_bytes())
    fr = walk_records(bytes(data), 0, len_at=0, len_dtype=">u2", overhead=2)
    data[int(fr.offsets[30]) + 3 + 8] = 8  # record 30: 8 RX antennas
    log = tmp_path / "csi.dat"
    log.write_bytes(bytes(data))
    view.set_source("follow", str(log))
    with qtbot.waitSignal(view.resultShown, timeout=300_000):
        assert view.start()
    qtbot.waitUntil(lambda: "corrupted record" in view.event_label.text(), timeout=60_000)
    assert view.events[0].startswith("bad_record:")
    time.sleep(0.2)
    with qtbot.waitSignal(view.finished, timeout=120_000) as done:
        view.stop()  # a followed log never ends by itself
    assert done.args[0]["bad_records"] == 1 and done.args[0]["packets"] == 539
    assert "bad input 1" in view.status.text()


def test_a_missing_source_fails_in_one_message(qtbot, view, tmp_path: Path) -> None:
    view.set_source("follow", str(tmp_path / "nothing.dat"))
    with qtbot.waitSignal(view.failed, timeout=300_000) as failed:
        assert view.start()
    assert "no such file" in failed.args[0]
    assert view.error_dialogs and "no such file" in view.status.text()
    qtbot.waitUntil(lambda: not view.is_running(), timeout=60_000)
    assert view.start_button.text() == "Start"

"""The live pipeline on a real tiny model: newest window wins, drops are counted, bad input goes on.

The model is the tests' tiny demo_cpu model (random weights); where the test is about scheduling it
sleeps before each prediction, so it is slower than the packets on any machine.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from app.backend.data.csi import read_csi
from app.backend.engine.export import frame_to_coco_results
from app.backend.errors import WriteError
from app.backend.live.output import OverlayWriter, PredictionLog, result_record
from app.backend.live.pipeline import LivePipeline
from app.backend.live.replay import ReplaySource, load_replay
from app.backend.live.source import SourceSpec, open_source
from app.backend.live.windows import WindowMaker
from tests.tiny_config import tiny_config


@pytest.fixture(scope="module")
def predictor():
    from app.backend.engine.predictor import Predictor

    return Predictor(tiny_config(MODEL__ROI_HEADS__SCORE_THRESH_TEST=0.0))


class SlowModel:
    """The real predictor, ``delay`` seconds slower per window."""

    def __init__(self, predictor, delay: float) -> None:
        self.predictor, self.cfg, self.delay = predictor, predictor.cfg, delay
        self.calls = 0

    def predict_csi(self, x, options=None):
        self.calls += 1
        time.sleep(self.delay)
        return self.predictor.predict_csi(x, options=options)


def test_windows_of_size_and_hop(intel_dat: Path, capture_tools: dict[str, Path]) -> None:
    rec = read_csi(intel_dat)
    maker = WindowMaker(5, 3)
    window, made = maker.push(rec.slice_packets(0, 4), 1.0)
    assert window is None and made == 0
    window, made = maker.push(rec.slice_packets(4, 5), 2.0)  # packets 0..4: window 0
    assert made == 1 and window.index == 0 and window.first_packet == 0 and window.read_time == 2.0
    window, made = maker.push(rec.slice_packets(5, 20), 3.0)  # windows end at 7, 10, 13, 16, 19
    assert made == 5 and window.index == 5 and window.first_packet == 15
    np.testing.assert_array_equal(window.recording.amplitude, rec.amplitude[15:20])
    assert window.packet_time == rec.timestamps[19]
    window, made = maker.push(rec.slice_packets(20, 23), 4.0)  # packets 18..22 end window 6
    assert made == 1 and window.index == 6 and window.first_packet == 18 and window.read_time == 4.0
    np.testing.assert_array_equal(window.recording.amplitude, rec.amplitude[18:23])
    np.testing.assert_array_equal(window.recording.timestamps, rec.timestamps[18:23])
    maker.reset()  # a restarted stream: the next window needs 5 new packets
    window, made = maker.push(rec.slice_packets(100, 104), 5.0)
    assert window is None and made == 0
    window, made = maker.push(rec.slice_packets(104, 105), 6.0)
    assert made == 1 and window.index == 7 and window.first_packet == 23  # numbers go on counting
    np.testing.assert_array_equal(window.recording.amplitude, rec.amplitude[100:105])
    esp = read_csi(capture_tools["esp32"])  # another layout: windows start over (13 packets: 3), with its tones
    window, made = maker.push(esp, 7.0)
    assert maker.layout_changes == 1 and made == 3 and window.recording.meta["subcarrier_index"] == esp.meta["subcarrier_index"]


def test_a_slow_model_takes_the_newest_window_and_drops_the_rest(predictor, intel_dat: Path) -> None:
    slow = SlowModel(predictor, delay=0.25)
    source = ReplaySource(read_csi(intel_dat), rate=1000)  # 540 packets, 108 windows in 0.54 s
    pipeline = LivePipeline(source, slow)
    results, events = [], []
    summary = pipeline.run(results.append, on_event=events.append)
    assert events == []
    assert summary["windows_made"] == 108 and summary["packets"] == 540
    assert summary["processed"] == len(results) == slow.calls
    assert 1 <= len(results) < 108 / 2  # 0.25 s a window: most of the 108 cannot be predicted
    assert summary["dropped"] == 108 - len(results)  # every window is predicted or counted as dropped
    assert all(r.newest == r.index for r in results)  # nothing newer was waiting behind it
    assert results[-1].index == 107  # the stream's last window is always predicted
    assert [r.index for r in results] == sorted({r.index for r in results})
    for r in results:
        assert r.read_time <= r.start_time <= r.ready_time and r.latency_s >= 0.25
        assert r.overlay.dtype == np.uint8 and r.overlay.shape[:2] == tuple(predictor.cfg.MODEL.MTN.OUTPUT_SIZE)
        assert r.people == int(np.count_nonzero(r.prediction.scores >= 0.5))
    assert results[-1].dropped == summary["dropped"]


def test_bad_windows_are_counted_and_the_run_goes_on(predictor, intel_dat: Path) -> None:
    rec = read_csi(intel_dat).slice_packets(0, 40)
    rec.nrx = rec.nrx.copy()
    rec.nrx[37] = 0  # a packet without a receive antenna: its window cannot become a model input
    pipeline = LivePipeline(ReplaySource(rec, rate=100_000), predictor, hop=5)
    results, events = [], []
    summary = pipeline.run(results.append, on_event=events.append)
    assert [e.kind for e in events] == ["bad_window"] and "carries no receive antenna" in events[0].message
    assert summary["bad_windows"] == 1 and summary["windows_made"] == 8
    assert summary["processed"] + summary["dropped"] + summary["bad_windows"] == 8


def test_max_windows_and_stop_end_a_run(predictor, intel_dat: Path) -> None:
    source = ReplaySource(read_csi(intel_dat), rate=100, loop=True)
    summary = LivePipeline(source, predictor).run(lambda r: None, max_windows=2)
    assert summary["processed"] == 2
    stop_at = time.monotonic() + 0.5
    source = ReplaySource(read_csi(intel_dat), rate=100, loop=True)
    summary = LivePipeline(source, predictor).run(lambda r: None, should_stop=lambda: time.monotonic() > stop_at)
    assert summary["seconds"] < 30


def test_pause_skips_windows_until_resumed(predictor, intel_dat: Path) -> None:
    pipeline = LivePipeline(ReplaySource(read_csi(intel_dat), rate=2000), predictor)
    pipeline.pause()
    results: list = []
    summary = pipeline.run(results.append)
    assert results == [] and summary["paused"] == 108 and summary["dropped"] == 0


def test_replay_paces_packets(intel_dat: Path) -> None:
    rec = read_csi(intel_dat).slice_packets(0, 60)
    source = ReplaySource(rec, rate=400)
    batches = []
    while not (batches and batches[-1].finished):
        batches.append(source.poll())
    got = [b for b in batches if b.recording is not None]
    assert sum(b.recording.num_packets for b in got) == 60 and len(got) > 3
    last = np.cumsum([b.recording.num_packets for b in got]) - 1  # each batch's last packet
    for b, k in zip(got, last.tolist()):  # read_time: when the batch's last packet was due, at 400 packets/s
        assert b.read_time - got[0].read_time == pytest.approx((k - last[0]) / 400, abs=1e-6)
    np.testing.assert_array_equal(np.concatenate([b.recording.timestamps for b in got]), rec.timestamps)
    # as recorded: the capture's own packet times (about 0.2 s for these 60 packets)
    source = ReplaySource(rec)
    assert source.schedule[-1] == pytest.approx(rec.timestamps[-1] - rec.timestamps[0])


def test_a_dataset_replays_its_samples_in_order(demo_dataset_dir: Path) -> None:
    rec = load_replay(demo_dataset_dir / "val.json")
    assert rec.shape == (30, 30, 3, 3)  # 6 val frames x 5 packets
    assert np.all(np.diff(rec.timestamps) > 0)
    first = read_csi(demo_dataset_dir / "csi" / "val" / "000000.npz")
    np.testing.assert_array_equal(rec.amplitude[:5], first.amplitude)
    source = open_source(SourceSpec("replay", path=str(demo_dataset_dir / "val.json"), rate=1e6))
    assert source.recording.num_packets == 30


def test_predictions_are_written_as_infer_records(predictor, intel_dat: Path, tmp_path: Path, make_read_only) -> None:
    results: list = []
    LivePipeline(ReplaySource(read_csi(intel_dat), rate=1e6), predictor).run(results.append, max_windows=1)
    result = results[0]
    log = PredictionLog(tmp_path / "p.jsonl", "capture.dat", score_threshold=0.0)
    log.write(result)
    log.write(result)
    log.close()
    lines = (tmp_path / "p.jsonl").read_text().splitlines()
    assert len(lines) == 2
    record = json.loads(lines[0])
    assert record == json.loads(json.dumps(result_record(result, "capture.dat", 0.0)))
    assert record["window"] == result.index and record["people"] == len(result.prediction) > 0
    assert record["latency_ms"] == pytest.approx(result.latency_s * 1000, abs=0.1)
    assert record["results"] == json.loads(json.dumps(frame_to_coco_results(result.prediction, result.index, "capture.dat")))
    pngs = OverlayWriter(tmp_path / "png", every=2)
    written = [pngs.write(result) for _ in range(5)]
    assert [p is not None for p in written] == [True, False, True, False, True]
    assert written[0].name == f"window_{result.index:08d}.png"
    locked = make_read_only(tmp_path / "png")
    with pytest.raises(WriteError, match="cannot write"):
        PredictionLog(locked / "p.jsonl", "x", 0.5)
    with pytest.raises(WriteError):
        OverlayWriter(locked, every=1).write(result)

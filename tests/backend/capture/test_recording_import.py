"""Recording import: synthetic video + Intel 5300 / npz logs, the real Intel sample, resume."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.backend.capture.align import StreamsDoNotOverlapError
from app.backend.capture.recording_import import RecordingImportOptions, import_recording
from app.backend.capture.synthetic import decode_packet_ids, frame_level, make_synthetic_recording
from app.backend.data.csi import read_csi
from app.backend.data.validate import validate_dataset
from app.backend.errors import DatasetError

DROPPED = (50, 51, 52, *range(120, 131))  # a short gap and an 11-packet hole
DUPLICATED = (20, 77)


def _expected_windows(rec, p: int = 5) -> dict[int, list[int]]:
    """Brute force, from the ground truth: nominal packet ids of each frame's window."""
    ids = np.unique(rec.packet_ids)  # duplicates collapse
    times = np.array([rec.packet_times_s[np.nonzero(rec.packet_ids == m)[0][0]] for m in ids])
    med = np.median(np.diff(times))
    out = {}
    for f, c in enumerate(rec.frame_times_s):
        d = np.abs(times - c)
        k = int(np.argmin(d))  # argmin returns the first (earlier) on ties
        if d[k] > 1.5 * med:
            continue
        s = min(max(k - (p - 1) // 2, 0), ids.size - p)
        out[f] = ids[s : s + p].tolist()
    return out


def _imported(out: Path) -> dict[int, tuple[list[int], int]]:
    data = json.loads((out / "dataset.json").read_text())
    got = {}
    for img in data["images"]:
        ids = decode_packet_ids(read_csi(out / img["csi_file"]).amplitude).tolist()
        level = int(np.median(cv2.imread(str(out / img["file_name"]))))
        got[img["id"]] = (ids, level)
    return got


def test_synthetic_intel_recording_matches_every_frame_to_its_packets(tmp_path):
    rec = make_synthetic_recording(tmp_path / "src", num_frames=50, dropped=DROPPED, duplicated=DUPLICATED)
    assert (tmp_path / "src" / "csi.dat").read_bytes()[2] == 0xBB
    report = import_recording(RecordingImportOptions(tmp_path / "out", rec.csi, video=rec.video, offset_ms=300))
    assert report.complete and report.json_path == tmp_path / "out" / "dataset.json"
    expected = _expected_windows(rec)
    # hand-checked cases: frame 2 sits on packet 40 (34 s after start 0.3 s), frame 4 on 50 (dropped),
    # frame 18 on 120 and frame 19 on 125, inside the 11-packet hole (unmatched), frame 20 on 130 (dropped)
    assert expected[2] == [38, 39, 40, 41, 42]
    assert expected[4] == [47, 48, 49, 53, 54]
    assert expected[18] == [117, 118, 119, 131, 132] and 19 not in expected
    assert expected[20] == [118, 119, 131, 132, 133]
    got = _imported(tmp_path / "out")
    assert sorted(got) == sorted(expected)
    for f, ids_expected in expected.items():
        ids, level = got[f]
        assert ids == ids_expected, f"frame {f}"
        assert abs(level - frame_level(f)) <= 2, f"frame {f} image"
    s = report.alignment["csi"]
    assert s["duplicates"] == 2 and s["wraps"] == 1
    assert s["dropped_from_sequence"] == len(DROPPED) and s["dropped_from_gaps"] == len(DROPPED)
    assert s["gaps"] == 2 and report.frames_matched == len(expected) == report.frames_done
    assert report.alignment["frames_unmatched"] == 50 - len(expected)
    assert abs(report.alignment["clock_drift_ppm"]) < 5 * report.alignment["clock_drift_stderr_ppm"] + 50
    assert validate_dataset(report.json_path).ok


def test_npz_log_with_absolute_timestamps(tmp_path):
    rec = make_synthetic_recording(
        tmp_path / "src", num_frames=20, csi_format="npz", start_us=1_700_000_000_000_000, offset_s=0.5
    )
    report = import_recording(
        RecordingImportOptions(tmp_path / "out", rec.csi, video=rec.video, offset_ms=500, packets_per_frame=3)
    )
    got = _imported(tmp_path / "out")
    expected = _expected_windows(rec, p=3)
    assert len(expected) == 20 and {f: v[0] for f, v in got.items()} == expected
    assert report.alignment["csi"]["dropped_from_sequence"] is None
    sample = read_csi(tmp_path / "out" / "csi" / "000000.npz")
    assert sample.shape == (3, 30, 3, 2) and sample.timestamps[0] > 1.7e9


def test_real_intel_sample_imports_and_reports_its_packet_rate(tmp_path, intel_dat):
    import csiread

    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(60):
        cv2.imwrite(str(frames / f"frame{i}.png"), np.full((24, 32, 3), i, np.uint8))
    report = import_recording(RecordingImportOptions(tmp_path / "out", intel_dat, frames_dir=frames, fps=1.0))
    assert report.complete and report.frames_total == 60
    parsed = csiread.Intel(str(intel_dat), nrxnum=3, ntxnum=3, pl_size=0, if_report=False)
    parsed.read()
    raw = parsed.timestamp_low.astype(np.int64)
    raw[1:] += np.cumsum(np.diff(raw) < -(2**31)) * 2**32
    t = np.unique(raw) * 1e-6
    s = report.alignment["csi"]
    assert s["num_packets"] == 540
    assert s["packet_rate_hz"] == pytest.approx((t.size - 1) / (t[-1] - t[0]), rel=1e-9)
    assert s["dropped_from_sequence"] == int(np.sum((np.diff(parsed.bfee_count.astype(np.int64)) % 65536) - 1))
    # CSI spans 59.6 s; frames at 1 fps span 59 s: every frame is within 1.5 median intervals of a packet
    # except those falling inside the log's pauses (gaps); the frame folder order is natural (frame2 < frame10)
    data = json.loads(report.json_path.read_text())
    assert [im["id"] for im in data["images"]] == sorted(im["id"] for im in data["images"])
    assert report.frames_matched == len(data["images"]) >= 50
    level = int(np.median(cv2.imread(str(tmp_path / "out" / data["images"][10]["file_name"]))))
    assert level == data["images"][10]["id"]


def test_streams_that_do_not_overlap_are_refused_with_both_spans(tmp_path):
    rec = make_synthetic_recording(tmp_path / "src", num_frames=10)
    span = r"video frames span 60\.000 \.\. 60\.450 s and CSI packets span 0\.000 \.\. 1\.1\d\d s"
    with pytest.raises(StreamsDoNotOverlapError, match=span):
        import_recording(RecordingImportOptions(tmp_path / "out", rec.csi, video=rec.video, offset_ms=60_000))
    assert not (tmp_path / "out" / "dataset.json").exists()


def test_interrupted_import_resumes_and_refuses_other_settings(tmp_path):
    rec = make_synthetic_recording(tmp_path / "src", num_frames=30, dropped=DROPPED)
    opts = RecordingImportOptions(tmp_path / "out", rec.csi, video=rec.video, offset_ms=300)
    calls = []

    def stop_after_12() -> bool:
        calls.append(1)
        return len(calls) > 12

    progress = []
    first = import_recording(opts, progress=progress.append, should_stop=stop_after_12)
    assert not first.complete and first.cancelled and first.frames_written_this_run == 12
    assert not (tmp_path / "out" / "dataset.json").exists()
    assert progress[-1].done == 12 and progress[-1].eta_s is not None and progress[-1].total == first.frames_matched
    stamp = (tmp_path / "out" / "images" / "000005.jpg").stat().st_mtime_ns
    with pytest.raises(DatasetError, match="other inputs or settings"):
        import_recording(RecordingImportOptions(tmp_path / "out", rec.csi, video=rec.video, offset_ms=310))
    second = import_recording(opts)
    assert second.complete and second.frames_written_this_run == first.frames_matched - 12
    assert (tmp_path / "out" / "images" / "000005.jpg").stat().st_mtime_ns == stamp  # not rewritten
    fresh = import_recording(RecordingImportOptions(tmp_path / "fresh", rec.csi, video=rec.video, offset_ms=300))
    a = json.loads((tmp_path / "out" / "dataset.json").read_text())
    b = json.loads((tmp_path / "fresh" / "dataset.json").read_text())
    assert a["images"] == b["images"] and fresh.frames_done == second.frames_done
    for img in a["images"]:
        x, y = (read_csi(root / img["csi_file"]) for root in (tmp_path / "out", tmp_path / "fresh"))
        np.testing.assert_array_equal(x.amplitude, y.amplitude)
    again = import_recording(opts)  # idempotent: nothing left to do
    assert again.complete and again.frames_written_this_run == 0

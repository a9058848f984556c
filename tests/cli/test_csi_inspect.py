"""``python main.py csi-inspect``: JSON summary, heatmap PNG, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.cli import main

REPO = Path(__file__).resolve().parents[2]


def test_json_summary_of_intel_capture(intel_dat: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["csi-inspect", str(intel_dat), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["format"] == "intel5300" and info["packets"] == 540
    assert info["shape"] == [540, 30, 3, 3]
    assert info["antennas"]["nrx_per_packet"] == {"3": 540} and info["antennas"]["ntx_per_packet"] == {"2": 540}
    assert len(info["antennas"]["pairs_with_data"]) == 6
    assert 59 < info["time_span_s"] < 61 and 8 < info["packet_rate_hz"] < 10
    assert info["nonfinite_count"] == 0
    sp = info["sanitized_phase"]
    assert abs(sp["mean"]) < 1e-4 and 0 < sp["std"] < info["raw_phase"]["std"]
    assert sp["residual_linear_slope"] < 1e-4


def test_text_summary_and_plot_of_mmfi_frame(mmfi_frames: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "plots" / "frame.png"
    assert main(["csi-inspect", str(mmfi_frames[0]), "--plot", str(out)]) == 0
    text = capsys.readouterr().out
    assert "mmfi-mat" in text and "(10, 114, 3, 1)" in text and "sanitized phase" in text
    img = cv2.imread(str(out), cv2.IMREAD_COLOR)
    assert img is not None and img.shape[0] > 500 and img.shape[1] > 900
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 100  # real heatmaps, not a blank canvas
    assert not list(out.parent.glob("*.tmp"))


def test_nonfinite_values_are_counted(mmfi_frames: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import scipy.io

    mat = scipy.io.loadmat(mmfi_frames[1])
    mat["CSIamp"][0, :4, 0] = -np.inf
    bad = tmp_path / "inf.mat"
    scipy.io.savemat(bad, {"CSIamp": mat["CSIamp"], "CSIphase": mat["CSIphase"]})
    assert main(["csi-inspect", str(bad), "--json", "--plot", str(tmp_path / "p.png")]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["nonfinite_count"] == 4 and info["amplitude"]["min"] > 0
    assert (tmp_path / "p.png").exists()


def test_bad_file_gives_one_error_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "junk.dat"
    bad.write_bytes(b"\x00\x10\x42" + bytes(200))
    proc = subprocess.run(
        [sys.executable, "main.py", "csi-inspect", str(bad)], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "junk.dat" in lines[0]
    assert proc.stdout == ""


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["csi-inspect", str(tmp_path / "nope.npz")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "nope.npz" in err


def test_unwritable_plot_folder_is_one_error_line(
    intel_dat: Path, tmp_path: Path, make_read_only, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_read_only(tmp_path)
    assert main(["csi-inspect", str(intel_dat), "--plot", str(folder / "p.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: cannot write {folder / 'p.png'}: ")
    assert list(folder.iterdir()) == []

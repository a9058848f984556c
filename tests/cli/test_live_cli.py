"""``main.py live`` end to end in a subprocess: a replay to PNGs and JSON lines, Ctrl+C on a followed
log with a corrupted record, nexmon_csi over UDP, and the user errors (one ``error:`` line, exit 2)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from app.backend.data.csi.framing import walk_records
from tests.backend.live.test_udp import udp_payloads
from tests.tiny_config import tiny_config

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(config.yaml, weights.pth) of the tiny demo_cpu model with random weights (detections at any score)."""
    from detectron2.checkpoint import DetectionCheckpointer

    from app.backend.modeling import build_model

    out = tmp_path_factory.mktemp("model")
    cfg = tiny_config(MODEL__ROI_HEADS__SCORE_THRESH_TEST=0.0)
    (out / "config.yaml").write_text(cfg.dump(), encoding="utf-8")
    DetectionCheckpointer(build_model(cfg), save_dir=str(out)).save("model")
    return out / "config.yaml", out / "model.pth"


def live(model: tuple[Path, Path], *args: str, **popen: object) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, "main.py", "live", "--config-file", str(model[0]), "--weights", str(model[1]), *args]
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def test_replay_writes_json_lines_and_overlays(model, intel_dat: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = live(model, "--follow", str(intel_dat), "--replay-rate", "300", "--out", str(out), "--max-windows", "4",
                "--png-every", "2", "--score-threshold", "0")
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr
    lines = (out / "predictions.jsonl").read_text().splitlines()
    assert len(lines) == 4 and stdout == ""
    records = [json.loads(line) for line in lines]
    assert [r["window"] for r in records] == sorted(r["window"] for r in records)
    for r in records:
        assert r["read_time"] <= r["ready_time"] and r["latency_ms"] >= 0 and r["people"] == len(r["results"]) > 0
        person = r["results"][0]
        assert person["image_id"] == r["window"] and person["file_name"] == str(intel_dat)
        assert set(person) >= {"bbox", "score", "keypoints", "densepose", "category_id"}
    assert sorted(p.name for p in out.glob("*.png")) == [f"window_{records[k]['window']:08d}.png" for k in (0, 2)]
    assert "4 windows predicted" in stderr and "latency p50" in stderr


def test_ctrl_c_ends_a_followed_log_with_a_summary(model, intel_dat: Path, tmp_path: Path) -> None:
    data = bytearray(intel_dat.read_bytes())
    fr = walk_records(bytes(data), 0, len_at=0, len_dtype=">u2", overhead=2)
    o = int(fr.offsets[50])
    data[o + 3 + 8] = 9  # record 50: 9 RX antennas
    log = tmp_path / "csi.dat"
    log.write_bytes(bytes(data[: int(fr.offsets[120])]))
    proc = live(model, "--follow", str(log))
    try:
        deadline = time.monotonic() + 300
        lines: list[str] = []
        while time.monotonic() < deadline and len(lines) < 1:  # predictions reach stdout
            lines.append(proc.stdout.readline())
        with open(log, "ab") as f:  # the capture goes on
            f.write(bytes(data[int(fr.offsets[120]) :]))
        time.sleep(2.5)  # at least one status line
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    records = [json.loads(line) for line in lines + stdout.splitlines() if line.strip()]
    assert records and records[-1]["first_packet"] + 5 <= 540
    assert "bad_record:" in stderr and "corrupted record at byte" in stderr
    assert "windows/s" in stderr and "interrupted" in stderr
    assert "bad input: 1 corrupted record(s)" in stderr and "from 539 packets" in stderr


def test_nexmon_udp_packets_are_predicted(model, capture_tools: dict[str, Path]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = live(model, "--udp", f"127.0.0.1:{port}", "--max-windows", "1", "--score-threshold", "0")
    payloads = udp_payloads(capture_tools["nexmon"])
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            deadline = time.monotonic() + 300
            while proc.poll() is None and time.monotonic() < deadline:  # until it listens and predicts
                sender.sendto(b"garbage", ("127.0.0.1", port))
                for _ in range(5):
                    for p in payloads:
                        sender.sendto(p, ("127.0.0.1", port))
                time.sleep(0.2)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    record = json.loads(stdout.splitlines()[0])
    assert record["results"] and record["results"][0]["file_name"] == f"udp://127.0.0.1:{port}"
    assert "bad_record:" in stderr and "corrupted record at byte" in stderr and "is too short" in stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--follow", "no/such.dat"], "no/such.dat: no such file"),
        (["--udp", "localhost"], "expected HOST:PORT"),
        (["--udp", "127.0.0.1:5500", "--replay-rate", "10"], "--replay-rate replays a file"),
        (["--follow", "{intel}", "--replay-rate", "0"], "--replay-rate '0'"),
        (["--follow", "{intel}", "--hop", "0"], "--hop must be at least 1"),
        (["--follow", "{npz}"], "a npz file is a finished recording, not a log being written: replay it"),
    ],
)
def test_user_errors(model, intel_dat: Path, tmp_path: Path, capsys, args: list[str], message: str) -> None:
    from app.cli import main

    npz = tmp_path / "x.npz"
    np.savez(npz, csi=np.ones((5, 30, 3, 3), np.complex64))
    args = [a.format(intel=intel_dat, npz=npz) for a in args]
    assert main(["live", "--config-file", str(model[0]), "--weights", str(model[1]), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]


def test_a_missing_checkpoint_is_a_user_error(model, intel_dat: Path, capsys) -> None:
    from app.cli import main

    assert main(["live", "--config-file", str(model[0]), "--weights", "nope.pth", "--follow", str(intel_dat)]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == "error: weights not found: nope.pth"

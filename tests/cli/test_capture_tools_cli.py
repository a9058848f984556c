"""Every capture tool's log through the command line: csi-inspect, import-recording with its clock, training."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.backend.config import builtin_config
from app.backend.data.csi import read_csi
from app.cli import main
from tests.tiny_config import one_thread, tiny_opts

CLOCKS = {"atheros": "device", "esp32": "device", "nexmon": "host", "picoscenes": "device"}


def _long_nexmon(src: Path, dst: Path, frames: int = 40) -> Path:
    """The real nexmon capture's 4 packets repeated as ``frames`` frames, 10 ms apart (host clock)."""
    data = src.read_bytes()
    out = bytearray(data[:24])
    for f in range(frames):
        for k in range(4):
            r = bytearray(data[24 + k * 1100 : 24 + (k + 1) * 1100])
            struct.pack_into("<II", r, 0, 1507213439, f * 10_000)
            struct.pack_into("<H", r, 16 + 42 + 10, f)
            out += r
    dst.write_bytes(bytes(out))
    return dst


@pytest.fixture
def logs(capture_tools: dict[str, Path], tmp_path: Path) -> dict[str, Path]:
    return {**capture_tools, "nexmon": _long_nexmon(capture_tools["nexmon"], tmp_path / "nexmon.pcap")}


@pytest.mark.parametrize("name", list(CLOCKS))
def test_csi_inspect_json_of_each_tool(name: str, capture_tools: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["csi-inspect", str(capture_tools[name]), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    rec = read_csi(capture_tools[name])
    assert info["format"] == name and info["shape"] == list(rec.shape) and info["packets"] == rec.num_packets
    assert info["meta"]["clock"]["source"] == CLOCKS[name] and len(info["meta"]["subcarrier_index"]) == rec.num_subcarriers
    assert info["nonfinite_count"] == 0 and info["notes"]


def _frames(folder: Path, n: int) -> Path:
    folder.mkdir()
    for i in range(n):
        cv2.imwrite(str(folder / f"{i:03d}.png"), np.full((48, 64, 3), 20 * i % 255, np.uint8))
    return folder


@pytest.mark.parametrize(
    ("name", "fps", "frames", "ppf"),
    [("atheros", 10.0, 8, 5), ("esp32", 100.0, 8, 3), ("nexmon", 25.0, 9, 5), ("picoscenes", 1.0, 30, 5)],
)
def test_import_recording_with_each_tools_timestamps(
    name: str, fps: float, frames: int, ppf: int, logs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    argv = ["import-recording", "--frames", str(_frames(tmp_path / "frames", frames)), "--fps", str(fps),
            "--csi", str(logs[name]), "--out", str(out), "--packets-per-frame", str(ppf), "--quiet",
            "--max-offset-ms", "100"]  # fmt: skip
    assert main(argv) == 0
    text = capsys.readouterr().out
    clock = "capture device's own clock" if CLOCKS[name] == "device" else "capture host's clock"
    assert clock in text and f"matched {frames}/{frames} frames" in text
    data = json.loads((out / "dataset.json").read_text())
    assert len(data["images"]) == frames
    rec = read_csi(logs[name])
    first = read_csi(out / data["images"][0]["csi_file"])
    assert first.shape == (ppf, *rec.shape[1:])
    lo, hi = data["images"][-1]["csi_packets"]
    np.testing.assert_array_equal(read_csi(out / data["images"][-1]["csi_file"]).amplitude, rec.amplitude[lo : hi + 1])


def test_training_on_a_dataset_whose_csi_files_are_any_tools_logs(
    demo_dataset_dir: Path, logs: dict[str, Path], tmp_path: Path
) -> None:
    root = tmp_path / "mixed"
    shutil.copytree(demo_dataset_dir / "images", root / "images")
    data = json.loads((demo_dataset_dir / "train.json").read_text())
    names = list(CLOCKS)
    for i, img in enumerate(data["images"]):
        img["csi_file"] = str(logs[names[i % 4]])  # absolute paths to the tools' own files
    (root / "train.json").write_text(json.dumps(data))
    assert main(["validate-dataset", str(root / "train.json")]) == 0
    out = tmp_path / "run"
    opts = tiny_opts(demo_dataset_dir, out, 2, DATASETS__TEST=(), DATASETS__TRAIN=("captures",),
                     DATASETS__JSON_FILES=[f"captures={root / 'train.json'}"])  # fmt: skip
    with one_thread():
        assert main(["train", "--config-file", str(builtin_config("demo_cpu")), *opts]) == 0
    stats = json.loads((out / "csi_stats.json").read_text())
    assert stats and (out / "model_final.pth").is_file()
    pred = tmp_path / "pred"  # and the trained model predicts straight from the tools' logs
    inputs = [str(logs[n]) for n in ("atheros", "esp32", "picoscenes")]
    with one_thread():
        code = main(["infer", "--config-file", str(out / "config.yaml"), "--weights", str(out / "model_final.pth"),
                     "--input", *inputs, "--output", str(pred), "--score-threshold", "0"])  # fmt: skip
    assert code == 0 and sorted(p.stem for p in pred.glob("*.png")) == sorted(Path(i).stem for i in inputs)
    assert isinstance(json.loads((pred / "predictions.json").read_text()), list)

"""Broken capture-tool files: truncated, random, mutated, oversized. One clear CsiFormatError each, never a crash."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.backend.data.csi import framing, read_csi, readers
from app.backend.errors import CsiFormatError
from app.cli import main
from tests.backend.data.csi.csi_errors import expect_csi_error

REPO = Path(__file__).resolve().parents[4]
FORMATS = ["atheros", "esp32", "nexmon", "picoscenes"]
EXTENSIONS = {"atheros": ".dat", "esp32": ".csv", "nexmon": ".pcap", "picoscenes": ".csi"}


@pytest.mark.parametrize("name", FORMATS)
def test_truncated_at_ten_random_offsets(name: str, capture_tools: dict[str, Path], tmp_path: Path) -> None:
    data = capture_tools[name].read_bytes()
    rng = np.random.default_rng(19)  # none of these cuts falls on a record boundary (that would be a valid log)
    cuts = sorted(int(c) for c in rng.integers(1, len(data), 10))
    for cut in cuts:
        bad = tmp_path / f"cut{cut}{EXTENSIONS[name]}"
        bad.write_bytes(data[:cut])
        msg = expect_csi_error(bad)
        if cut > 1100:  # past the first record: the reader knows the format and says where it stopped
            assert "truncated" in msg and "complete" in msg, msg


@pytest.mark.parametrize("ext", [*EXTENSIONS.values(), ".mat", ".npz", ".npy", ".bin"])
def test_random_bytes_with_each_extension(ext: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(len(ext))
    for size in (1, 30, 4096):
        bad = tmp_path / f"noise{size}{ext}"
        bad.write_bytes(rng.integers(0, 256, size, dtype=np.uint8).tobytes())
        expect_csi_error(bad)


@pytest.mark.parametrize("name", FORMATS)
def test_mutated_captures_read_or_fail_clearly(name: str, capture_tools: dict[str, Path], tmp_path: Path) -> None:
    """Seeded byte flips, overwritten blocks and cuts: a recording or a CsiFormatError, nothing else."""
    data = capture_tools[name].read_bytes()
    rng = np.random.default_rng(2024)
    outcomes = {"ok": 0, "error": 0}
    for i in range(40):
        mutant = bytearray(data)
        span = 64  # the first record's header: every other mutant is aimed there
        for _ in range(int(rng.integers(1, 8))):
            at = int(rng.integers(0, span if i % 2 else len(data)))
            mutant[at] = int(rng.integers(0, 256))
        if i % 5 == 4:
            at = int(rng.integers(0, len(data) - 64))
            mutant[at : at + 64] = rng.integers(0, 256, 64, dtype=np.uint8).tobytes()
        path = tmp_path / f"m{i}{EXTENSIONS[name]}"
        path.write_bytes(bytes(mutant))
        try:
            rec = read_csi(path)
        except CsiFormatError as exc:
            assert str(path) in str(exc) and "\n" not in str(exc)
            outcomes["error"] += 1
        else:
            assert rec.num_packets >= 1 and np.isfinite(rec.timestamps).all()
            outcomes["ok"] += 1
    assert outcomes["error"] >= 5, outcomes


def test_sizes_are_capped_before_anything_is_allocated(
    capture_tools: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(framing, "MAX_CSI_VALUES", 500)  # the smallest capture needs 832 (13 lines x 64)
    for name in FORMATS:
        msg = expect_csi_error(capture_tools[name])
        assert "split the capture" in msg and "more than the 500" in msg, msg
    monkeypatch.setattr(readers, "MAX_LOG_BYTES", 1000)
    assert "more than the 1000" in expect_csi_error(capture_tools["atheros"])


def test_cli_prints_one_error_line_for_each_broken_capture(
    capture_tools: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in FORMATS:
        data = capture_tools[name].read_bytes()
        for label, content in (("cut", data[: len(data) * 2 // 3 + 7]), ("noise", bytes(range(256)) * 3)):
            bad = tmp_path / f"{label}-{name}{EXTENSIONS[name]}"
            bad.write_bytes(content)
            assert main(["csi-inspect", str(bad)]) == 2
            out = capsys.readouterr()
            lines = out.err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: ") and bad.name in lines[0], out.err
            assert out.out == ""


def test_cli_subprocess_truncated_pcap_and_foreign_csi(capture_tools: dict[str, Path], tmp_path: Path) -> None:
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(capture_tools["nexmon"].read_bytes()[:3000])
    foreign = tmp_path / "foreign.csi"
    foreign.write_bytes(capture_tools["atheros"].read_bytes()[:5000])  # an Atheros log cut short, named .csi
    for bad, word in ((cut, "truncated"), (foreign, "truncated atheros")):
        proc = subprocess.run(
            [sys.executable, "main.py", "csi-inspect", str(bad)], cwd=REPO, capture_output=True, text=True, timeout=300
        )
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
        assert word in lines[0].lower() and proc.stdout == ""

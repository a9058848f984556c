"""Atomic checkpoint writes and code-free checkpoint reads."""

from __future__ import annotations

import os
import pickle
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from app.backend.atomic_write import temp_target
from app.backend.checkpoint import AtomicCheckpointer, latest_checkpoint, load_checkpoint_file
from app.backend.errors import CheckpointError
from tests.kill import kill_at_marker

REPO = Path(__file__).resolve().parents[2]


def _model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))


def test_save_writes_complete_file_and_tag(tmp_path: Path) -> None:
    model = _model(0)
    ckpt = AtomicCheckpointer(model, str(tmp_path))
    ckpt.save("model_0000004", iteration=4)
    assert (tmp_path / "last_checkpoint").read_text() == "model_0000004.pth"
    assert [p.name for p in tmp_path.iterdir() if temp_target(p.name)] == []
    other = _model(1)
    extra = AtomicCheckpointer(other, str(tmp_path)).resume_or_load("", resume=True)
    assert extra["iteration"] == 4
    for a, b in zip(model.state_dict().values(), other.state_dict().values()):
        assert torch.equal(a, b)


def test_latest_checkpoint_follows_a_valid_tag_and_falls_back_to_model_final(tmp_path: Path) -> None:
    assert latest_checkpoint(tmp_path) == ""
    AtomicCheckpointer(_model(0), str(tmp_path)).save("model_0000004")
    assert latest_checkpoint(tmp_path) == str(tmp_path / "model_0000004.pth")
    (tmp_path / "model_final.pth").write_bytes((tmp_path / "model_0000004.pth").read_bytes())
    (tmp_path / "model_0000004.pth").unlink()  # the tag names a file that is gone
    assert latest_checkpoint(tmp_path) == str(tmp_path / "model_final.pth")
    outside = tmp_path.parent / "elsewhere.pth"
    outside.write_bytes(b"x")
    for bad in ("../elsewhere.pth", str(outside), ".hidden.pth", ""):
        (tmp_path / "last_checkpoint").write_text(bad)
        assert latest_checkpoint(tmp_path) == str(tmp_path / "model_final.pth")  # an invalid tag is ignored ...
        if bad:
            with pytest.raises(CheckpointError, match="invalid file"):  # ... but resuming refuses it
                AtomicCheckpointer(_model(0), str(tmp_path)).get_checkpoint_file()


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"PK\x03\x04truncated zip"])
def test_corrupt_file_raises_checkpoint_error(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "model_final.pth"
    bad.write_bytes(content)
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        AtomicCheckpointer(_model(0), str(tmp_path)).load(str(bad))


def test_truncated_real_checkpoint_raises(tmp_path: Path) -> None:
    AtomicCheckpointer(_model(0), str(tmp_path)).save("model_final")
    data = (tmp_path / "model_final.pth").read_bytes()
    (tmp_path / "cut.pth").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError):
        load_checkpoint_file(str(tmp_path / "cut.pth"))


def test_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        AtomicCheckpointer(_model(0), str(tmp_path)).load(str(tmp_path / "nope.pth"))


class _Evil:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_checkpoint_with_code_never_runs_it(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    torch.save({"model": {"w": torch.zeros(2)}, "x": _Evil(str(marker))}, tmp_path / "evil.pth")
    with open(tmp_path / "evil.pkl", "wb") as f:
        pickle.dump({"model": {"w": np.zeros(2)}, "x": _Evil(str(marker))}, f)
    for name in ("evil.pth", "evil.pkl"):
        with pytest.raises(CheckpointError):
            load_checkpoint_file(str(tmp_path / name))
    assert not marker.exists()


def test_model_zoo_pkl_with_numpy_arrays_loads(tmp_path: Path) -> None:
    model = nn.Linear(2, 2)
    blobs = {"weight": np.full((2, 2), 3.0, np.float32), "bias": np.zeros(2, np.float32)}
    with open(tmp_path / "zoo.pkl", "wb") as f:
        pickle.dump({"model": blobs, "__author__": "test"}, f)
    AtomicCheckpointer(model, str(tmp_path)).load(str(tmp_path / "zoo.pkl"))
    assert torch.all(model.weight == 3.0)


_KILLED_SAVE = textwrap.dedent(
    """
    import sys, time, torch
    from torch import nn
    from app.backend.checkpoint import AtomicCheckpointer

    out, marker = sys.argv[1], sys.argv[2]

    class SlowCheckpointer(AtomicCheckpointer):
        def _before_replace(self, tmp_path):
            if "model_0000009" in tmp_path:
                open(marker, "w").close()
                time.sleep(60)

    torch.manual_seed(0)
    model = nn.Linear(4, 3)
    ckpt = SlowCheckpointer(model, out)
    ckpt.save("model_0000004", iteration=4)
    with torch.no_grad():
        model.weight.add_(1.0)
    ckpt.save("model_0000009", iteration=9)
    """
)


def test_kill_during_save_keeps_previous_checkpoint(tmp_path: Path) -> None:
    out, marker = tmp_path / "out", tmp_path / "saving"
    out.mkdir()
    kill_at_marker([sys.executable, "-c", _KILLED_SAVE, str(out), str(marker)], marker, REPO)
    names = sorted(os.listdir(out))
    assert "model_0000009.pth" not in names  # the interrupted file never took the real name
    assert any(temp_target(n) for n in names)  # the half-way write was in a temp file
    assert (out / "last_checkpoint").read_text() == "model_0000004.pth"
    model = nn.Linear(4, 3)
    ckpt = AtomicCheckpointer(model, str(out))
    ckpt.remove_stale_temp_files()
    assert not any(temp_target(n) for n in os.listdir(out))
    extra = ckpt.resume_or_load("", resume=True)
    assert extra["iteration"] == 4
    torch.manual_seed(0)
    assert torch.equal(model.weight, nn.Linear(4, 3).weight)

"""Checkpoints that do not fit, lie about their contents, or cannot be written: one CheckpointError/WriteError line."""

from __future__ import annotations

import logging
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from app.backend import remote
from app.backend.checkpoint import AtomicCheckpointer, read_checkpoint
from app.backend.errors import CheckpointError, DownloadError, WriteError


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(10, 10)  # 110 values
        self.b = nn.Linear(10, 1)  # 11 values


def test_weights_sharing_no_parameter_are_refused_and_the_count_is_said(tmp_path: Path) -> None:
    torch.save({"model": {"other.weight": torch.zeros(3, 3)}}, tmp_path / "foreign.pth")
    with pytest.raises(CheckpointError, match=r"0 of 4 parameter tensors \(0\.0 % of 121 values\)") as info:
        AtomicCheckpointer(Net(), min_loaded_fraction=0.5).load(str(tmp_path / "foreign.pth"))
    assert "MODEL.MIN_LOADED_FRACTION 0.5" in str(info.value) and "\n" not in str(info.value)
    AtomicCheckpointer(Net(), min_loaded_fraction=0.0).load(str(tmp_path / "foreign.pth"))  # explicitly accepted


def test_a_partial_fit_is_measured_in_values(tmp_path: Path, caplog) -> None:
    part = {k: v for k, v in Net().state_dict().items() if k.startswith("b.")}
    torch.save({"model": part}, tmp_path / "part.pth")
    with pytest.raises(CheckpointError, match=r"2 of 4 parameter tensors \(9\.1 % of 121 values\)"):
        AtomicCheckpointer(Net(), min_loaded_fraction=0.1).load(str(tmp_path / "part.pth"))
    bad_shape = {**Net().state_dict(), "a.weight": torch.zeros(5, 5)}
    torch.save({"model": bad_shape}, tmp_path / "shape.pth")
    with caplog.at_level(logging.INFO):
        AtomicCheckpointer(Net(), min_loaded_fraction=0.1).load(str(tmp_path / "shape.pth"))
    assert "3 of 4 parameter tensors (17.4 % of 121 values)" in caplog.text  # a wrong shape is not loaded


@pytest.mark.parametrize("array", [np.array(["a", "b"]), np.array([1, "x"], dtype=object), np.zeros(2, np.complex64)])
def test_model_zoo_pkl_with_non_numeric_arrays_is_refused(tmp_path: Path, array: np.ndarray) -> None:
    with open(tmp_path / "zoo.pkl", "wb") as f:
        pickle.dump({"model": {"a.weight": array}, "__author__": "x"}, f)
    with pytest.raises(CheckpointError, match="a.weight"):
        AtomicCheckpointer(Net()).load(str(tmp_path / "zoo.pkl"))


@pytest.mark.parametrize("iteration", ["abc", 2.5, True, -7, None])
def test_an_iteration_that_is_not_an_int_is_refused(tmp_path: Path, iteration: object) -> None:
    torch.save({"model": Net().state_dict(), "iteration": iteration}, tmp_path / "m.pth")
    with pytest.raises(CheckpointError, match="iteration must be an int"):
        read_checkpoint(str(tmp_path / "m.pth"))
    torch.save({"model": Net().state_dict(), "trainer": {"iteration": iteration}}, tmp_path / "t.pth")
    with pytest.raises(CheckpointError, match="trainer iteration must be an int"):
        read_checkpoint(str(tmp_path / "t.pth"))


def test_a_zip_bomb_pth_is_refused_before_it_is_inflated(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.pth"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("archive/data/0", b"\0" * (200 << 20))
    assert bomb.stat().st_size < 1 << 20
    with pytest.raises(CheckpointError, match="unpacks to"):
        read_checkpoint(str(bomb))


def test_a_last_checkpoint_folder_is_an_error_before_training_not_after(tmp_path: Path) -> None:
    (tmp_path / "last_checkpoint").mkdir()
    ckpt = AtomicCheckpointer(Net(), str(tmp_path))
    for resume in (True, False):
        with pytest.raises(CheckpointError, match="last_checkpoint is not a file"):
            ckpt.resume_or_load("", resume=resume)


def test_resume_without_a_checkpoint_says_what_it_starts_from(tmp_path: Path, caplog) -> None:
    with caplog.at_level(logging.WARNING):
        AtomicCheckpointer(Net(), str(tmp_path)).resume_or_load("", resume=True)
    assert "--resume: no last_checkpoint in" in caplog.text and "from scratch" in caplog.text


def test_a_full_disk_during_a_save_keeps_the_previous_checkpoint(small_tmpfs) -> None:
    out = small_tmpfs(64 * 1024)
    small, big = nn.Linear(4, 4), nn.Linear(400, 400)  # 0.6 MB: does not fit
    AtomicCheckpointer(small, str(out)).save("model_0000004", iteration=4)
    before = (out / "model_0000004.pth").read_bytes()
    with pytest.raises(WriteError, match="No space left on device"):
        AtomicCheckpointer(big, str(out)).save("model_0000009", iteration=9)
    assert sorted(os.listdir(out)) == ["last_checkpoint", "model_0000004.pth"]  # no temp file left
    assert (out / "last_checkpoint").read_text() == "model_0000004.pth"
    assert (out / "model_0000004.pth").read_bytes() == before


def test_weights_urls_come_from_the_cache_by_full_url_and_plain_http_is_refused(tmp_path: Path) -> None:
    url = "https://127.0.0.1:9/zoo/model_final.pth"
    placed = remote.cache_path(url)
    placed.parent.mkdir(parents=True)
    net = Net()
    torch.save({"model": net.state_dict()}, placed)
    other = Net()
    AtomicCheckpointer(other, min_loaded_fraction=1.0).load(url)
    assert torch.equal(other.a.weight, net.a.weight)
    with pytest.raises(DownloadError, match="only https"):
        AtomicCheckpointer(Net()).load("http://127.0.0.1:9/zoo/model_final.pth")


class _Opaque:
    pass


def test_a_pth_with_other_objects_or_no_data_says_why_in_plain_words(tmp_path: Path) -> None:
    torch.save({"model": {}, "extra": _Opaque()}, tmp_path / "objects.pth")
    with pytest.raises(CheckpointError, match="objects other than tensors and numbers") as info:
        read_checkpoint(str(tmp_path / "objects.pth"))
    assert "weights_only" not in str(info.value) and "\n" not in str(info.value)  # not torch's advice to turn it off
    (tmp_path / "empty.pth").write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"truncated or not a checkpoint file \(EOFError\)"):
        read_checkpoint(str(tmp_path / "empty.pth"))

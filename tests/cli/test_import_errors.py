"""Imports: silently accepted arguments, unusable MM-Fi keypoint arrays and unwritable outputs are one error line."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from app.backend.capture.synthetic import make_synthetic_recording
from app.cli import main


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if line.startswith("error:")]
    assert len(errors) == 1 and not any("Traceback" in line for line in err), err
    return errors[0]


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory):
    return make_synthetic_recording(tmp_path_factory.mktemp("rec"), num_frames=6)


@pytest.fixture
def mmfi_root(tmp_path: Path, mmfi_frames: list[Path]) -> Path:
    seq = tmp_path / "mmfi" / "E01" / "S01" / "A01"
    (seq / "wifi-csi").mkdir(parents=True)
    (seq / "rgb").mkdir()
    for i, src in enumerate(mmfi_frames[:3], start=1):
        shutil.copyfile(src, seq / "wifi-csi" / f"frame{i:03d}.mat")
    return tmp_path / "mmfi"


@pytest.mark.parametrize("fps", ["inf", "nan", "0", "-20"])
def test_a_frame_rate_that_is_not_a_positive_number_is_refused(fps: str, recording, tmp_path: Path, capsys) -> None:
    code = main(["import-recording", "--video", str(recording.video), "--csi", str(recording.csi),
                 "--out", str(tmp_path / "o"), "--fps", fps, "--quiet"])  # fmt: skip
    assert code == 2 and "fps must be a finite number > 0" in _error_line(capsys)
    assert not (tmp_path / "o" / "dataset.json").exists()


@pytest.mark.parametrize("size", [("0", "0"), ("640", "0"), ("-1", "480"), ("70000", "480")])
def test_import_mmfi_refuses_an_image_size_no_dataset_can_have(size, mmfi_root: Path, tmp_path: Path, capsys) -> None:
    code = main(["import-mmfi", str(mmfi_root), "--out", str(tmp_path / "o"), "--image-size", *size, "--quiet"])
    assert code == 2 and "image size must be two ints in 1..65536" in _error_line(capsys)


@pytest.mark.parametrize(
    "array",
    [np.zeros((0, 17, 2)), np.zeros((17, 0)), np.array([["a", "b"]] * 17), np.zeros((17, 2), np.complex64),
     np.zeros((17, 2), bool), np.zeros((17, 5)), np.zeros((34,))],
    ids=["zero frames", "zero columns", "strings", "complex", "bool", "5 columns", "flat"],
)
def test_unusable_mmfi_keypoint_arrays_leave_the_frame_without_a_person(array, mmfi_root: Path, tmp_path: Path,
                                                                         capsys) -> None:
    rgb = mmfi_root / "E01" / "S01" / "A01" / "rgb"
    np.save(rgb / "frame001.npy", array)
    good = np.column_stack([np.linspace(100, 300, 17), np.linspace(50, 400, 17)])
    np.save(rgb / "frame002.npy", good)
    assert main(["import-mmfi", str(mmfi_root), "--out", str(tmp_path / "o"), "--quiet"]) == 0
    data = json.loads((tmp_path / "o" / "dataset.json").read_text())
    assert len(data["images"]) == 3 and [a["image_id"] for a in data["annotations"]] == [data["images"][1]["id"]]


def test_unwritable_import_outputs_are_one_line(recording, mmfi_root: Path, tmp_path: Path,
                                                make_read_only: Callable[[Path], Path], capsys) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "ro").mkdir()
    ro = make_read_only(tmp_path / "ro")
    for out in (tmp_path / "file", tmp_path / "file" / "sub", ro, ro / "sub"):
        code = main(["import-recording", "--video", str(recording.video), "--csi", str(recording.csi),
                     "--out", str(out), "--quiet"])  # fmt: skip
        assert code == 2 and "cannot write" in _error_line(capsys)
        code = main(["import-mmfi", str(mmfi_root), "--out", str(out), "--quiet"])
        assert code == 2 and "cannot write" in _error_line(capsys)

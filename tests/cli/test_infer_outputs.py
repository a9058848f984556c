"""``infer`` writes every output atomically and checked, and skips bad records by the shared rule."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from app.backend.modeling import build_model
from app.cli import main
from tests.disk import fill_disk
from tests.tiny_config import one_thread, tiny_config


@pytest.fixture(scope="module")
def model_files(tmp_path_factory: pytest.TempPathFactory, demo_dataset_dir: Path) -> tuple[Path, Path]:
    """(config.yaml, weights.pth) of an untrained tiny CSI model (inference needs no trained weights)."""
    folder = tmp_path_factory.mktemp("model")
    cfg = tiny_config(demo_dataset_dir, folder)
    (folder / "config.yaml").write_text(cfg.dump())
    torch.manual_seed(0)
    torch.save({"model": build_model(cfg).state_dict()}, folder / "weights.pth")
    return folder / "config.yaml", folder / "weights.pth"


@pytest.fixture(autouse=True)
def _one_thread():
    with one_thread():
        yield


def _infer(model_files: tuple[Path, Path], inputs: list[str], out: Path, *extra: str) -> int:
    cfg, weights = model_files
    return main(["infer", "--config-file", str(cfg), "--weights", str(weights), "--input", *inputs,
                 "--output", str(out), "--score-threshold", "0", *extra])


def _one_error_line(capsys) -> str:
    """The one ``error:`` line on stderr (the skipped inputs before it are named on lines of their own)."""
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if line.startswith("error:")]
    assert len(errors) == 1 and not any("Traceback" in line for line in err), err
    return errors[0]


def test_a_full_disk_keeps_the_previous_predictions_and_the_progress_honest(
    model_files, demo_dataset_dir: Path, small_tmpfs, capsys
) -> None:
    out = small_tmpfs(128 * 1024)
    (out / "predictions.json").write_text('["the previous run"]')
    fill_disk(out, free=20 * 1024)  # room for about one overlay
    inputs = sorted(str(p) for p in (demo_dataset_dir / "csi" / "val").glob("*.npz"))[:4]
    assert _infer(model_files, inputs, out) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: cannot write") and "No space left on device" in err[0], err
    assert "of 4 overlays were written" in err[0] and "predictions.json was left as it was" in err[0]
    assert "[4/4]" not in captured.out
    assert (out / "predictions.json").read_text() == '["the previous run"]'
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == [".filler"]  # no temporary file left


def test_bad_records_of_a_dataset_json_are_named_counted_and_skipped(model_files, demo_dataset_dir: Path, tmp_path: Path,
                                                                     capsys) -> None:
    data = json.loads((demo_dataset_dir / "val.json").read_text())
    data["images"] = data["images"][:3]
    for img in data["images"]:
        img["file_name"] = str(demo_dataset_dir / img["file_name"])
        img["csi_file"] = str(demo_dataset_dir / img["csi_file"])
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(Path(data["images"][1]["csi_file"]).read_bytes()[:300])
    data["images"][1]["csi_file"] = str(truncated)
    (tmp_path / "ds.json").write_text(json.dumps(data))
    out = tmp_path / "pred"
    assert _infer(model_files, [str(tmp_path / "ds.json")], out) == 0
    captured = capsys.readouterr()
    assert f"infer: skipped {truncated}: " in captured.err and "infer: skipped 1 of 3 records" in captured.err
    assert "wrote 2 overlays" in captured.out and len(list(out.glob("*.png"))) == 2
    assert isinstance(json.loads((out / "predictions.json").read_text()), list)

    data["images"] = [data["images"][1]]
    (tmp_path / "bad.json").write_text(json.dumps(data))
    assert _infer(model_files, [str(tmp_path / "bad.json")], tmp_path / "pred2") == 2
    assert "all 1 records were unusable" in _one_error_line(capsys)


def test_unwritable_output_paths_are_one_line(model_files, demo_dataset_dir: Path, tmp_path: Path,
                                              make_read_only: Callable[[Path], Path], capsys) -> None:
    inputs = sorted(str(p) for p in (demo_dataset_dir / "csi" / "val").glob("*.npz"))[:1]
    (tmp_path / "file").write_text("x")
    assert _infer(model_files, inputs, tmp_path / "file") == 2
    assert "a file is in the way" in _one_error_line(capsys)
    (tmp_path / "ro").mkdir()
    ro = make_read_only(tmp_path / "ro")
    assert _infer(model_files, inputs, ro / "out") == 2
    assert "cannot write" in _one_error_line(capsys)
    assert _infer(model_files, inputs, ro) == 2
    assert "cannot write" in _one_error_line(capsys)


def test_foreign_weights_are_refused(model_files, demo_dataset_dir: Path, tmp_path: Path, capsys) -> None:
    torch.save({"model": {"backbone.nope": torch.zeros(3)}}, tmp_path / "foreign.pth")
    cfg, _ = model_files
    inputs = sorted(str(p) for p in (demo_dataset_dir / "csi" / "val").glob("*.npz"))[:1]
    assert main(["infer", "--config-file", str(cfg), "--weights", str(tmp_path / "foreign.pth"), "--input", *inputs,
                 "--output", str(tmp_path / "o")]) == 2
    line = _one_error_line(capsys)
    assert "0 of" in line and "parameter tensors (0.0 %" in line and "MODEL.MIN_LOADED_FRACTION" in line

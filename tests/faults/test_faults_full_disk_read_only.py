"""A full disk or a read-only output folder: one error line, exit 2, and what was there survives.

Full disks are a small tmpfs filled to a few KiB (root only; skipped with the reason otherwise).
Deeper cases live beside their code: a full disk during a checkpoint save
(tests/backend/test_checkpoint_guards.py), during infer (tests/cli/test_infer_outputs.py),
read-only import outputs (tests/cli/test_import_errors.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from app.backend.capture.synthetic import make_synthetic_recording
from app.backend.config import builtin_config
from app.cli import main
from tests.tiny_config import tiny_opts

DEMO = str(builtin_config("demo_cpu"))


def _one_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in err, err
    return errors[0]


def _digests(folder: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()
            and p.name != ".filler"}


def test_train_on_a_full_disk_keeps_the_previous_runs_files(
    small_tmpfs: Callable[..., Path], demo_dataset_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    disk = small_tmpfs(1 << 20)
    out = disk / "run"
    out.mkdir()
    (out / "config.yaml").write_text("# the previous run's config\n")
    (out / "metrics.json").write_text('{"iteration": 9}\n')
    before = _digests(out)
    from tests.disk import fill_disk

    fill_disk(disk, 2048)
    code = main(["train", "--config-file", DEMO, *tiny_opts(demo_dataset_dir, out, 2)])
    line = _one_error(capsys)
    assert code == 2 and str(out) in line, line
    after = _digests(out)
    assert {k: v for k, v in after.items() if k in before} == before  # nothing of the previous run changed


def test_import_recording_on_a_full_disk_is_one_line_and_leaves_no_partial_dataset(
    small_tmpfs: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = make_synthetic_recording(tmp_path / "rec", num_frames=6)
    disk = small_tmpfs(1 << 20, free=16 << 10)
    out = disk / "dataset"
    code = main(["import-recording", "--video", str(rec.video), "--csi", str(rec.csi), "--out", str(out), "--quiet"])
    line = _one_error(capsys)
    assert code == 2 and ("No space left" in line or "full" in line), line
    for f in out.rglob("*.json"):
        json.loads(f.read_text(encoding="utf-8"))  # every JSON there is complete


@pytest.mark.parametrize("where", ["read-only folder", "read-only parent", "file in the way"])
def test_train_into_an_unwritable_output_dir_is_one_line(
    where: str, tmp_path: Path, make_read_only: Callable[[Path], Path], demo_dataset_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "ro").mkdir()
    (tmp_path / "file").write_text("x")
    out = {"read-only folder": tmp_path / "ro", "read-only parent": tmp_path / "ro" / "run",
           "file in the way": tmp_path / "file" / "run"}[where]
    make_read_only(tmp_path / "ro")
    code = main(["train", "--config-file", DEMO, *tiny_opts(demo_dataset_dir, out, 2)])
    assert code == 2 and "cannot write" in _one_error(capsys)
    assert (tmp_path / "file").read_text() == "x"


def test_demo_data_on_a_full_disk_is_one_line_at_once(
    small_tmpfs: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    disk = small_tmpfs(2 << 20)
    code = main(["demo-data", "--out", str(disk / "demo")])
    line = _one_error(capsys)
    assert code == 2 and str(disk / "demo") in line and "the demo needs about 263 MB" in line, line
    assert not (disk / "demo" / "train.json").exists()

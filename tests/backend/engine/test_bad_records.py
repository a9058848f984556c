"""Bad records are skipped, named and counted the same way in every pass (CSI statistics, training, inference)."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from app.backend.data import build_train_loader, register_datasets
from app.backend.engine.csi_stats import collect_csi_stats
from app.backend.errors import DatasetError
from app.cli import main
from tests.tiny_config import tiny_config, tiny_opts


@pytest.fixture
def demo_copy(demo_dataset_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(demo_dataset_dir, tmp_path / "demo"))


def _train_csi(root: Path) -> list[Path]:
    data = json.loads((root / "train.json").read_text())
    return [root / img["csi_file"] for img in data["images"]]


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:200])


def test_a_truncated_csi_file_is_skipped_by_the_normalisation_pass(demo_copy: Path, tmp_path: Path, caplog) -> None:
    files = _train_csi(demo_copy)
    _truncate(files[3])
    cfg = tiny_config(demo_copy, tmp_path / "out")
    register_datasets(cfg)
    with caplog.at_level(logging.WARNING):
        stats, _ = collect_csi_stats(cfg)
    assert stats is not None and stats.num_samples > 0
    assert f"CSI normalisation: skipped {files[3]}: " in caplog.text
    assert f"CSI normalisation: skipped 1 of {len(files)} records" in caplog.text


def test_a_training_set_of_unreadable_files_is_one_dataset_error_not_a_hang(demo_copy: Path, tmp_path: Path) -> None:
    for f in _train_csi(demo_copy):
        _truncate(f)
    cfg = tiny_config(demo_copy, tmp_path / "out")
    register_datasets(cfg)
    with pytest.raises(DatasetError, match="all 12 records were unusable"):
        collect_csi_stats(cfg)
    cfg = tiny_config(demo_copy, tmp_path / "out", INPUT__CSI__AMP_STD=1.0, INPUT__CSI__PHASE_STD=1.0)
    register_datasets(cfg)
    with pytest.raises(DatasetError, match="samples in a row could not be used"):
        next(iter(build_train_loader(cfg)))


def test_the_training_mapper_names_each_bad_record_once(demo_copy: Path, tmp_path: Path, caplog) -> None:
    files = _train_csi(demo_copy)
    _truncate(files[0])
    cfg = tiny_config(demo_copy, tmp_path / "out", INPUT__CSI__AMP_STD=1.0, INPUT__CSI__PHASE_STD=1.0)
    register_datasets(cfg)
    with caplog.at_level(logging.WARNING):
        it = iter(build_train_loader(cfg))
        for _ in range(30):  # 60 samples of 12 records: the bad one comes up several times
            next(it)
    assert caplog.text.count(f"training data: skipped {files[0]}") == 1


def test_train_on_a_dataset_without_one_usable_record_is_one_error_line(demo_copy: Path, tmp_path: Path, capsys) -> None:
    data = json.loads((demo_copy / "train.json").read_text())
    for img in data["images"]:
        img["width"] = 0  # fails the dataset's own checks
    (demo_copy / "train.json").write_text(json.dumps(data))
    code = main(["train", "--config-file", "resources/configs/demo_cpu.yaml", *tiny_opts(demo_copy, tmp_path / "o", 2)])
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith(("error:", "Traceback"))]
    assert code == 2 and len(err) == 1 and err[0].startswith("error:") and "no usable record" in err[0]

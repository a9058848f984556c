"""``python main.py pseudo-label``: argument parsing and one-line user errors (the full run is in
tests/backend/capture/test_pseudo_label.py)."""

from __future__ import annotations

from app.backend.config import builtin_config
from app.cli import main


def test_pseudo_label_cli_user_errors(tmp_path, demo_dataset_dir, capsys):
    ds = str(demo_dataset_dir / "val.json")
    cfg = str(builtin_config("demo_cpu"))
    code = main(
        [
            "pseudo-label",
            "--config-file",
            cfg,
            "MODEL.WEIGHTS",
            "w.pth",
            "--dataset",
            ds,
            "--out",
            str(tmp_path / "o.json"),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "must be an image model" in err[0]
    code = main(
        [
            "pseudo-label",
            "--config-file",
            cfg,
            "INPUT.MODALITY",
            "image",
            "--dataset",
            ds,
            "--out",
            str(tmp_path / "o.json"),
        ]
    )
    assert code == 2 and "no weights" in capsys.readouterr().err
    code = main(
        [
            "pseudo-label",
            "--config-file",
            cfg,
            "--dataset",
            str(tmp_path / "none.json"),
            "--out",
            str(tmp_path / "o.json"),
        ]
    )
    assert code == 2 and "dataset not found" in capsys.readouterr().err
    code = main(
        ["pseudo-label", "--config-file", cfg, "MODEL.WEIGHTS", "--dataset", ds, "--out", str(tmp_path / "o.json")]
    )
    assert code == 2 and "KEY VALUE pairs" in capsys.readouterr().err
    assert not (tmp_path / "o.json").exists()

"""``python main.py validate-dataset`` and ``python main.py demo-data``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main

REPO = Path(__file__).resolve().parents[2]


def _copy_demo(demo_dataset_dir: Path, dst: Path) -> dict:
    shutil.copytree(demo_dataset_dir, dst)
    return json.loads((dst / "train.json").read_text())


def test_validate_reports_every_problem_with_ids(demo_dataset_dir: Path, tmp_path: Path, capsys) -> None:
    root = tmp_path / "ds"
    data = _copy_demo(demo_dataset_dir, root)
    imgs, anns = data["images"], data["annotations"]
    imgs[0]["file_name"] = "images/train/missing.jpg"
    (root / imgs[1]["file_name"]).write_bytes(b"not an image")
    (root / imgs[2]["csi_file"]).write_bytes(b"PK\x03\x04 truncated zip")
    a = {k: anns[k] for k in range(8)}
    a[0]["bbox"] = [300.0, 200.0, 80.0, 90.0]
    a[1]["keypoints"] = a[1]["keypoints"][:-3]
    a[2]["keypoints"][2] = 3
    a[3]["dp_U"] = a[3]["dp_U"][:-1]
    a[4]["dp_I"][5] = 25
    a[5]["dp_V"][0] = 1.5
    a[6]["dp_masks"][0] = {"size": [256, 256], "counts": "0000000000!"}
    a[7]["dp_masks"][13] = {"size": [256, 256], "counts": [100, 5]}
    (root / "train.json").write_text(json.dumps(data))

    assert main(["validate-dataset", str(root / "train.json")]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()

    def line_for(needle: str, image_id: int, ann_id: int | None = None) -> str:
        where = f"image {image_id}:" if ann_id is None else f"image {image_id}, annotation {ann_id}:"
        hits = [ln for ln in lines if needle in ln and ln.startswith(where)]
        assert hits, f"no problem line with {needle!r} for image {image_id} / annotation {ann_id} in:\n{out}"
        return hits[0]

    line_for("not found", imgs[0]["id"])
    line_for("cannot be decoded as an image", imgs[1]["id"])
    line_for("csi_file", imgs[2]["id"])
    line_for("outside", a[0]["image_id"], a[0]["id"])
    line_for("17 (x, y, v) triples", a[1]["image_id"], a[1]["id"])
    line_for("visibility", a[2]["image_id"], a[2]["id"])
    line_for("unequal lengths", a[3]["image_id"], a[3]["id"])
    line_for("dp_I", a[4]["image_id"], a[4]["id"])
    line_for("dp_U/dp_V", a[5]["image_id"], a[5]["id"])
    line_for("broken RLE", a[6]["image_id"], a[6]["id"])
    line_for("broken RLE", a[7]["image_id"], a[7]["id"])
    assert "12 images" in lines[-1]

    assert main(["validate-dataset", str(root / "train.json"), "--json", "--no-decode"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert not doc["ok"] and {"image_id", "ann_id", "message"} <= set(doc["problems"][0])
    assert not any("cannot be decoded" in p["message"] for p in doc["problems"])


def test_validate_clean_and_malformed_files(demo_dataset_dir: Path, tmp_path: Path, capsys) -> None:
    assert main(["validate-dataset", str(demo_dataset_dir / "val.json")]) == 0
    assert capsys.readouterr().out.strip().endswith("OK")
    bad = tmp_path / "bad.json"
    bad.write_text('{"images": [{"id": 1,')
    assert main(["validate-dataset", str(bad)]) == 1
    assert "not valid JSON" in capsys.readouterr().out
    assert main(["validate-dataset", str(tmp_path / "none.json")]) == 1
    assert "not found" in capsys.readouterr().out


def test_demo_data_cli_and_if_missing(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    cmd = [sys.executable, "main.py", "demo-data", "--out", str(out), "--train", "2", "--val", "1", "--seed", "4"]
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "wrote 2 train + 1 val" in res.stdout
    assert len(json.loads((out / "train.json").read_text())["images"]) == 2
    stamp = (out / "train.json").stat().st_mtime_ns
    sizes = ["--train", "2", "--val", "1", "--seed", "4"]
    assert main(["demo-data", "--out", str(out), "--if-missing", *sizes]) == 0
    assert (out / "train.json").stat().st_mtime_ns == stamp
    (out / "csi" / "val" / "000000.npz").unlink()  # incomplete: regenerated
    assert main(["demo-data", "--out", str(out), "--if-missing", *sizes]) == 0
    assert (out / "csi" / "val" / "000000.npz").is_file()
    # made at other sizes (an older default): made again at the sizes asked for
    assert main(["demo-data", "--out", str(out), "--if-missing", "--train", "3", "--val", "1"]) == 0
    assert len(json.loads((out / "train.json").read_text())["images"]) == 3


def test_demo_data_default_goes_to_user_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert main(["demo-data", "--train", "1", "--val", "1"]) == 0
    assert (tmp_path / "xdg" / "wifi-densepose-studio" / "demo" / "val.json").is_file()


def test_demo_data_bad_arguments(tmp_path: Path, capsys) -> None:
    assert main(["demo-data", "--train", "-1"]) == 2
    assert "error:" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    assert main(["demo-data", "--out", str(tmp_path / "file")]) == 2

"""The synthetic demo dataset: layout, determinism, chart symmetry, atomic writing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.backend.data import demo_body as body
from app.backend.data.demo import demo_dataset_ready, ensure_demo_dataset, generate_demo_dataset
from app.backend.data.rle import decode_dp_masks
from app.backend.data.validate import validate_dataset
from app.backend.errors import WriteError
from app.backend.structures.body import FINE_TO_COARSE, PART_FLIP


def test_demo_layout_and_content(demo_dataset_dir: Path) -> None:
    train = json.loads((demo_dataset_dir / "train.json").read_text())
    val = json.loads((demo_dataset_dir / "val.json").read_text())
    assert len(train["images"]) == 12 and len(val["images"]) == 6
    assert demo_dataset_ready(demo_dataset_dir)
    per_image: dict[int, int] = {}
    for ann in train["annotations"]:
        per_image[ann["image_id"]] = per_image.get(ann["image_id"], 0) + 1
        if "dp_I" in ann:
            assert 20 <= len(ann["dp_I"]) <= 100
            segm = decode_dp_masks(ann["dp_masks"])
            # every DensePose point lies on its coarse part in the mask
            xs = np.clip(np.array(ann["dp_x"]).astype(int), 0, 255)
            ys = np.clip(np.array(ann["dp_y"]).astype(int), 0, 255)
            coarse = np.array(FINE_TO_COARSE)[ann["dp_I"]]
            assert np.mean(segm[ys, xs] == coarse) > 0.9
    assert set(per_image.values()) <= {1, 2, 3}
    assert all(len(a["keypoints"]) == 51 for a in train["annotations"])
    img0 = train["images"][0]
    assert (demo_dataset_dir / img0["file_name"]).is_file() and (demo_dataset_dir / img0["csi_file"]).is_file()
    with np.load(demo_dataset_dir / img0["csi_file"]) as z:
        assert z["amplitude"].shape == (5, 30, 3, 3) and z["phase"].dtype == np.float32
    assert validate_dataset(demo_dataset_dir / "train.json").ok


def test_demo_is_deterministic_per_seed(tmp_path: Path, demo_dataset_dir: Path) -> None:
    generate_demo_dataset(tmp_path / "a", num_train=3, num_val=1, seed=0)
    generate_demo_dataset(tmp_path / "b", num_train=3, num_val=1, seed=1)
    a = json.loads((tmp_path / "a" / "train.json").read_text())
    ref = json.loads((demo_dataset_dir / "train.json").read_text())
    # the first frames of a split do not depend on how many frames follow
    assert a["annotations"] == [x for x in ref["annotations"] if x["image_id"] <= 3]
    assert (tmp_path / "a/images/train/000001.jpg").read_bytes() == (
        demo_dataset_dir / "images/train/000001.jpg"
    ).read_bytes()
    with np.load(tmp_path / "a/csi/train/000002.npz") as x, np.load(demo_dataset_dir / "csi/train/000002.npz") as y:
        assert np.array_equal(x["phase"], y["phase"])
    b = json.loads((tmp_path / "b" / "train.json").read_text())
    assert b["annotations"] != a["annotations"]


def test_parallel_generation_writes_the_same_dataset(tmp_path: Path, demo_dataset_dir: Path) -> None:
    generate_demo_dataset(tmp_path / "p", num_train=5, num_val=2, seed=0, workers=2)
    ref = json.loads((demo_dataset_dir / "train.json").read_text())
    par = json.loads((tmp_path / "p" / "train.json").read_text())
    assert par["images"] == ref["images"][:5]
    assert par["annotations"] == [x for x in ref["annotations"] if x["image_id"] <= 5]
    for name in ("images/train/000004.jpg", "images/val/000001.jpg"):
        assert (tmp_path / "p" / name).read_bytes() == (demo_dataset_dir / name).read_bytes()
    with np.load(tmp_path / "p/csi/train/000004.npz") as x, np.load(demo_dataset_dir / "csi/train/000004.npz") as y:
        assert np.array_equal(x["amplitude"], y["amplitude"]) and np.array_equal(x["phase"], y["phase"])
    assert demo_dataset_ready(tmp_path / "p")


def test_charts_are_mirror_symmetric() -> None:
    """Rendering the mirrored person == mirroring the rendering with PART_FLIP applied (U, V kept)."""
    rng = np.random.default_rng(3)
    width, height = 160, 120
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64) + 0.5
    for _ in range(4):
        p = body.sample_person(rng, width, height)
        lab, u, v = body.render_person(body.body_parts(p), xs, ys)
        lab_m, u_m, v_m = body.render_person(body.body_parts(p.mirrored(width)), xs, ys)
        flipped = np.array(PART_FLIP, dtype=np.uint8)[lab[:, ::-1]]
        assert set(np.unique(lab)) - {0}, "person not in frame"
        agree = flipped == lab_m
        assert agree.mean() > 0.998
        on = agree & (lab_m > 0)
        assert np.abs(u[:, ::-1][on] - u_m[on]).max() < 1e-4
        assert np.abs(v[:, ::-1][on] - v_m[on]).max() < 1e-4


def test_demo_uses_all_24_parts(demo_dataset_dir: Path) -> None:
    train = json.loads((demo_dataset_dir / "train.json").read_text())
    parts = {i for a in train["annotations"] for i in a.get("dp_I", [])}
    assert len(parts) >= 20


def test_interrupted_generation_is_not_accepted(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    generate_demo_dataset(out, num_train=2, num_val=1, seed=0)
    assert demo_dataset_ready(out)
    (out / "val.json").unlink()  # what an interrupted regeneration leaves behind
    assert not demo_dataset_ready(out)
    (out / "stray.txt").write_text("user file")
    generate_demo_dataset(out, num_train=2, num_val=1, seed=0)
    assert demo_dataset_ready(out)
    assert (out / "stray.txt").read_text() == "user file"
    assert not list(out.glob(".demo-tmp-*"))


def test_a_disk_without_room_is_refused_before_the_first_frame(small_tmpfs, demo_dataset_dir: Path) -> None:
    disk = small_tmpfs(4 << 20)
    with pytest.raises(WriteError, match=r"cannot write .*demo: No space left on device: the demo needs about 5 MB"):
        generate_demo_dataset(disk / "demo", num_train=100, num_val=2)
    assert list((disk / "demo").iterdir()) == []


def test_a_disk_that_fills_up_on_the_way_keeps_the_previous_demo(
    small_tmpfs, demo_dataset_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from app.backend.data import demo

    disk = small_tmpfs(3 << 20)
    shutil.copytree(demo_dataset_dir, disk / "demo")
    before = sorted(p.relative_to(disk) for p in (disk / "demo").rglob("*"))
    monkeypatch.setattr(demo, "BYTES_PER_FRAME", 1)  # let the up-front check pass: the disk fills mid-way
    with pytest.raises(WriteError, match=r"cannot write .*demo: No space left on device"):
        generate_demo_dataset(disk / "demo", num_train=200, num_val=2)
    assert sorted(p.relative_to(disk) for p in (disk / "demo").rglob("*")) == before
    assert demo_dataset_ready(disk / "demo")


def test_demo_data_of_another_generator_version_is_made_again(tmp_path: Path) -> None:
    """Version 1 CSI could not tell which way people face: such data must not be reused."""
    from app.backend.data.demo import GENERATOR_VERSION

    out = tmp_path / "demo"
    generate_demo_dataset(out, num_train=2, num_val=1, seed=0)
    for split in ("train", "val"):
        path = out / f"{split}.json"
        data = json.loads(path.read_text())
        data["info"]["generator_version"] = GENERATOR_VERSION - 1
        path.write_text(json.dumps(data))
    assert not demo_dataset_ready(out)
    generate_demo_dataset(out, num_train=2, num_val=1, seed=0)
    assert demo_dataset_ready(out)
    assert json.loads((out / "val.json").read_text())["info"]["generator_version"] == GENERATOR_VERSION


def test_train_uses_a_demo_of_other_sizes_as_it_is_and_says_so(tmp_path: Path, capsys) -> None:
    """Only ``demo-data`` remakes a complete demo of other split sizes; ``train`` never overwrites one."""
    from app.backend.config import CONFIGS_DIR, load_config
    from app.cli.cmd_train import ensure_demo_data

    out = tmp_path / "demo"
    generate_demo_dataset(out, num_train=2, num_val=1, seed=0)
    assert demo_dataset_ready(out) and demo_dataset_ready(out, 2, 1)
    assert not demo_dataset_ready(out, 3, 1) and not demo_dataset_ready(out, 2, 2)
    before = (out / "train.json").stat().st_mtime_ns
    sizes = ["DATASETS.DEMO.NUM_TRAIN", "3", "DATASETS.DEMO.NUM_VAL", "1"]
    ensure_demo_data(load_config(CONFIGS_DIR / "demo_cpu.yaml", ["DATASETS.DEMO.ROOT", str(out), *sizes]))
    assert (out / "train.json").stat().st_mtime_ns == before
    assert "does not have the 3 train + 1 val frames" in capsys.readouterr().out
    sizes = ["DATASETS.DEMO.NUM_TRAIN", "2", "DATASETS.DEMO.NUM_VAL", "1"]
    ensure_demo_data(load_config(CONFIGS_DIR / "demo_cpu.yaml", ["DATASETS.DEMO.ROOT", str(out), *sizes]))
    assert (out / "train.json").stat().st_mtime_ns == before and "note:" not in capsys.readouterr().out
    (out / "val.json").unlink()  # incomplete: made again at the config's sizes
    ensure_demo_data(load_config(CONFIGS_DIR / "demo_cpu.yaml", ["DATASETS.DEMO.ROOT", str(out), *sizes]))
    assert demo_dataset_ready(out, 2, 1)


def test_ensure_demo_dataset_is_the_one_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Kept when complete (other sizes too, unless asked to remake them); made when absent or broken."""
    out, said = tmp_path / "demo", []
    made = ensure_demo_dataset(out, 2, 1, seed=0, workers=1, log=said.append)
    assert made.state == "generated" and made.root == out and made.seconds > 0 and demo_dataset_ready(out, 2, 1)
    assert said == [f"generating the demo dataset (2 train + 1 val frames) in {out} ..."]
    stamp = (out / "train.json").stat().st_mtime_ns
    assert ensure_demo_dataset(out, 2, 1, workers=1).state == "ready"
    assert ensure_demo_dataset(out, 3, 1, workers=1).state == "other_sizes"  # e.g. train's config asks for 3
    assert (out / "train.json").stat().st_mtime_ns == stamp  # nothing was rewritten
    assert ensure_demo_dataset(out, 3, 1, workers=1, remake="other_sizes").state == "generated"  # demo-data --if-missing
    assert demo_dataset_ready(out, 3, 1)
    assert ensure_demo_dataset(out, 3, 1, workers=1, remake="always").state == "generated"  # demo-data
    next(out.glob("csi/train/*.npz")).unlink()  # incomplete
    assert ensure_demo_dataset(out, 1, 1, workers=1).state == "generated" and demo_dataset_ready(out, 1, 1)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert ensure_demo_dataset("", 1, 1, workers=1).root == tmp_path / "data" / "wifi-densepose-studio" / "demo"
    with pytest.raises(ValueError, match="remake"):
        ensure_demo_dataset(out, remake="sometimes")


def test_chart_figures_show_every_part_with_its_charts() -> None:
    views = body.chart_figures(200)
    assert [name for name, *_ in views] == ["front", "back"]
    (_, front, fu, fv), (_, back, bu, bv) = views
    assert front.shape == back.shape == (200, 120) and front.dtype == np.uint8
    assert set(np.unique(front)) | set(np.unique(back)) == set(range(25))  # every part, and background
    assert 2 in front and 2 not in back and 1 in back and 1 not in front  # torso front / back
    for labels, u, v in ((front, fu, fv), (back, bu, bv)):
        on = labels > 0
        assert u[on].min() >= 0 and u[on].max() <= 1 and v[on].min() >= 0 and v[on].max() <= 1
    # U runs as CHART_AXES says: hips -> neck on the torso (up the image), hip -> knee on the thigh (down)
    rows = np.nonzero(front == 2)[0]
    assert np.corrcoef(rows, fu[front == 2])[0, 1] < -0.9
    thigh = front == 9
    assert np.corrcoef(np.nonzero(thigh)[0], fu[thigh])[0, 1] > 0.9
    assert body.CHART_AXES[2][0] == "hips → neck" and body.CHART_AXES[9][0] == "hip → knee"
    assert sorted(body.CHART_AXES) == list(range(1, 25))

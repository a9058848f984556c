"""Config values are checked when a config loads: types, ranges, file size, _BASE_ chains (one ConfigError line)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app.backend.config import ConfigError, builtin_config, load_config
from app.backend.config_checks import RANGE_RULES
from app.cli import main

DEMO = str(builtin_config("demo_cpu"))


@pytest.mark.parametrize(
    "key, value",
    [
        ("SOLVER.CHECKPOINT_PERIOD", "0"),
        ("SOLVER.IMS_PER_BATCH", "0"),
        ("SOLVER.MAX_ITER", "0"),
        ("SOLVER.MAX_ITER", "-5"),
        ("MODEL.MTN.OUTPUT_SIZE", "[0, 0]"),
        ("MODEL.MTN.OUTPUT_SIZE", "[64]"),
        ("INPUT.CSI.PACKETS_PER_SAMPLE", "0"),
        ("SOLVER.BASE_LR", "-0.1"),
        ("SOLVER.MTN_PRETRAIN.ITERS", "-1"),
        ("MODEL.MIN_LOADED_FRACTION", "1.5"),
        ("INPUT.CSI.MEDIAN_KERNEL", "[0, 3]"),
        ("SOLVER.STEPS", "(-1,)"),
        ("DATALOADER.NUM_WORKERS", "-1"),
        ("SOLVER.MAX_ITER", "9" * 400),  # was accepted: a run that never ends, int64 overflow in torch
        ("SOLVER.STEPS", f"({2**64},)"),
        ("MODEL.WEIGHTS", "ftp://example.invalid/w.pkl"),  # was refused only when training reached it
    ],
)
def test_out_of_range_overrides_are_refused_naming_the_key(key: str, value: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")) as info:
        load_config(DEMO, [key, value])
    assert "\n" not in str(info.value)


def test_a_nan_in_a_yaml_file_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "nan.yaml"
    f.write_text(f"_BASE_: {DEMO}\nSOLVER:\n  BASE_LR: .nan\n")
    with pytest.raises(ConfigError, match="SOLVER.BASE_LR must be a finite number"):
        load_config(f)


def test_every_rule_names_a_real_key_and_the_defaults_pass() -> None:
    from app.backend.config import flatten, get_cfg

    keys = flatten(get_cfg())
    assert {k for k, _, _ in RANGE_RULES} <= set(keys)
    for name in ("demo_cpu", "wifi_densepose_R50_FPN_paper", "image_densepose_R50_FPN_s1x"):
        load_config(builtin_config(name))  # no error


def test_a_huge_yaml_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    f = tmp_path / "big.yaml"
    f.write_text("SOLVER:\n  BASE_LR: 0.1\n" + "# padding\n" * 300_000)
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match="bytes"):
        load_config(f)
    assert time.perf_counter() - t0 < 1.0


@pytest.mark.parametrize(
    "text, message",
    [
        ("_BASE_: self.yaml\n", "_BASE_"),  # a file that names itself
        ("a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
         + "".join(f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
                   for p, c in zip("abcdefgh", "bcdefghi")), "values"),  # a billion laughs by aliases
        ("a: " + "[" * 60000 + "]" * 60000, "nested"),  # libyaml crashes on this
        ("- 1\n- 2\n", "mapping"),
        ("SOLVER: {BASE_LR: 2020-01-01}\n", "SOLVER.BASE_LR"),
        ("_BASE_: http://example.com/base.yaml\n", "https"),
        ("_BASE_: file:///etc/hostname\n", "https"),
    ],
)
def test_malformed_yaml_is_one_config_error(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "self.yaml"
    f.write_text(text)
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match=message) as info:
        load_config(f)
    assert "\n" not in str(info.value)
    assert time.perf_counter() - t0 < 5.0


def test_base_chains_still_merge_in_order(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(f"_BASE_: {DEMO}\nSOLVER:\n  BASE_LR: 0.5\n  MAX_ITER: 7\n")
    (tmp_path / "b.yaml").write_text("_BASE_: a.yaml\nSOLVER:\n  MAX_ITER: 9\n")
    cfg = load_config(tmp_path / "b.yaml")
    assert (cfg.SOLVER.BASE_LR, cfg.SOLVER.MAX_ITER) == (0.5, 9)
    assert cfg.MODEL.MTN.OUTPUT_SIZE == load_config(DEMO).MODEL.MTN.OUTPUT_SIZE


@pytest.mark.parametrize("extra", [["SOLVER.MAX_ITER", "-5"], ["SOLVER.CHECKPOINT_PERIOD", "0"]])
def test_train_refuses_them_in_one_line_with_exit_2(extra: list[str], tmp_path: Path, capsys) -> None:
    code = main(["train", "--config-file", DEMO, "OUTPUT_DIR", str(tmp_path / "o"), *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error:") and extra[0] in err[0]
    assert not (tmp_path / "o").exists()  # refused before anything was written

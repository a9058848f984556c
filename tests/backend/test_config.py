"""The config system: our keys on top of detectron2's, YAMLs with _BASE_, clear errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from app.backend.config import (
    CONFIG_HELP,
    CONFIGS_DIR,
    ConfigError,
    config_help,
    diff_from_default,
    flatten,
    get_cfg,
    load_config,
)
from tests.conftest import REPO_ROOT

YAMLS = sorted(p.name for p in CONFIGS_DIR.glob("*.yaml"))


def test_every_added_key_has_help_and_exists():
    cfg = get_cfg()
    keys = flatten(cfg)
    assert len(CONFIG_HELP) > 40
    for key, text in CONFIG_HELP.items():
        assert key in keys, key
        assert text and "\n" not in text, key


def test_paper_loss_weights_are_defaults():
    cfg = get_cfg()
    assert cfg.MODEL.LOSS_WEIGHTS.DENSEPOSE == 0.6
    assert cfg.MODEL.LOSS_WEIGHTS.KEYPOINT == 0.3
    assert cfg.MODEL.LOSS_WEIGHTS.TRANSFER == 0.1


@pytest.mark.parametrize("name", YAMLS)
def test_yaml_merges(name):
    cfg = load_config(CONFIGS_DIR / name)
    assert cfg.MODEL.META_ARCHITECTURE == "CombinedModel"
    assert cfg.MODEL.ROI_HEADS.NUM_CLASSES == 1


def test_builtin_names_resolve_in_the_apps_own_configs(tmp_path):
    from app.backend.config_file import builtin_name, read_config_chain

    assert builtin_name(CONFIGS_DIR / "demo_cpu.yaml") == "builtin://demo_cpu.yaml"
    assert builtin_name(tmp_path / "demo_cpu.yaml") is None
    mine = tmp_path / "anywhere" / "mine.yaml"
    mine.parent.mkdir()
    mine.write_text("_BASE_: builtin://demo_cpu.yaml\nSOLVER:\n  MAX_ITER: 7\n")
    cfg, demo = load_config(mine), load_config(CONFIGS_DIR / "demo_cpu.yaml")
    assert cfg.SOLVER.MAX_ITER == 7 and cfg.MODEL.MTN.OUTPUT_SIZE == demo.MODEL.MTN.OUTPUT_SIZE
    assert load_config("builtin://demo_cpu.yaml") == demo  # --config-file builtin://NAME.yaml too
    assert read_config_chain("builtin://demo_cpu.yaml")["MODEL"]["MTN"]["OUTPUT_SIZE"] == [128, 128]
    for bad, why in [("builtin://../demo_cpu.yaml", "not a built-in config name"),
                     ("builtin://configs/demo_cpu.yaml", "not a built-in config name"),
                     ("builtin://nope.yaml", r"no built-in config 'nope.yaml' \(this app has: .*demo_cpu.yaml")]:
        mine.write_text(f"_BASE_: {bad}\n")
        with pytest.raises(ConfigError, match=f"{mine}: _BASE_ .*{why}"):
            load_config(mine)


def test_paper_config_schedule():
    cfg = load_config(CONFIGS_DIR / "wifi_densepose_R50_FPN_paper.yaml")
    assert tuple(cfg.MODEL.MTN.OUTPUT_SIZE) == (720, 1280)
    assert cfg.SOLVER.IMS_PER_BATCH == 16
    assert pytest.approx(1e-5) == cfg.SOLVER.BASE_LR * cfg.SOLVER.WARMUP_FACTOR
    assert cfg.SOLVER.WARMUP_ITERS == 2000
    assert tuple(cfg.SOLVER.STEPS)[:2] == (48000, 96000)
    assert cfg.SOLVER.MAX_ITER == 145000


def test_unknown_key_and_bad_type_are_named():
    with pytest.raises(ConfigError, match="unknown config key 'SOLVER.NOPE'"):
        load_config(None, ["SOLVER.NOPE", "1"])
    with pytest.raises(ConfigError, match=r"SOLVER.MAX_ITER: expected int"):
        load_config(None, ["SOLVER.MAX_ITER", "many"])


def test_bad_yaml_file_errors(tmp_path):
    bad_key = tmp_path / "bad_key.yaml"
    bad_key.write_text("MODEL:\n  MTN:\n    WIDTHS: [1, 2]\n")
    with pytest.raises(ConfigError, match="MODEL.MTN.WIDTHS"):
        load_config(bad_key)
    bad_type = tmp_path / "bad_type.yaml"
    bad_type.write_text("SOLVER:\n  MAX_ITER: lots\n")
    with pytest.raises(ConfigError, match="SOLVER.MAX_ITER"):
        load_config(bad_type)
    garbage = tmp_path / "garbage.yaml"
    garbage.write_bytes(b"\x00\xff: [unclosed")
    with pytest.raises(ConfigError):
        load_config(garbage)


def test_python_tags_in_yaml_never_run(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.yaml"
    evil.write_text(f"SOLVER:\n  BASE_LR: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(ConfigError):
        load_config(evil)
    assert not marker.exists()


def test_diff_lists_only_changes():
    cfg = get_cfg()
    cfg.SOLVER.MAX_ITER = 7
    assert diff_from_default(cfg) == {"SOLVER.MAX_ITER": 7}


def test_help_for_ours_and_detectron2s():
    assert "MTN" in config_help("MODEL.MTN.NAME") or "translation" in config_help("MODEL.MTN.NAME")
    assert config_help("MODEL.RPN.IN_FEATURES")
    with pytest.raises(ConfigError):
        config_help("NOPE.KEY")


def test_every_key_has_a_real_one_line_help():
    """No key falls back to a placeholder or to its node's comment: detectron2's comment for the key,
    else a written help (app/backend/config_help.py)."""
    from app.backend.config import CONFIG_HELP, config_helps
    from app.backend.config_help import LEAD_HELP, WRITTEN_HELP, detectron2_comments

    keys = list(flatten(get_cfg()))
    helps = config_helps(keys)
    assert helps == {k: config_help(k) for k in keys}
    placeholder = [k for k, text in helps.items() if len(text) < 12 or "defaults.py" in text or "\n" in text]
    assert placeholder == []
    comments = detectron2_comments()
    assert len(comments) > 100  # read from the installed detectron2
    assert helps["SOLVER.IMS_PER_BATCH"] == comments["SOLVER.IMS_PER_BATCH"]  # detectron2's own words first
    # the written table covers exactly the keys detectron2 leaves without a comment
    undocumented = {k for k in keys if k not in CONFIG_HELP and k not in comments}
    assert undocumented == set(WRITTEN_HELP) | (set(LEAD_HELP) - set(comments))
    assert set(LEAD_HELP) <= set(keys) and set(WRITTEN_HELP) <= set(keys)
    assert helps["MODEL.RETINANET.FOCAL_LOSS_GAMMA"].startswith("Focal loss gamma")  # not "Loss parameters"
    assert helps["MODEL.FPN.NORM"] == 'Normalization of the FPN\'s convolutions. Options: "" (no norm), "GN"'


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("name", YAMLS)
def test_cli_config_dump(name):
    r = _cli("config", "dump", "--config-file", f"resources/configs/{name}")
    assert r.returncode == 0, r.stderr
    assert "META_ARCHITECTURE: CombinedModel" in r.stdout


def test_cli_errors_are_one_line():
    r = _cli("config", "dump", "--config-file", "resources/configs/demo_cpu.yaml", "SOLVER.MAX_ITER", "x")
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "SOLVER.MAX_ITER" in r.stderr and "Traceback" not in r.stderr
    r = _cli("config", "diff", "--config-file", "missing.yaml")
    assert r.returncode == 2 and "not found" in r.stderr


def test_cli_help_and_diff():
    r = _cli("config", "help", "MODEL.LOSS_WEIGHTS.DENSEPOSE")
    assert r.returncode == 0 and "0.6" in r.stdout
    r = _cli("config", "diff", "--config-file", "resources/configs/demo_cpu.yaml")
    assert r.returncode == 0 and "MODEL.RESNETS.DEPTH: 18" in r.stdout

"""Projects on disk and the config view: edits round-trip through YAML with _BASE_ kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from app.backend.config import ConfigError, builtin_config, load_config
from app.ui.config.config_io import read_base_path
from app.ui.shell.project import PROJECT_FILE, Project, ProjectError


def test_project_create_load_and_refusals(tmp_path: Path) -> None:
    p = Project.create(tmp_path / "p", builtin_config("demo_cpu"), overrides={"SOLVER.MAX_ITER": 7})
    again = Project.load(tmp_path / "p" / PROJECT_FILE)
    assert again.root == p.root and again.config_path.is_file()
    doc = yaml.safe_load(again.config_path.read_text())
    assert read_base_path(again.config_path) == builtin_config("demo_cpu").resolve()
    assert doc["_BASE_"] == "builtin://demo_cpu.yaml"  # follows the app that opens it, wherever it lies
    assert doc["SOLVER"] == {"MAX_ITER": 7}
    assert str(again.output_path) == load_config(again.config_path).OUTPUT_DIR
    with pytest.raises(ProjectError):
        Project.create(tmp_path / "p", builtin_config("demo_cpu"))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / PROJECT_FILE).write_text(json.dumps({"format": "other"}))
    with pytest.raises(ProjectError, match="not a"):
        Project.load(tmp_path / "bad")
    with pytest.raises(ProjectError, match="no project"):
        Project.load(tmp_path / "nothing")


def test_a_moved_project_keeps_its_bases(tmp_path: Path) -> None:
    import shutil

    mine = tmp_path / "configs" / "mine.yaml"
    mine.parent.mkdir()
    mine.write_text("_BASE_: builtin://demo_cpu.yaml\nSOLVER:\n  MAX_ITER: 11\n")
    Project.create(tmp_path / "a" / "p1", builtin_config("demo_cpu"), overrides={"SOLVER.MAX_ITER": 7})
    on_mine = Project.create(tmp_path / "a" / "p2", mine)
    assert yaml.safe_load(on_mine.config_path.read_text())["_BASE_"] == "../../configs/mine.yaml"  # relative
    shutil.move(tmp_path / "a", tmp_path / "b" / "c")
    assert load_config(tmp_path / "b" / "c" / "p1" / "config.yaml").SOLVER.MAX_ITER == 7
    with pytest.raises(ConfigError, match="mine.yaml"):  # a user's base moves with the user's folders only
        load_config(tmp_path / "b" / "c" / "p2" / "config.yaml")


def test_config_edit_round_trips_through_yaml(qtbot, qapp_settings, tmp_path: Path) -> None:
    from app.ui.config.config_view import ConfigView

    project = Project.create(tmp_path / "p", builtin_config("demo_cpu"))
    view = ConfigView()
    qtbot.addWidget(view)
    view.load(project.config_path)
    assert len(view.form.values()) > 200
    # registry names are offered as choices: ours (registered by app.backend.modeling) and detectron2's
    assert {"CombinedModel", "GeneralizedRCNN"} <= set(view.form.choices["MODEL.META_ARCHITECTURE"])
    assert not view.form.set_text("MODEL.META_ARCHITECTURE", "NoSuchArchitecture")  # refused inline
    assert view.form.set_text("SOLVER.BASE_LR", "0.005")
    assert view.form.set_text("MODEL.MTN.OUTPUT_SIZE", "[96, 128]")
    assert not view.form.set_text("SOLVER.MAX_ITER", "many")  # refused inline
    assert "SOLVER.BASE_LR" in view.diff_view.toPlainText()
    assert view.is_modified()
    assert view.save()
    doc = yaml.safe_load(project.config_path.read_text())
    assert doc["_BASE_"].endswith("demo_cpu.yaml")
    assert doc["SOLVER"] == {"BASE_LR": 0.005}
    assert doc["MODEL"] == {"MTN": {"OUTPUT_SIZE": [96, 128]}}
    cfg = load_config(project.config_path)
    assert cfg.SOLVER.BASE_LR == 0.005 and list(cfg.MODEL.MTN.OUTPUT_SIZE) == [96, 128]
    assert cfg.MODEL.RESNETS.DEPTH == 18  # from the base chain
    # reload: same values, nothing modified; undo of a new edit restores the saved value
    view2 = ConfigView()
    qtbot.addWidget(view2)
    view2.load(project.config_path)
    assert view2.form.values() == view.form.values()
    assert not view2.is_modified()
    view2.set_value("SOLVER.BASE_LR", 0.1)
    view2.form.undo_stack.undo()
    assert view2.current_config().SOLVER.BASE_LR == 0.005


def test_config_view_tooltips_cover_every_key(qtbot, qapp_settings, tmp_path: Path) -> None:
    from app.ui.config.config_view import ConfigView

    project = Project.create(tmp_path / "p", builtin_config("demo_cpu"))
    view = ConfigView()
    qtbot.addWidget(view)
    view.load(project.config_path)
    tips = {k: view.form._rows[k][0].toolTip() for k in view.form.values()}
    assert all(tips.values())
    generic = [k for k, tip in tips.items() if "see detectron2/config/defaults.py" in tip]
    assert generic == []  # every detectron2 key has a help of its own
    assert "'cuda', 'cuda:N' or 'cpu'" in tips["MODEL.DEVICE"]
    assert "MTN output" in view.form._rows["MODEL.MTN.OUTPUT_SIZE"][0].toolTip()

"""A hostile project file is one ProjectError and, in the app, one error dialog (never an escaped exception)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.ui.shell.project import PROJECT_FILE, Project, ProjectError

NESTED = '{"format": ' + "[" * 100_000 + "]" * 100_000 + "}"


@pytest.mark.parametrize(
    "text, message",
    [
        (NESTED, "nested too deeply"),
        ('{"format": ' + "1" * 5000 + "}", "cannot read project file"),
        ("\ufeff\x00\x89PNG", "cannot read project file"),
        ("[]", "not a"),
        ('{"format": "wifi-densepose-studio-project/1", "name": NaN}', "NaN is not JSON"),
        ('{"format": "wifi-densepose-studio-project/1", "output_dir": {}}', "'output_dir' must be a string"),
        ('{"format": "wifi-densepose-studio-project/1", "config": 7}', "'config' must be a string"),
    ],
    ids=["deeply nested", "5000-digit int", "binary", "a list", "NaN", "output_dir a dict", "config an int"],
)
def test_hostile_project_files_are_one_project_error(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / PROJECT_FILE).write_text(text, encoding="utf-8")
    with pytest.raises(ProjectError, match=message) as info:
        Project.load(tmp_path)
    assert "\n" not in str(info.value) and "PNG" not in str(info.value)


def test_a_huge_project_file_is_refused_before_it_is_parsed(tmp_path: Path) -> None:
    with open(tmp_path / PROJECT_FILE, "w") as f:
        f.write('{"format": "x", "pad": "' + "x" * (2 << 20) + '"}')
    with pytest.raises(ProjectError, match="bytes"):
        Project.load(tmp_path)


def test_the_app_shows_a_dialog_for_a_deeply_nested_project(qtbot, qapp_settings, tmp_path: Path) -> None:
    from app.ui.shell.main_window import MainWindow

    win = MainWindow(open_initial=False)
    qtbot.addWidget(win)
    (tmp_path / PROJECT_FILE).write_text(NESTED)
    win.open_initial(str(tmp_path))  # the --project path: the handler catches ProjectError only
    assert win.error_dialogs and "nested too deeply" in win.error_dialogs[-1].message_label.text()
    assert win.project is None
    win.close()

"""Fixtures of the app tests: the QApplication with isolated INI settings and a small demo project."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tiny_config import tiny_overrides


@pytest.fixture
def qapp_settings(qapp):
    """The QApplication configured like the app (INI settings under this test's XDG_CONFIG_HOME)."""
    from app.ui.shell.app import make_application

    return make_application()


@pytest.fixture
def demo_project(tmp_path: Path, demo_dataset_dir: Path):
    """A project on the session's small demo dataset with the tiny config (10 iterations, live metrics and previews)."""
    from app.backend.config import builtin_config
    from app.ui.shell.project import Project

    overrides = tiny_overrides(
        demo_dataset_dir, SOLVER__MAX_ITER=10, UI__METRICS_PERIOD=1, UI__PREVIEW_PERIOD=5, UI__PREVIEW_SAMPLES=1
    )
    return Project.create(tmp_path / "proj", builtin_config("demo_cpu"), name="test", overrides=overrides)


@pytest.fixture
def demo_copy(tmp_path: Path, demo_dataset_dir: Path) -> Path:
    """A writable copy of the session's small demo dataset (editors save into it)."""
    import shutil

    dst = tmp_path / "demo"
    shutil.copytree(demo_dataset_dir, dst)
    return dst

"""A tiny CSI training config on the session's demo dataset (fast on 2 CPU cores)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.backend.config import builtin_config, load_config
from tests.backend.engine.tiny_config import one_thread, tiny_opts


@pytest.fixture
def tiny_cfg(demo_dataset_dir: Path, tmp_path: Path) -> Callable[..., object]:
    """``tiny_cfg(name, max_iter=8, **overrides)`` -> CfgNode writing to tmp_path/name."""

    def make(name: str = "out", max_iter: int = 8, **extra: object):
        return load_config(builtin_config("demo_cpu"), tiny_opts(demo_dataset_dir, tmp_path / name, max_iter, **extra))

    return make


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    with one_thread():
        yield

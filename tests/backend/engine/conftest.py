"""A tiny CSI training config on the session's demo dataset (fast on 2 CPU cores)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.tiny_config import one_thread, tiny_config


@pytest.fixture
def tiny_cfg(demo_dataset_dir: Path, tmp_path: Path) -> Callable[..., object]:
    """``tiny_cfg(name, max_iter=8, **overrides)`` -> CfgNode writing to tmp_path/name."""

    def make(name: str = "out", max_iter: int = 8, **extra: object):
        return tiny_config(demo_dataset_dir, tmp_path / name, max_iter, **extra)

    return make


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    with one_thread():
        yield

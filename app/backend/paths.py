"""Where the app keeps user data (demo dataset, projects) outside the repository."""

from __future__ import annotations

import os
from pathlib import Path

APP_DIR_NAME = "wifi-densepose-studio"


def user_data_dir() -> Path:
    """``$XDG_DATA_HOME/wifi-densepose-studio`` (default ``~/.local/share/...``)."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / APP_DIR_NAME


def default_demo_root() -> Path:
    """Folder of the synthetic demo dataset when ``DATASETS.DEMO.ROOT`` is empty."""
    return user_data_dir() / "demo"


def demo_root(configured: str | os.PathLike[str] | None = None) -> Path:
    """The demo dataset folder a config names (``DATASETS.DEMO.ROOT``, ``~`` expanded), or :func:`default_demo_root`."""
    return Path(configured).expanduser() if configured else default_demo_root()


def default_project_dir() -> Path:
    """The demo project opened on first launch."""
    return user_data_dir() / "projects" / "demo"


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/wifi-densepose-studio`` (default ``~/.cache/...``): disposable caches (thumbnails)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / APP_DIR_NAME

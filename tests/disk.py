"""Full-disk simulation for tests: fill a (small) file system up to a few free bytes."""

from __future__ import annotations

import os
from pathlib import Path


def fill_disk(folder: Path, free: int, name: str = ".filler") -> Path:
    """Write ``folder/name`` until the disk is full, then shrink it so that about ``free`` bytes stay free."""
    path = folder / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError:
            pass
        os.ftruncate(fd, max(os.fstat(fd).st_size - free, 0))
    finally:
        os.close(fd)
    return path

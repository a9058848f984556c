"""Results of a pass over training files, kept on disk until the files or the settings change.

A training run reads its files twice before its first step: the CSI normalisation pass
(:mod:`app.backend.engine.csi_stats`) and the MTN pretraining samples
(:mod:`app.backend.engine.sample_cache`). Both results depend only on the files read and on a
few settings, so they are stored under ``$XDG_CACHE_HOME/wifi-densepose-studio/training/`` in a
folder named after a key: the SHA-1 of the kind of result, :data:`CACHE_FORMAT`, the settings
and every file's path, size and modification time. Remaking the demo (a new generator version),
editing a dataset JSON or replacing a CSI file gives a new key, so a stale result is never used.

A folder appears complete or not at all: it is written under a temporary name and renamed. Of
each kind the :data:`KEEP_PER_KIND` most recently used folders are kept. The cache is an
optimisation: when it cannot be written (read-only or full disk) the run goes on without it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from app.backend.atomic_write import replace_path
from app.backend.paths import user_cache_dir

logger = logging.getLogger(__name__)

#: Bump when what a cached folder holds changes meaning (its readers then make it again).
CACHE_FORMAT = 1
#: Folders kept per kind of result (older ones are removed when a new one is published).
KEEP_PER_KIND = 2
#: Marker file of a complete folder (written last).
COMPLETE = "complete.json"


def cache_root() -> Path:
    """Where the training caches live."""
    return user_cache_dir() / "training"


def files_key(kind: str, files: Iterable[str | os.PathLike[str]], settings: Mapping[str, Any]) -> str | None:
    """The key of a result computed from ``files`` with ``settings`` (JSON-serialisable), or None
    when a file cannot be stat'ed (the pass itself will report it; nothing is cached)."""
    h = hashlib.sha1()
    h.update(json.dumps({"kind": kind, "format": CACHE_FORMAT, "settings": settings}, sort_keys=True, default=str).encode())
    for f in files:
        try:
            st = os.stat(f)
        except OSError:
            return None
        h.update(f"\n{os.path.abspath(f)}\t{st.st_size}\t{st.st_mtime_ns}".encode())
    return h.hexdigest()


def find(kind: str, key: str | None) -> Path | None:
    """The complete folder of ``kind`` and ``key`` (its use time refreshed), or None."""
    if key is None:
        return None
    folder = cache_root() / f"{kind}-{key}"
    marker = folder / COMPLETE
    if not marker.is_file():
        return None
    with contextlib.suppress(OSError):
        os.utime(marker)
    return folder


def publish(kind: str, key: str | None, write: Any, meta: Mapping[str, Any] | None = None) -> Path | None:
    """Write a folder with ``write(tmp_folder)`` and put it in place as ``kind``-``key``.

    Returns the folder, or None when there is no key or it cannot be written (logged; the
    caller goes on with what it has in memory). Another process may publish the same key
    first; then its folder is kept and this one dropped.
    """
    if key is None:
        return None
    root = cache_root()
    final = root / f"{kind}-{key}"
    tmp = None
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{kind}-", dir=root))
        write(tmp)
        (tmp / COMPLETE).write_text(json.dumps({"kind": kind, "key": key, **(meta or {})}))
        try:
            replace_path(tmp, final)  # a folder holding another process's copy is not replaced
        except OSError:
            if not (final / COMPLETE).is_file():
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # another process was first
        tmp = None
    except OSError as exc:
        logger.warning("could not keep %s in the cache %s (%s); the next run reads the files again", kind, root, exc)
        return None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    _prune(kind)
    return final


def _prune(kind: str) -> None:
    """Remove all but the :data:`KEEP_PER_KIND` most recently used folders of ``kind``."""
    folders = []
    for folder in cache_root().glob(f"{kind}-*"):
        with contextlib.suppress(OSError):
            folders.append(((folder / COMPLETE).stat().st_mtime, folder))
    for _, folder in sorted(folders, reverse=True)[KEEP_PER_KIND:]:
        shutil.rmtree(folder, ignore_errors=True)
    for tmp in cache_root().glob(f".{kind}-*"):  # left by a process killed while writing, a day ago or more
        with contextlib.suppress(OSError):
            if time.time() - tmp.stat().st_mtime > 86400:
                shutil.rmtree(tmp, ignore_errors=True)

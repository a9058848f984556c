"""A benchmark's scratch folder: made under the system's temp folder, removed when the process exits.

Benchmarks write demo datasets, checkpoints and run folders (up to ~700 MB each); left behind, a few
runs fill a small disk and the next test run fails with "No space left on device". ``keep=True``
leaves the folder (its path is printed) for looking at the files afterwards.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path


def scratch_dir(prefix: str, keep: bool = False) -> Path:
    """A new empty folder; removed at interpreter exit (normal or by an exception) unless ``keep``."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    if keep:
        print(f"scratch files kept in {path}")
    else:
        atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path

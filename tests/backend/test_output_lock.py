"""One run per output folder: a second one is refused naming the holder; a dead holder's lock is taken over."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from app.backend.errors import OutputInUseError, WriteError
from app.backend.file_lock import read_owner
from app.backend.output_lock import LOCK_NAME, OutputLock

REPO = Path(__file__).resolve().parents[2]
_HOLD = "import sys, time\nfrom app.backend.output_lock import OutputLock\nwith OutputLock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(60)\n"


def _hold_in_child(folder: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", _HOLD, str(folder)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_holder_is_refused_naming_the_first(tmp_path: Path) -> None:
    proc = _hold_in_child(tmp_path)
    try:
        with pytest.raises(OutputInUseError) as info, OutputLock(tmp_path):
            pass
        assert f"@{socket.gethostname()} pid {proc.pid} since" in str(info.value) and "\n" not in str(info.value)
    finally:
        proc.kill()
        proc.wait()
    with OutputLock(tmp_path) as lock:  # the kernel dropped the dead child's flock: taken over, with a note
        assert f"pid {proc.pid}" in lock.note and "no longer running" in lock.note
        assert read_owner(tmp_path / LOCK_NAME).pid == os.getpid()


def test_a_stale_file_without_a_live_holder_is_taken_over(tmp_path: Path) -> None:
    owner = {"user": "bob", "host": "elsewhere", "pid": 999_999_999, "since": 1.6e9, "purpose": "run: main.py train"}
    (tmp_path / LOCK_NAME).write_text(json.dumps(owner))
    with OutputLock(tmp_path) as lock:
        assert "bob@elsewhere pid 999999999 since" in lock.note and "no longer running" in lock.note


def test_the_lock_is_reentrant_in_one_process_and_released_after(tmp_path: Path) -> None:
    with OutputLock(tmp_path) as outer, OutputLock(tmp_path) as inner:
        assert inner.note == "" and outer.note == ""
    assert not (tmp_path / LOCK_NAME).exists()  # removed on release
    proc = _hold_in_child(tmp_path)  # another process can take it now
    proc.kill()
    proc.wait()


def test_an_unwritable_output_folder_is_a_write_error(tmp_path: Path, make_read_only: Callable[[Path], Path]) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(WriteError, match="a file is in the way"), OutputLock(tmp_path / "file" / "run"):
        pass
    ro = make_read_only(tmp_path / "ro") if (tmp_path / "ro").mkdir() is None else None
    t0 = time.perf_counter()
    with pytest.raises(WriteError, match="cannot write"), OutputLock(ro / "run"):
        pass
    assert time.perf_counter() - t0 < 5

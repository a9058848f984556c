"""Lock files: one holder, a message naming it for everyone else, stale locks of dead processes taken over."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from app.backend.errors import WriteError, is_user_error
from app.backend.file_lock import FileLock, LockHeldError, LockOwner, lock_path_for

REPO = Path(__file__).resolve().parents[2]


def test_one_holder_and_a_message_naming_it(tmp_path: Path) -> None:
    target = tmp_path / "train.json"
    target.write_text("{}")
    lock = FileLock.acquire(target, "annotation editor")
    assert lock.held and lock.previous is None and lock.path == tmp_path / "train.json.lock"
    assert json.loads(lock.path.read_text())["pid"] == os.getpid()
    with pytest.raises(LockHeldError) as info:
        FileLock.acquire(target)  # a second holder in the same process is refused too
    exc = info.value
    assert is_user_error(exc) and exc.owner == lock.owner
    assert str(exc).startswith(f"train.json is in use by {lock.owner.user}@{lock.owner.host} pid {os.getpid()} since ")
    assert str(exc).endswith("(annotation editor)")
    lock.release()
    lock.release()
    assert not lock.path.exists()
    with FileLock.acquire(target) as again:
        assert again.previous is None  # a released lock is not stale
    assert not lock.path.exists()


def test_a_dead_holders_lock_is_taken_over_and_named(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    marker = tmp_path / "locked"
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(REPO)!r})
        from app.backend.file_lock import FileLock
        lock = FileLock.acquire({str(target)!r}, "training")
        open({str(marker)!r}, "w").close()
        time.sleep(600)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        for _ in range(600):
            if marker.exists() or proc.poll() is not None:
                break
            time.sleep(0.05)
        with pytest.raises(LockHeldError, match=f"out is in use by .* pid {proc.pid} since .*training"):
            FileLock.acquire(target, wait_s=0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    lock = FileLock.acquire(target)  # the kernel let go of the dead process's lock
    assert lock.previous is not None and lock.previous.pid == proc.pid and lock.previous.purpose == "training"
    lock.release()


def test_garbage_in_an_unheld_lock_file_does_not_block(tmp_path: Path) -> None:
    target = tmp_path / "train.json"
    lock_path_for(target).write_bytes(b"\x00\xff not json")
    lock = FileLock.acquire(target)
    assert lock.previous is None and LockOwner.parse(lock.path.read_bytes()) == lock.owner
    lock.release()


def test_a_symlink_and_its_target_share_one_lock(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    real = tmp_path / "data" / "train.json"
    real.write_text("{}")
    (tmp_path / "link.json").symlink_to(real)
    assert lock_path_for(tmp_path / "link.json") == tmp_path / "data" / "train.json.lock"
    with FileLock.acquire(tmp_path / "link.json"), pytest.raises(LockHeldError):
        FileLock.acquire(real)


def test_the_lock_file_follows_the_umask_and_a_read_only_folder_is_a_write_error(tmp_path: Path, make_read_only) -> None:
    old = os.umask(0o027)
    try:
        with FileLock.acquire(tmp_path / "a") as lock:
            assert lock.path.stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(old)
    (tmp_path / "ro").mkdir()
    make_read_only(tmp_path / "ro")
    with pytest.raises(WriteError, match="cannot write .*x.lock"):
        FileLock.acquire(tmp_path / "ro" / "x")

"""Crash simulation for tests: start a process, wait until it reaches a point, kill it there."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path


def kill_at_marker(cmd: list[str], marker: Path, cwd: Path, timeout_s: float = 120, **popen: object) -> None:
    """Run ``cmd`` until it creates ``marker`` (the moment to crash at), then SIGKILL it.

    Fails the test when the process ends first or never gets there within ``timeout_s``.
    """
    proc = subprocess.Popen(cmd, cwd=cwd, **popen)
    try:
        deadline = time.monotonic() + timeout_s
        while not marker.exists():
            assert proc.poll() is None, "the process ended before the point to kill it at"
            assert time.monotonic() < deadline, "the process never reached the point to kill it at"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()

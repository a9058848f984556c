"""Two runs on one OUTPUT_DIR: the second is refused naming the first; a killed run's lock is taken over."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from app.backend.config import builtin_config
from app.backend.file_lock import LockOwner, read_owner
from app.backend.output_lock import LOCK_NAME
from app.cli import main
from tests.tiny_config import tiny_opts

REPO = Path(__file__).resolve().parents[2]
DEMO = str(builtin_config("demo_cpu"))


def _wait_for_holder(lock: Path, proc: subprocess.Popen, timeout_s: float = 180) -> LockOwner:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        holder = read_owner(lock) if lock.exists() else None
        if holder is not None and holder.pid == proc.pid:
            return holder
        assert proc.poll() is None, "the first run ended before it held its output folder"
        time.sleep(0.1)
    raise AssertionError("the first run never took its output folder")


def test_a_second_train_on_one_output_dir_is_refused_and_a_killed_runs_lock_is_taken_over(
    demo_dataset_dir: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "run"
    first = subprocess.Popen(
        [sys.executable, "main.py", "train", "--config-file", DEMO, *tiny_opts(demo_dataset_dir, out, 100_000)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    try:
        _wait_for_holder(out / LOCK_NAME, first)
        config_before = (out / "config.yaml").read_bytes() if (out / "config.yaml").exists() else None
        for extra in ([], ["--resume"]):
            code = main(["train", "--config-file", DEMO, *extra, *tiny_opts(demo_dataset_dir, out, 2, SOLVER__BASE_LR=0.5)])
            err = capsys.readouterr().err.strip().splitlines()
            assert code == 2 and len(err) == 1 and err[0].startswith("error:"), err
            assert "in use by another run (" in err[0] and f"@{socket.gethostname()} pid {first.pid} since" in err[0]
        assert first.poll() is None  # the first run went on
        if config_before is not None:
            assert (out / "config.yaml").read_bytes() == config_before  # nothing of the second run was written
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    old_umask = os.umask(0o022)
    try:
        code = main(["train", "--config-file", DEMO, "--resume", *tiny_opts(demo_dataset_dir, out, 2)])
    finally:
        os.umask(old_umask)
    captured = capsys.readouterr()
    # every file of the run follows the umask (0644 under 022: no 0600 files a group cannot read)
    modes = {str(p.relative_to(out)): p.stat().st_mode & 0o777 for p in out.rglob("*") if p.is_file()}
    assert any(name.endswith(".pth") for name in modes) and "config.yaml" in modes, modes
    assert all(mode & 0o044 == 0o044 for mode in modes.values()), modes
    assert code == 0, captured.err
    assert f"note: took over the lock of {out} left by a run that is no longer running (" in captured.err
    assert f"@{socket.gethostname()} pid {first.pid} since" in captured.err
    assert not (out / LOCK_NAME).exists()  # released at the end

"""SIGKILL at random points of saves: the file on disk is always a complete old or new version.

A child process saves one file over and over (version 1, 2, 3, ...) the way the app does:
a checkpoint through :class:`AtomicCheckpointer` (torch's zip writer inside atomic_write), a
dataset JSON and a predictions.json through :mod:`app.backend.atomic_write` (the one path every
JSON the app writes takes). Once the first version is on disk the test kills the child at a
seeded random moment, so most kills land in the middle of a write. The file must then load and
hold a version the child finished; a temporary file may be left (it is never the target).
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]

_CHILD = r"""
import json, os, sys
from pathlib import Path
kind, folder = sys.argv[1], Path(sys.argv[2])
if kind == "checkpoint":
    import torch
    from app.backend.checkpoint import AtomicCheckpointer
    model = torch.nn.Sequential(*[torch.nn.Linear(512, 512) for _ in range(12)])  # 12 MB a save
    ckpt = AtomicCheckpointer(model, str(folder))
    save = lambda n: ckpt.save("model_final", iteration=n)
else:
    from app.backend.atomic_write import atomic_write_json
    rows = [{"id": i, "file_name": f"images/{i:06d}.png", "bbox": [1.5, 2.5, 30.0, 40.0]} for i in range(20000)]
    save = lambda n: atomic_write_json(folder / f"{kind}.json", {"version": n, "rows": rows})
n = 0
while True:
    n += 1
    save(n)
    (folder / "done.tmp").write_text(str(n))  # the last version known complete (after the rename)
    os.replace(folder / "done.tmp", folder / "done")
"""


def _version(kind: str, folder: Path) -> int:
    if kind == "checkpoint":
        data = torch.load(folder / "model_final.pth", map_location="cpu", weights_only=True)
        assert len(data["model"]) == 24
        return int(data["iteration"])
    data = json.loads((folder / f"{kind}.json").read_text(encoding="utf-8"))
    assert len(data["rows"]) == 20000
    return int(data["version"])


@pytest.mark.parametrize("kind", ["checkpoint", "dataset", "predictions"])
def test_a_kill_at_a_random_point_of_a_save_leaves_a_complete_version(kind: str, tmp_path: Path) -> None:
    rng = random.Random(f"kill-{kind}")
    for attempt in range(3):
        folder = tmp_path / str(attempt)
        folder.mkdir()
        proc = subprocess.Popen([sys.executable, "-c", _CHILD, kind, str(folder)], cwd=REPO)
        try:
            deadline = time.monotonic() + 120
            while not (folder / "done").exists():
                assert proc.poll() is None, "the saving process ended"
                assert time.monotonic() < deadline, "the first save never finished"
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 0.4))
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
        done = int((folder / "done").read_text())
        version = _version(kind, folder)
        # the target is the last finished version, or the one whose rename happened just before the kill
        assert version in (done, done + 1), (version, done)

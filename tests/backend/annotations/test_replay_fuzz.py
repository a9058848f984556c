"""Property test: random edit sequences, SIGKILLed at random points, replay every confirmed edit.

Each round runs ``session_probe.py fuzz`` (its own process) on the same file: it recovers what the
previous round left, settles the recovery at random (keep, discard or leave it pending), then
makes random valid and invalid edits with random saves and autosaves, announcing the state
before (WILL) and after (CONFIRMED) each. The test kills it with SIGKILL after a random number
of lines; the next round's first line says what the file and its journal recovered, which must
be the last confirmed state (or the state of the one edit that was under way).
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app.backend.annotations import AnnotationSession
from app.backend.annotations.journal import journal_path_for
from tests.backend.annotations.conftest import make_coco
from tests.backend.annotations.session_probe import digest

PROBE = Path(__file__).resolve().parent / "session_probe.py"


def _round(path: Path, seed: int, kill_after: int) -> tuple[str, set[str], int]:
    """Run one probe until ``kill_after`` output lines, SIGKILL it, read what it printed before dying.

    Returns (recovered digest, acceptable digests after the kill, edits confirmed)."""
    proc = subprocess.Popen([sys.executable, str(PROBE), "fuzz", str(path), "--seed", str(seed)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if len(lines) >= kill_after and any(ln.startswith("STATE") for ln in lines):
                break
        else:
            raise AssertionError("probe ended: " + proc.stderr.read()[-3000:])
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        lines += proc.stdout.readlines()  # the probe runs ahead of this reader: all it said before the kill
    finally:
        if proc.poll() is None:
            proc.kill()
    recovered = confirmed = ""
    pending: str | None = None
    n_confirmed = 0
    for line in lines:
        if not line.endswith("\n"):
            break  # cut off by the kill
        word, *rest = line.split()
        if word == "RECOVERED":
            recovered = rest[1]
        elif word == "STATE":
            confirmed = rest[0]
        elif word == "WILL":
            pending = rest[0]
        elif word == "CONFIRMED":
            assert rest[0] == pending, "a confirmed edit gave another document than the edit itself"
            confirmed, pending, n_confirmed = rest[0], None, n_confirmed + 1
        elif word == "REFUSED":
            pending = None
    return recovered, {confirmed} | ({pending} if pending not in (None, "-") else set()), n_confirmed


@pytest.mark.parametrize("seed", [1, 2])
def test_random_edits_with_sigkills_replay_every_confirmed_edit(tmp_path: Path, seed: int) -> None:
    path = make_coco(tmp_path, num_images=3)
    rng = random.Random(seed)
    expected: set[str] | None = None
    total = 0
    for r in range(8):
        recovered, after_kill, n = _round(path, seed * 100 + r, rng.randint(3, 60))
        if expected is not None:
            assert recovered in expected, f"round {r}: the recovered document is not the last confirmed one"
        expected, total = after_kill, total + n
    session = AnnotationSession.open(path)
    assert digest(session.doc) in expected
    if session.recovery_pending:
        session.keep_recovered()
    session.close()
    assert not journal_path_for(path).exists()
    assert total > 20  # the rounds did edit

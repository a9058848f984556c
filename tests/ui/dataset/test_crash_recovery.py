"""Crash test: a real editor process is SIGKILLed after edits; reopening recovers every edit and keeps
the journal until they are kept."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from app.backend.annotations import AnnotationSession
from app.backend.annotations.journal import journal_path_for

REPO = Path(__file__).resolve().parents[3]
PROBE = Path(__file__).resolve().parent / "annotation_session_probe.py"


def test_sigkill_after_edits_loses_nothing(demo_copy: Path) -> None:
    path = demo_copy / "train.json"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, str(PROBE), str(path), "--autosave-interval", "0.3"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    edits, autosaved = [], None
    try:
        for line in proc.stdout:
            parts = line.split()
            if parts and parts[0] == "EDIT":
                edits.append((int(parts[2]), int(parts[3]), float(parts[4]), float(parts[5])))
            elif parts and parts[0] == "AUTOSAVED":
                autosaved = parts[1] == "1"
            elif parts and parts[0] == "READY":
                break
        else:
            raise AssertionError("probe ended early: " + proc.stderr.read()[-2000:])
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert len(edits) == 6 and autosaved
    assert journal_path_for(path).exists()

    # the file on disk holds the autosaved first three edits; the journal holds the rest
    on_disk = json.loads(path.read_text())
    first_ann = {a["image_id"]: a for a in reversed(on_disk["annotations"])}
    image_id, k, x, y = edits[0]
    assert first_ann[image_id]["keypoints"][3 * k : 3 * k + 2] == [x, y]

    session = AnnotationSession.open(path)
    assert session.recovered_ops == 3
    for image_id, k, x, y in edits:
        kx, ky, v = session.doc.person(image_id, 0).keypoint(k)
        assert (kx, ky) == (x, y) and v > 0
    assert session.recovery_pending
    session.close()  # without a decision the journal stays
    assert journal_path_for(path).exists()
    session = AnnotationSession.open(path)
    assert session.recovered_ops == 3
    session.keep_recovered()
    session.close()
    assert not journal_path_for(path).exists()
    assert AnnotationSession.open(path).recovered_ops == 0

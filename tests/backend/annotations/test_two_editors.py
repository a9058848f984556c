"""Two editors on one dataset: the first holds the lock, the second is read-only and says why.

Whichever opens first keeps its edits whether both save or both crash; the second opener's edits
are refused with the owner's name, never journaled, and never replace the first one's journal.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app.backend.annotations import AnnotationSession, EditRefused
from app.backend.annotations.journal import journal_path_for
from app.backend.file_lock import lock_path_for
from tests.backend.annotations.session_probe import PROBE_PATH, digest, move_keypoint_op

OWNER_TEXT = f"pid {os.getpid()} since "


def _edit(session: AnnotationSession, n: int) -> None:
    ids = [i for i in session.doc.image_ids() if session.doc.anns(i)]
    session.apply(move_keypoint_op(session.doc, ids[n % len(ids)], n % 17, 10.0 + n, 12.0 + n))


@pytest.mark.parametrize("first", ["A", "B"])
def test_the_first_opener_edits_the_second_is_read_only_and_both_save(coco_file: Path, first: str) -> None:
    edits = {"A": 6, "B": 3}  # A confirms 6 edits, B 3 (the scenario)
    second = "B" if first == "A" else "A"
    writer = AnnotationSession.open(coco_file)  # the first opener
    reader = AnnotationSession.open(coco_file)
    assert not writer.read_only
    assert reader.read_only
    assert "train.json is opened elsewhere by" in reader.read_only_reason and OWNER_TEXT in reader.read_only_reason
    assert any("read-only" in n for n in reader.notes)
    for n in range(edits[first]):
        _edit(writer, n)
    expected = digest(writer.doc)
    journal = journal_path_for(coco_file).read_bytes()
    before = digest(reader.doc)
    for n in range(edits[second]):
        with pytest.raises(EditRefused, match="read-only here: train.json is opened elsewhere by"):
            _edit(reader, 100 + n)
    assert digest(reader.doc) == before  # refused edits change nothing, not even in memory
    assert journal_path_for(coco_file).read_bytes() == journal  # and never touch the writer's journal
    with pytest.raises(EditRefused, match="read-only"):
        reader.save()
    writer.save()
    reader.close()
    assert lock_path_for(coco_file).exists()  # the reader never held it, closing does not release it
    writer.close()
    assert not lock_path_for(coco_file).exists() and not journal_path_for(coco_file).exists()
    reopened = AnnotationSession.open(coco_file)
    assert digest(reopened.doc) == expected and not reopened.read_only
    reopened.close()


def _probe(path: Path, edits: int) -> tuple[subprocess.Popen, list[str]]:
    proc = subprocess.Popen([sys.executable, str(PROBE_PATH), "hold", str(path), "--edits", str(edits)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stdout:
        lines.append(line.strip())
        if line.startswith("READY"):
            return proc, lines
    raise AssertionError("probe ended: " + proc.stderr.read()[-3000:])


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)


@pytest.mark.parametrize("first", ["A", "B"])
def test_both_crash_the_first_openers_edits_survive(coco_file: Path, first: str) -> None:
    """Two processes, SIGKILLed while both are open: the lock holder's confirmed edits are recovered."""
    edits = {"A": 6, "B": 3}
    second = "B" if first == "A" else "A"
    p1, out1 = _probe(coco_file, edits[first])
    p2, out2 = _probe(coco_file, edits[second])
    try:
        assert out1[0].startswith("OPENED writable")
        assert out2[0].startswith("OPENED read-only") and f"pid {p1.pid} since" in out2[0]
        confirmed = [ln.split()[2] for ln in out1 if ln.startswith("CONFIRMED")]
        assert len(confirmed) == edits[first]
        refused = [ln for ln in out2 if ln.startswith("REFUSED")]
        assert len(refused) == edits[second] and all("opened elsewhere by" in r for r in refused)
    finally:
        _kill(p2)
        _kill(p1)
    session = AnnotationSession.open(coco_file)  # the holder is gone: its lock is stale
    assert not session.read_only
    assert session.recovered_ops == edits[first] and digest(session.doc) == confirmed[-1]
    assert any(f"pid {p1.pid}" in n and "no longer running" in n for n in session.notes)
    session.keep_recovered()
    session.close()
    assert digest(AnnotationSession.open(coco_file).doc) == confirmed[-1]


def test_a_stale_lock_is_taken_over_and_a_live_one_is_not(coco_file: Path) -> None:
    p, _ = _probe(coco_file, 1)
    try:
        held = AnnotationSession.open(coco_file)
        assert held.read_only and f"pid {p.pid}" in held.read_only_reason
        held.close()
    finally:
        _kill(p)
    owner = json.loads(lock_path_for(coco_file).read_text())
    assert owner["pid"] == p.pid  # the killed process left its lock file behind
    session = AnnotationSession.open(coco_file)
    assert not session.read_only and session.recovered_ops == 1
    assert json.loads(lock_path_for(coco_file).read_text())["pid"] == os.getpid()
    session.close()
    # a lock file that names nobody readable (and that nobody holds) is stale too
    lock_path_for(coco_file).write_bytes(b"\x00garbage")
    session = AnnotationSession.open(coco_file)
    assert not session.read_only
    session.close()


def test_a_dataset_opened_through_a_symlink_meets_the_same_lock(coco_file: Path, tmp_path: Path) -> None:
    links = tmp_path / "links"
    links.mkdir()
    (links / "train.json").symlink_to(coco_file)
    s1 = AnnotationSession.open(links / "train.json")
    s2 = AnnotationSession.open(coco_file)
    assert not s1.read_only and s2.read_only
    s2.close()
    s1.close()

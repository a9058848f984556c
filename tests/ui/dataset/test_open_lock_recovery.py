"""Opening in the app: a file another app is editing opens read-only with the owner named, and
recovered edits wait for the user to keep or discard them."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import Qt

from app.backend.annotations import AnnotationSession
from app.backend.annotations.journal import journal_path_for
from app.ui.dataset.dataset_view import DatasetView
from tests.backend.annotations.session_probe import PROBE_PATH, digest, move_keypoint_op


def _open(qtbot, path: Path, tmp_path: Path) -> DatasetView:
    view = DatasetView(cache_dir=tmp_path / "thumbs")
    qtbot.addWidget(view)
    view.resize(1100, 700)
    view.show()
    with qtbot.waitSignal(view.datasetReady, timeout=30000):
        view.open_paths([path])
    return view


def test_a_file_another_app_edits_opens_read_only_and_refuses_edits(qtbot, demo_copy: Path, tmp_path: Path) -> None:
    path = demo_copy / "train.json"
    other = subprocess.Popen([sys.executable, str(PROBE_PATH), "hold", str(path), "--edits", "2"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in other.stdout:
            if line.startswith("READY"):
                break
        journal = journal_path_for(path).read_bytes()  # the other app's two edits
        view = _open(qtbot, path, tmp_path)
        assert view.banner.isVisible()
        assert "train.json is opened elsewhere by" in view.banner.text() and f"pid {other.pid} since" in view.banner.text()
        view.open_row(0)
        editor = view.editor
        assert editor.session.read_only and editor.banner.isVisible()
        assert "read-only" in editor.image_line.text() and "opened elsewhere by" in editor.image_line.toolTip()
        before = digest(editor.session.doc)
        person = editor.session.doc.person(editor.image_id, 0)
        x, y, _ = person.keypoint(5)
        editor.canvas.keypointMoved.emit(0, 5, x + 7.0, y + 3.0)  # what a mouse drag emits
        assert "read-only here: train.json is opened elsewhere by" in editor.banner.text()
        assert digest(editor.session.doc) == before and editor.stack.count() == 0
        assert journal_path_for(path).read_bytes() == journal  # the other app's journal is untouched
        view.shutdown()
    finally:
        other.send_signal(signal.SIGKILL)
        other.wait(30)
    session = AnnotationSession.open(path)  # the other app's confirmed edits are all there
    assert session.recovered_ops == 2
    session.release()


def _crash_with_edits(path: Path, count: int) -> str:
    s = AnnotationSession.open(path)
    image_id = s.doc.image_ids()[0]
    for n in range(count):
        s.apply(move_keypoint_op(s.doc, image_id, n, 10.0 + n, 11.0 + n))
    d = digest(s.doc)
    s.release()  # as a crash leaves it: journal on disk, nothing saved
    return d


def _bar_button(view: DatasetView, text: str):
    (bar,) = view.recovery.bars
    return bar.keep_button if text == "keep" else bar.discard_button


def test_recovered_edits_of_a_file_that_now_fails_validation_are_kept_on_request(qtbot, demo_copy: Path,
                                                                                 tmp_path: Path) -> None:
    path = demo_copy / "train.json"
    expected = _crash_with_edits(path, 3)
    image = json.loads(path.read_text())["images"][-1]["file_name"]
    (demo_copy / image).rename(tmp_path / "moved.jpg")  # the file now fails validation
    view = _open(qtbot, path, tmp_path)
    (bar,) = view.recovery.bars
    assert bar.isVisible() and "recovered 3 unsaved edits" in bar.label.text()
    assert "saved to train.edited.json" in bar.label.text()
    session = bar.session
    assert digest(session.doc) == expected
    view.open_row(0)
    assert "recovered edits: Keep or Discard" in view.editor.image_line.text()
    view.editor.autosave_tick()
    assert journal_path_for(path).exists() and not (demo_copy / "train.edited.json").exists()
    qtbot.mouseClick(_bar_button(view, "keep"), Qt.MouseButton.LeftButton)
    assert view.recovery.bars == [] and not journal_path_for(path).exists()
    assert "✓ saved" in view.editor.image_line.text()
    saved = AnnotationSession.open(demo_copy / "train.edited.json", read_only=True)
    assert digest(saved.doc) == expected
    view.shutdown()


def test_discarding_recovered_edits_goes_back_to_the_file(qtbot, demo_copy: Path, tmp_path: Path) -> None:
    path = demo_copy / "train.json"
    original = path.read_bytes()
    on_disk = digest(AnnotationSession.open(path, read_only=True).doc)
    _crash_with_edits(path, 2)
    view = _open(qtbot, path, tmp_path)
    view.open_row(0)
    assert digest(view.editor.session.doc) != on_disk
    assert "recovered edits: Keep or Discard" in view.editor.image_line.text()  # not 'saved', not 'unsaved'
    assert view.editor.banner.text().startswith("train.json: ")  # which of the open files the note is about
    qtbot.mouseClick(_bar_button(view, "discard"), Qt.MouseButton.LeftButton)
    assert view.recovery.bars == [] and "✓ saved" in view.editor.image_line.text()
    assert digest(view.editor.session.doc) == on_disk and view.editor.stack.count() == 0
    assert not journal_path_for(path).exists() and list(demo_copy.glob("train.json.journal.jsonl.discarded-*"))
    view.shutdown()
    assert path.read_bytes() == original


def test_leaving_the_view_does_not_keep_recovered_edits_nobody_decided_on(qtbot, demo_copy: Path,
                                                                          tmp_path: Path) -> None:
    path = demo_copy / "train.json"
    original = path.read_bytes()
    _crash_with_edits(path, 2)
    view = _open(qtbot, path, tmp_path)
    (bar,) = view.recovery.bars
    view.hide()  # switching to another view saves pending edits at once, but not these
    assert path.read_bytes() == original and journal_path_for(path).exists()
    assert bar.session.recovery_pending
    view.show()
    view.shutdown()

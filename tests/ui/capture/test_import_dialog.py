"""Import dialog: recording and MM-Fi imports run off the UI thread with progress; cancel resumes."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

from app.backend.capture.recording_import import RecordingImportOptions, import_recording
from app.backend.capture.synthetic import make_synthetic_recording
from app.ui.capture.capture_job_dialog import run_capture_job
from app.ui.capture.import_dialog import ImportDialog
from app.widgets.job_runner import TaskState


def test_recording_import_from_the_dialog(qtbot, tmp_path):
    rec = make_synthetic_recording(tmp_path / "src", num_frames=16)
    dlg = ImportDialog()
    qtbot.addWidget(dlg)
    dlg.video.set_text(rec.video)
    dlg.csi.set_text(rec.csi)
    dlg.rec_out.set_text(tmp_path / "out")
    dlg.offset_ms.setValue(300)
    with qtbot.waitSignal(dlg.datasetImported, timeout=30000) as blocker:
        dlg.start()
        assert dlg.running and not dlg.start_button.isEnabled()
    qtbot.waitUntil(lambda: not dlg.running, timeout=10000)
    path = blocker.args[0]
    assert path.endswith("dataset.json") and len(json.loads(Path(path).read_text())["images"]) == 16
    assert dlg.progress.value() == 100 and "matched 16/16 frames" in dlg.log.toPlainText()
    assert dlg.start_button.isEnabled()


def test_missing_fields_and_backend_errors_show_in_the_dialog(qtbot, tmp_path):
    dlg = ImportDialog()
    qtbot.addWidget(dlg)
    dlg.start()
    assert not dlg.running and dlg.status.text().startswith("error: choose")
    rec = make_synthetic_recording(tmp_path / "src", num_frames=4)
    dlg.video.set_text(rec.video)
    dlg.csi.set_text(rec.csi)
    dlg.rec_out.set_text(tmp_path / "out")
    dlg.offset_ms.setValue(-60_000)
    dlg.start()
    qtbot.waitUntil(lambda: not dlg.running, timeout=10000)
    assert "do not overlap" in dlg.status.text() and "video frames span -60.000" in dlg.status.text()


def test_switching_tabs_clears_the_previous_tabs_error(qtbot):
    dlg = ImportDialog()
    qtbot.addWidget(dlg)
    dlg.start()
    assert dlg.status.text().startswith("error: choose the video")
    dlg.tabs.setCurrentIndex(1)  # MM-Fi: the recording's error does not apply
    assert dlg.status.text() == "" and dlg.log.toPlainText() == ""
    dlg.start()
    assert dlg.status.text() == "error: choose the MM-Fi root and an output folder"
    dlg.tabs.setCurrentIndex(0)
    assert dlg.status.text() == ""


def test_mmfi_import_from_the_dialog(qtbot, tmp_path, mmfi_frames):
    seq = tmp_path / "mmfi" / "E01" / "S01" / "A02" / "wifi-csi"
    seq.mkdir(parents=True)
    for i, src in enumerate(mmfi_frames[:3], start=1):
        shutil.copyfile(src, seq / f"frame{i:03d}.mat")
    dlg = ImportDialog()
    qtbot.addWidget(dlg)
    dlg.tabs.setCurrentIndex(1)
    dlg.mmfi_root.set_text(tmp_path / "mmfi")
    dlg.mmfi_out.set_text(tmp_path / "out")
    with qtbot.waitSignal(dlg.datasetImported, timeout=30000):
        dlg.start()
    qtbot.waitUntil(lambda: not dlg.running, timeout=10000)
    assert "3 frames imported" in dlg.log.toPlainText()


def test_a_cancelled_import_stops_and_a_rerun_resumes(qtbot, tmp_path):
    rec = make_synthetic_recording(tmp_path / "src", num_frames=10)
    opts = RecordingImportOptions(tmp_path / "out", rec.csi, video=rec.video, offset_ms=300)
    state = TaskState()
    state.cancel()
    report = run_capture_job(state, import_recording, opts)  # synchronously, on this thread
    assert not report.complete and report.cancelled
    report = run_capture_job(TaskState(), import_recording, opts)
    assert report.complete and report.frames_written_this_run == 10


def test_closing_the_dialog_stops_the_job_and_joins_its_thread(qtbot):
    started, returned = threading.Event(), []

    def endless_capture(options, progress, should_stop):  # a capture function's contract
        started.set()
        while not should_stop():
            time.sleep(0.01)
        returned.append(options)

    dlg = ImportDialog()
    qtbot.addWidget(dlg)
    dlg.show()
    dlg.launch(endless_capture, "options")
    assert dlg.running and not dlg.start_button.isEnabled() and started.wait(10)
    dlg.launch(endless_capture, "second")  # one job per dialog: refused
    dlg.close()
    assert returned == ["options"]  # the job saw the cancel and returned before close() did
    assert not [t for t in threading.enumerate() if t.name.startswith("capture-")]
    assert not dlg.running and dlg.start_button.isEnabled()


def test_dataset_view_capture_menu_imports_and_opens_the_result(qtbot, tmp_path):
    from app.ui.capture.capture_actions import make_capture_button, open_import_dialog
    from app.ui.dataset.dataset_view import DatasetView

    view = DatasetView()
    qtbot.addWidget(view)
    button = make_capture_button(view)
    view.add_tool(button)
    texts = [a.text() for a in button.actions()]
    assert texts == ["Import recording / MM-Fi…", "Pseudo-label selection…", "Pseudo-label whole dataset…"]
    rec = make_synthetic_recording(tmp_path / "src", num_frames=6)
    dlg = open_import_dialog(view)
    qtbot.addWidget(dlg)
    dlg.video.set_text(rec.video)
    dlg.csi.set_text(rec.csi)
    dlg.rec_out.set_text(tmp_path / "out")
    dlg.offset_ms.setValue(300)
    with qtbot.waitSignal(view.datasetReady, timeout=60000):
        dlg.start()
    qtbot.waitUntil(lambda: not dlg.running, timeout=10000)
    assert len(view.index) == 6 and bool(view.index.has_csi.all()) and int(view.index.num_people.sum()) == 0

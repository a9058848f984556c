"""Import dialog: a synchronised recording (video/frames + CSI log) or MM-Fi sequences.

The import runs in the background (:class:`~app.ui.capture.capture_job_dialog.CaptureJobDialog`) with a
progress bar, ETA and a Cancel button; an interrupted import resumes when started again
with the same inputs. ``datasetImported(str)`` carries the written dataset JSON.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QWidget,
)

from app.backend.data.csi import CSI_FILE_EXTENSIONS
from app.ui.capture.capture_job_dialog import CaptureJobDialog
from app.ui.common.start_folder import start_folder

CSI_FILTER = f"CSI logs ({' '.join('*' + e for e in CSI_FILE_EXTENSIONS)});;All files (*)"
VIDEO_FILTER = "Videos (*.avi *.mp4 *.mkv *.mov);;All files (*)"


class PathField(QWidget):
    """A line edit with a Browse… button (file or folder)."""

    def __init__(self, parent: QWidget, title: str, folder: bool = False, file_filter: str = "",
                 start: str = "dataset") -> None:
        super().__init__(parent)
        self._start = start  # where the dialog opens while the field is empty (app.ui.common.start_folder)
        self.edit = QLineEdit(self)
        self.button = QPushButton("Browse…", self)
        self._title, self._folder, self._filter = title, folder, file_filter
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.edit, 1)
        lay.addWidget(self.button)
        self.button.clicked.connect(self._browse)

    def _browse(self) -> None:
        where = start_folder(self._start, self.text())
        if self._folder:
            path = QFileDialog.getExistingDirectory(self, self._title, where)
        else:
            path, _ = QFileDialog.getOpenFileName(self, self._title, where, self._filter)
        if path:
            self.edit.setText(path)

    def text(self) -> str:
        return self.edit.text().strip()

    def set_text(self, text: str) -> None:
        self.edit.setText(str(text))


class ImportDialog(CaptureJobDialog):
    """Recording or MM-Fi import with progress. Signal ``datasetImported(str)``: the dataset JSON."""

    datasetImported = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import a capture")
        self.resize(640, 480)

        self.tabs = QTabWidget(self)
        rec = QWidget(self)
        self.source_kind = QComboBox(rec)
        self.source_kind.addItems(["video file", "frame folder"])
        self.video = PathField(rec, "Video", file_filter=VIDEO_FILTER)
        self.csi = PathField(rec, "CSI log", file_filter=CSI_FILTER)
        self.rec_out = PathField(rec, "Output folder", folder=True)
        self.packets = QSpinBox(rec)
        self.packets.setRange(1, 1000)
        self.packets.setValue(5)
        self.offset_ms = QDoubleSpinBox(rec)
        self.offset_ms.setRange(-1e9, 1e9)
        self.offset_ms.setDecimals(1)
        self.offset_ms.setSuffix(" ms")
        self.offset_ms.setToolTip("time of the first video frame after the first CSI packet")
        self.fps = QDoubleSpinBox(rec)
        self.fps.setRange(0, 1000)
        self.fps.setSpecialValueText("from the video")
        form = QFormLayout(rec)
        form.addRow("Frames from", self.source_kind)
        form.addRow("Video / frame folder", self.video)
        form.addRow("CSI log", self.csi)
        form.addRow("Output folder", self.rec_out)
        form.addRow("Packets per frame", self.packets)
        form.addRow("CSI offset", self.offset_ms)
        form.addRow("Frame rate", self.fps)
        self.source_kind.currentIndexChanged.connect(self._source_changed)
        self.tabs.addTab(rec, "Recording")

        mm = QWidget(self)
        self.mmfi_root = PathField(mm, "MM-Fi root", folder=True)
        self.mmfi_out = PathField(mm, "Output folder", folder=True)
        self.kp_order = QComboBox(mm)
        self.kp_order.addItems(["auto", "coco", "h36m"])
        mform = QFormLayout(mm)
        mform.addRow("MM-Fi root (E01..E04)", self.mmfi_root)
        mform.addRow("Output folder", self.mmfi_out)
        mform.addRow("Keypoint order", self.kp_order)
        self.tabs.addTab(mm, "MM-Fi")

        self.build_job_layout(self.tabs, "Import", "Cancel import")
        self.tabs.currentChanged.connect(self._on_tab_changed)

    def _on_tab_changed(self, _index: int) -> None:
        """The other tab is another import: the previous one's message and log do not apply to it."""
        if not self.running:
            self.status.clear()
            self.log.clear()
            self.progress.setValue(0)

    def _source_changed(self) -> None:
        folder = self.source_kind.currentIndex() == 1
        self.video._folder = folder
        self.video._title = "Frame folder" if folder else "Video"

    # -- running ------------------------------------------------------------------------
    def _job(self):
        """(function, options) of the current tab; raises user errors for bad fields."""
        from app.backend.errors import UserFacingError

        if self.tabs.currentIndex() == 0:
            from app.backend.capture.recording_import import RecordingImportOptions, import_recording

            src, csi, out = self.video.text(), self.csi.text(), self.rec_out.text()
            if not (src and csi and out):
                raise UserFacingError("choose the video (or frame folder), the CSI log and an output folder")
            folder = self.source_kind.currentIndex() == 1
            opts = RecordingImportOptions(
                out_dir=Path(out),
                csi=Path(csi),
                video=None if folder else Path(src),
                frames_dir=Path(src) if folder else None,
                packets_per_frame=self.packets.value(),
                offset_ms=self.offset_ms.value(),
                fps=self.fps.value() or None,
            )
            return import_recording, opts
        from app.backend.capture.mmfi_import import MmfiImportOptions, import_mmfi

        root, out = self.mmfi_root.text(), self.mmfi_out.text()
        if not (root and out):
            raise UserFacingError("choose the MM-Fi root and an output folder")
        return import_mmfi, MmfiImportOptions(Path(root), Path(out), keypoint_order=self.kp_order.currentText())

    def start(self) -> None:
        """Start the import of the current tab on a worker thread."""
        if self.running:
            return
        from app.backend.errors import is_user_error

        try:
            fn, opts = self._job()
        except Exception as exc:
            if not is_user_error(exc):
                raise
            self.status.setText(f"error: {exc}")
            return
        self.log.clear()
        self.progress.setValue(0)
        self.status.setText("starting…")
        self.launch(fn, opts)

    stopping_text = "stopping after the current frame…"

    def _set_running(self, running: bool) -> None:
        super()._set_running(running)
        self.tabs.setEnabled(not running)

    def _on_done(self, report) -> None:
        self.log.setPlainText("\n".join(report.lines()))
        if report.complete:
            self.progress.setValue(100)
            self.status.setText(f"done: {report.json_path}")
            self.datasetImported.emit(str(report.json_path))
        else:
            self.status.setText("cancelled: press Import again to resume")

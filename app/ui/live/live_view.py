"""Live view: people from CSI as it arrives, from a log being written, a replay or nexmon_csi UDP.

The pipeline (:mod:`app.backend.live`) runs as one job on the view's
:class:`~app.widgets.job_runner.JobRunner` (:func:`~app.ui.live.live_job.run_live`); what it reports
arrives here as partial results. Windows are only stored when they arrive: a timer redraws the
newest one (MTN output and overlay, drawn with the overlay toggles) and the status at most 10
times a second, and the strip charts redraw on their own timers, so a fast model never floods the
event loop. Pause, resume and recording go through a thread-safe :class:`~app.ui.live.live_job.LiveControl`.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from app.backend.checkpoint import latest_checkpoint
from app.backend.data.csi import CSI_FILE_EXTENSIONS
from app.ui.common.error_dialog import ErrorDialog
from app.ui.common.model_cache import ModelCache
from app.ui.live.live_job import LiveControl, run_live
from app.widgets.image_view import ImageView
from app.widgets.job_runner import JobRunner
from app.widgets.overlay_controls import OverlayControls
from app.widgets.strip_chart import StripChart

#: Source kinds offered, in order: (SourceSpec kind, label).
SOURCES = (("follow", "Follow a log as it is written"), ("replay", "Replay a recording or dataset"),
           ("udp", "nexmon_csi UDP"))
REDRAW_MS = 100
#: Long side (pixels) the overlay is drawn at, at least: an integer multiple of the MTN output's.
DRAW_SIZE = 480
EMPTY = "Choose a source and a checkpoint, then Start: a log a capture tool is writing, a recording to replay, or an address nexmon_csi sends to."


class LiveView(QWidget):
    """Source, checkpoint and config pickers; the newest prediction, amplitude and people charts, status.

    Signals:
        started(): a run started.
        resultShown(int): the newest window drawn (its number).
        finished(dict): the run ended (its summary; empty when it failed).
        failed(str): the run failed (message).
    """

    started = Signal()
    resultShown = Signal(int)
    finished = Signal(dict)
    failed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._config_provider: Any = None
        self._config_file = ""
        self._cache = ModelCache()
        self.control: LiveControl | None = None
        self.job = JobRunner(self, name="live")
        self.job.partial.connect(self._on_partial)
        self.job.result.connect(self._on_result)
        self.job.failed.connect(self._on_failed)
        self.job.finished.connect(self._on_finished)
        self.latest: Any = None  # newest LiveResult
        self._drawn_index = -1
        self._t0: float | None = None  # capture time of the first packet shown (strip chart origin)
        self._host0 = 0.0
        self.summary: dict = {}
        self.events: list[str] = []
        self.error_dialogs: list[ErrorDialog] = []
        self._build()
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self.redraw)
        self._timer.start()
        self._on_kind_changed()

    # layout ----------------------------------------------------------------------------------
    def _build(self) -> None:
        icon = self.style().standardIcon
        self.kind_combo = QComboBox(self)
        for kind, label in SOURCES:
            self.kind_combo.addItem(label, kind)
        self.kind_combo.currentIndexChanged.connect(self._on_kind_changed)
        self.path_edit = QLineEdit(self)
        self.path_edit.setPlaceholderText("capture log, recording or dataset JSON")
        self.path_button = QPushButton("…", self)
        self.path_button.clicked.connect(self._choose_source)
        self.rate_spin = QDoubleSpinBox(self)
        self.rate_spin.setRange(0.0, 1e6)
        self.rate_spin.setDecimals(0)
        self.rate_spin.setSpecialValueText("as recorded")
        self.rate_spin.setSuffix(" packets/s")
        self.loop_check = QCheckBox("Loop", self)
        self.loop_check.setToolTip("start the replay over when it ends")
        self.address_edit = QLineEdit("0.0.0.0:5500", self)
        self.hop_spin = QSpinBox(self)
        self.hop_spin.setRange(0, 10_000)
        self.hop_spin.setSpecialValueText("window")
        self.hop_spin.setPrefix("hop ")
        self.ckpt_edit = QLineEdit(self)
        self.ckpt_edit.setPlaceholderText("checkpoint (.pth); empty = latest of the project's output")
        self.ckpt_button = QPushButton("…", self)
        self.ckpt_button.clicked.connect(self._choose_checkpoint)
        self.config_label = QLabel("config: the project's", self)
        self.config_button = QPushButton("Config…", self)
        self.config_button.clicked.connect(self._choose_config)
        self.start_button = QPushButton(icon(QStyle.StandardPixmap.SP_MediaPlay), "Start", self)
        self.start_button.clicked.connect(self._on_start_stop)
        self.pause_button = QPushButton(icon(QStyle.StandardPixmap.SP_MediaPause), "Pause", self)
        self.pause_button.setCheckable(True)
        self.pause_button.setEnabled(False)
        self.pause_button.toggled.connect(self.set_paused)
        self.record_button = QPushButton(icon(QStyle.StandardPixmap.SP_DialogSaveButton), "Record…", self)
        self.record_button.setCheckable(True)
        self.record_button.setEnabled(False)
        self.record_button.toggled.connect(self._on_record_toggled)

        row1 = QHBoxLayout()
        for w in (self.kind_combo, self.path_edit, self.path_button, self.rate_spin, self.loop_check, self.address_edit,
                  self.hop_spin):
            row1.addWidget(w, 1 if w is self.path_edit or w is self.address_edit else 0)
        row2 = QHBoxLayout()
        row2.addWidget(QLabel("Checkpoint", self))
        row2.addWidget(self.ckpt_edit, 1)
        row2.addWidget(self.ckpt_button)
        row2.addWidget(self.config_label)
        row2.addWidget(self.config_button)
        row2.addSpacing(12)
        for b in (self.start_button, self.pause_button, self.record_button):
            row2.addWidget(b)

        self.controls = OverlayControls(self)
        self.controls.optionsChanged.connect(self._redraw_now)
        self.mtn_view = ImageView(self, placeholder="MTN output")
        self.overlay_view = ImageView(self, placeholder="DensePose and keypoints")
        self.amplitude_chart = StripChart("CSI amplitude per antenna pair (mean over subcarriers)", "amplitude", self)
        self.people_chart = StripChart("People found", "people", self, span_s=60.0, step=True)
        self.status = QLabel(EMPTY, self)
        self.status.setWordWrap(True)
        self.event_label = QLabel("", self)
        self.event_label.setWordWrap(True)

        images = QGridLayout()
        for col, (caption, view) in enumerate((("MTN output", self.mtn_view), ("Prediction", self.overlay_view))):
            title = QLabel(caption, self)
            title.setStyleSheet("font-weight: bold;")
            images.addWidget(title, 0, col)
            images.addWidget(view, 1, col)
        image_box = QWidget(self)
        image_box.setLayout(images)
        charts = QSplitter(Qt.Orientation.Vertical, self)
        charts.addWidget(self.amplitude_chart)
        charts.addWidget(self.people_chart)
        charts.setMinimumWidth(420)
        body = QSplitter(self)
        body.addWidget(image_box)
        body.addWidget(charts)
        body.setStretchFactor(0, 1)
        body.setStretchFactor(1, 1)
        body.setSizes([700, 600])
        layout = QVBoxLayout(self)
        layout.addLayout(row1)
        layout.addLayout(row2)
        layout.addWidget(self.controls)
        layout.addWidget(body, 1)
        layout.addWidget(self.status)
        layout.addWidget(self.event_label)

    # wiring ------------------------------------------------------------------------------------
    def set_config_provider(self, provider: Any) -> None:
        """``provider()`` returns the project's CfgNode (used unless a config file was chosen)."""
        self._config_provider = provider

    def set_config_file(self, path: str) -> None:
        """Use the config at ``path`` ("" = the project's)."""
        self._config_file = str(path)
        self.config_label.setText(f"config: {Path(path).name}" if path else "config: the project's")

    def set_checkpoint(self, path: str) -> None:
        self.ckpt_edit.setText(path)

    def set_source(self, kind: str, path: str = "", rate: float | None = None, address: str = "", loop: bool = False) -> None:
        """Choose the source: ``kind`` follow | replay | udp; ``rate`` None = as recorded; ``loop`` a replay."""
        self.kind_combo.setCurrentIndex([k for k, _ in SOURCES].index(kind))
        if path:
            self.path_edit.setText(path)
        self.rate_spin.setValue(rate or 0.0)
        self.loop_check.setChecked(loop)
        if address:
            self.address_edit.setText(address)

    def source_spec(self) -> Any:
        from app.backend.live.source import SourceSpec

        kind = self.kind_combo.currentData()
        rate = self.rate_spin.value() or None
        return SourceSpec(kind, path=self.path_edit.text().strip(), rate=rate, address=self.address_edit.text().strip(),
                          loop=self.loop_check.isChecked())

    def is_running(self) -> bool:
        return self.job.is_running()

    # running -------------------------------------------------------------------------------------
    @Slot()
    def start(self) -> bool:
        """Start predicting the chosen source off the UI thread; False if running or nothing to run."""
        if self.is_running():
            return False
        try:
            cfg = self._config()
        except Exception as exc:
            self._error(str(exc), "")
            return False
        weights = self.ckpt_edit.text().strip() or latest_checkpoint(cfg.OUTPUT_DIR)
        if weights and not os.path.isfile(weights):
            self._error(f"checkpoint not found: {weights}", "")
            return False
        self._reset_display()
        self.control = LiveControl(score_threshold=float(self.controls.min_score.value()))
        self.control.set_paused(self.pause_button.isChecked())
        spec = self.source_spec()
        started = self.job.start(run_live, self._cache, cfg, weights, spec, self.hop_spin.value() or None, self.control)
        if started:
            self.status.setText(f"Starting: {spec.describe()} with {Path(weights).name if weights else 'an untrained model'}…")
            self._set_running(True)
            self.started.emit()
        return started

    @Slot()
    def stop(self) -> None:
        """End the run (the window being predicted finishes first)."""
        self.job.cancel()

    @Slot(bool)
    def set_paused(self, paused: bool) -> None:
        if self.pause_button.isChecked() != paused:
            self.pause_button.setChecked(paused)
            return
        self.pause_button.setText("Resume" if paused else "Pause")
        if self.control is not None:
            self.control.set_paused(paused)

    def start_recording(self, path: str) -> bool:
        """Append the run's predictions to ``path`` (JSON lines); False when the file cannot be opened."""
        if self.control is None:
            return False
        try:
            self.control.start_recording(path, self.source_spec().describe())
        except Exception as exc:
            self._error(str(exc), "")
            return False
        self.record_button.blockSignals(True)
        self.record_button.setChecked(True)
        self.record_button.blockSignals(False)
        self.record_button.setText(f"Recording to {Path(path).name}")
        return True

    def stop_recording(self) -> int:
        lines = self.control.stop_recording() if self.control is not None else 0
        self.record_button.blockSignals(True)
        self.record_button.setChecked(False)
        self.record_button.blockSignals(False)
        self.record_button.setText("Record…")
        return lines

    def shutdown(self) -> None:
        """Stop a run and join its thread (call before closing)."""
        self.job.shutdown(timeout_s=120)
        if self.control is not None:
            self.control.stop_recording()

    # what the job reports --------------------------------------------------------------------------
    @Slot(object)
    def _on_partial(self, item: Any) -> None:
        from app.backend.live.pipeline import LiveResult, PacketTrace

        if isinstance(item, LiveResult):
            self.latest = item
            self.people_chart.append([item.ready_time - self._host0], [[item.people]], ["people"])
        elif isinstance(item, PacketTrace):
            if item.restart:
                self.amplitude_chart.clear()
                self._t0 = None
            if self._t0 is None and len(item.times):
                self._t0 = float(item.times[0])
            self.amplitude_chart.append(item.times - (self._t0 or 0.0), item.amplitude, item.pairs)
        else:  # a StreamEvent
            self.events = [*self.events, f"{item.kind}: {item.message}"][-50:]
            self.event_label.setText(self.events[-1])

    @Slot(object)
    def _on_result(self, summary: dict) -> None:
        self.summary = summary

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        self.status.setText(f"Failed: {message}")
        self._error(message, details)
        self.failed.emit(message)

    @Slot()
    def _on_finished(self) -> None:
        self.redraw()
        self._set_running(False)
        self.stop_recording()
        if self.summary:
            s = self.summary
            self.status.setText(f"Ended: {s['processed']} windows in {s['seconds']:.1f} s, latency p50 "
                                f"{s['latency_p50_ms']:.0f} ms p95 {s['latency_p95_ms']:.0f} ms, dropped {s['dropped']} "
                                f"of {s['windows_made']}, bad input {s['bad_records'] + s['bad_windows'] + s['restarts']}")
        self.finished.emit(dict(self.summary))

    # drawing --------------------------------------------------------------------------------------------
    @Slot()
    def redraw(self) -> None:
        """Draw the newest window if it changed, and the status (called by the timer)."""
        if self.control is not None and self.is_running():
            pipeline = self.control.pipeline
            if pipeline is not None:
                snap = pipeline.stats.snapshot()
                paused = " (paused)" if pipeline.paused else ""
                self.status.setText(snap.status_line().strip() + paused)
            if self.control.record_error:
                self.event_label.setText(f"recording stopped: {self.control.record_error}")
                self.stop_recording()
        if self.latest is not None and self.latest.index != self._drawn_index:
            self._draw(self.latest)

    @Slot(dict)
    def _redraw_now(self, _options: dict) -> None:
        if self.latest is not None:
            self._draw(self.latest)

    def _draw(self, result: Any) -> None:
        from app.backend.vis import render_overlay

        background = result.mtn_image if result.mtn_image is not None else np.zeros_like(result.overlay)
        self.mtn_view.set_image(background)
        # drawn at display size (the prediction is rescaled), so lines and labels stay sharp on a small MTN output
        h, w = background.shape[:2]
        scale = max(1, DRAW_SIZE // max(h, w))
        big = cv2.resize(background, (w * scale, h * scale), interpolation=cv2.INTER_NEAREST)
        self.overlay_view.set_image(render_overlay(big, result.prediction, self.controls.overlay_options()))
        self._drawn_index = result.index
        self.resultShown.emit(result.index)

    def _reset_display(self) -> None:
        self.latest, self._drawn_index, self._t0, self.summary, self.events = None, -1, None, {}, []
        self._host0 = time.time()
        self.amplitude_chart.clear()
        self.people_chart.clear()
        self.mtn_view.set_image(None)
        self.overlay_view.set_image(None)
        self.event_label.setText("")

    def _set_running(self, running: bool) -> None:
        icon = self.style().standardIcon
        self.start_button.setText("Stop" if running else "Start")
        self.start_button.setIcon(icon(QStyle.StandardPixmap.SP_MediaStop if running else QStyle.StandardPixmap.SP_MediaPlay))
        self.pause_button.setEnabled(running)
        self.record_button.setEnabled(running)
        for w in (self.kind_combo, self.path_edit, self.path_button, self.rate_spin, self.loop_check, self.address_edit,
                  self.hop_spin, self.ckpt_edit, self.ckpt_button, self.config_button):
            w.setEnabled(not running)
        if not running:
            self._on_kind_changed()

    def _config(self) -> Any:
        if self._config_file:
            from app.backend.config import load_config

            return load_config(self._config_file)
        if self._config_provider is None:
            raise ValueError("no config: open a project or choose a config file")
        return self._config_provider()

    # dialogs ------------------------------------------------------------------------------------------------
    @Slot()
    def _on_start_stop(self) -> None:
        if self.is_running():
            self.stop()
        else:
            self.start()

    @Slot()
    def _on_kind_changed(self, *_args: object) -> None:
        kind = self.kind_combo.currentData()
        for w in (self.path_edit, self.path_button):
            w.setVisible(kind != "udp")
        self.rate_spin.setVisible(kind == "replay")
        self.loop_check.setVisible(kind == "replay")
        self.address_edit.setVisible(kind == "udp")

    @Slot()
    def _choose_source(self) -> None:
        patterns = " ".join("*" + e for e in CSI_FILE_EXTENSIONS)
        path, _ = QFileDialog.getOpenFileName(self, "CSI log, recording or dataset", "",
                                              f"CSI and datasets ({patterns} *.json);;All files (*)")
        if path:
            self.path_edit.setText(path)

    @Slot()
    def _choose_checkpoint(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Checkpoint", "", "Checkpoints (*.pth *.pkl)")
        if path:
            self.ckpt_edit.setText(path)

    @Slot()
    def _choose_config(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Config of the model (empty: the project's)", "", "YAML (*.yaml)")
        self.set_config_file(path)

    @Slot(bool)
    def _on_record_toggled(self, on: bool) -> None:
        if not on:
            self.stop_recording()
            return
        path, _ = QFileDialog.getSaveFileName(self, "Record predictions", "predictions.jsonl", "JSON lines (*.jsonl)")
        if not path or not self.start_recording(path):
            self.stop_recording()

    def _error(self, message: str, details: str) -> None:
        dialog = ErrorDialog("Live sensing failed", message, details, self)
        self.error_dialogs.append(dialog)
        dialog.show()

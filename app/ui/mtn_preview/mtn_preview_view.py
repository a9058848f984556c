"""MTN preview: what the modality-translation network makes of a CSI recording, window by window.

Panels (left to right, top to bottom): raw amplitude, raw phase and sanitized phase of the
whole recording as (antenna pair x subcarrier) rows x packet columns with the current window
marked; the MTN output of the current window (three channels and an RGB composite) and the
paired RGB frame. A slider scrubs through the windows (``INPUT.CSI.PACKETS_PER_SAMPLE``
packets each, non-overlapping). Reading, sanitizing and the MTN forward pass run as jobs on
two runners: opening another file replaces a running read; while the MTN runs, the latest
slider position waits and runs next (the model is slower than scrubbing).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QGridLayout, QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from app.backend.data.csi import CSI_FILE_EXTENSIONS, as_params, build_model_input, num_windows, read_csi
from app.backend.data.csi.summary import process_recording
from app.ui.common.model_cache import ModelCache
from app.ui.common.start_folder import start_folder
from app.widgets.heatmap_view import HeatmapView, csi_image
from app.widgets.icons import icon
from app.widgets.job_runner import JobRunner, TaskState, failure_text
from app.widgets.shortcuts import button_shortcut

CSI_FILTER = f"CSI recordings ({' '.join('*' + e for e in CSI_FILE_EXTENSIONS)});;All files (*)"
NO_FRAME = "No paired frame: open a sample from the Dataset view (MTN preview) to see its RGB frame"


def load_recording(state: TaskState, path: Path, frame: Path | None) -> dict[str, Any]:
    """Job: read + repair + sanitize a whole recording; read the paired frame (RGB) if given.

    Returns the panels' images of the whole recording (float32 (rows, packets)), the
    recording, the frame (RGB uint8 (H, W, 3) or None) and notes.
    """
    rec = read_csi(path)
    proc = process_recording(rec)
    rgb = None
    if frame is not None and frame.is_file():
        bgr = cv2.imdecode(np.fromfile(str(frame), np.uint8), cv2.IMREAD_COLOR)
        rgb = None if bgr is None else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    return {
        "path": path,
        "recording": rec,
        "amplitude": csi_image(proc.amplitude),
        "phase": csi_image(rec.phase),
        "sanitized": csi_image(proc.sanitized_phase),
        "frame": rgb,
        "notes": list(rec.notes) + ([f"{proc.repaired} non-finite values repaired"] if proc.repaired else []),
    }


def translate_window(state: TaskState, cache: ModelCache, cfg: Any, weights: str, rec: Any, start: int) -> dict:
    """Job: MTN forward pass for the window at packet ``start``: ``{"start", "channels": float32
    (3, H, W), "composite": RGB uint8 (H, W, 3)}``."""
    import torch

    model = cache.get(cfg, weights).model
    x, _ = build_model_input(rec, cfg, start)
    with torch.no_grad():
        out = model.translate([{"csi": torch.as_tensor(x)}])[0].float().cpu().numpy()
    lo, hi = float(out.min()), float(out.max())
    comp = ((out - lo) / (hi - lo + 1e-6) * 255.0).clip(0, 255).astype(np.uint8).transpose(1, 2, 0)
    if str(cfg.INPUT.FORMAT).upper() == "BGR":
        comp = comp[:, :, ::-1]  # channels are in the model's INPUT.FORMAT order
    return {"start": start, "channels": out, "composite": np.ascontiguousarray(comp)}


class MtnPreviewView(QWidget):
    """Signals: ``loaded()``, ``mtnUpdated(int)`` (window start packet), ``failed(str)``, ``message(str)``."""

    loaded = Signal()
    mtnUpdated = Signal(int)
    failed = Signal(str)
    message = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.cfg = None
        self.weights = ""
        self.payload: dict[str, Any] | None = None
        self.mtn: dict[str, Any] | None = None
        self._cache = ModelCache()
        self._loading = Path()
        self.load_job = JobRunner(self, replace=True, name="csi-load")  # the latest file opened wins
        self.load_job.result.connect(self._on_loaded)
        self.load_job.failed.connect(self._on_load_failed)
        self.mtn_job = JobRunner(self, name="mtn")  # refuses while busy: the window asked for waits
        self.mtn_job.result.connect(self._on_mtn)
        self.mtn_job.failed.connect(self._on_mtn_failed)
        self.mtn_job.finished.connect(self._on_mtn_finished)
        self._mtn_pending: int | None = None

        self.open_button = QPushButton(icon("open"), "Open CSI file…", self)
        button_shortcut(self.open_button, "Ctrl+Shift+O", self,
                        f"Open a CSI recording ({', '.join(CSI_FILE_EXTENSIONS)})")
        self.path_label = QLabel("no recording", self)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setEnabled(False)
        self.window_label = QLabel("", self)
        self.note = QLabel("", self)
        self.note.setWordWrap(True)
        bar = QHBoxLayout()
        bar.addWidget(self.open_button)
        bar.addWidget(self.path_label, 1)
        bar.addWidget(self.slider, 2)
        bar.addWidget(self.window_label)

        packets = "packet (time)"
        rows = "antenna pair x subcarrier"
        no_file = "Open a CSI file to see its {}"
        self.amplitude = HeatmapView("raw amplitude", self, "viridis", packets, rows, no_file.format("amplitude"))
        self.phase = HeatmapView("raw phase [rad]", self, "CET-C1", packets, rows, no_file.format("phase"))
        self.sanitized = HeatmapView("sanitized phase [rad]", self, "CET-D1", packets, rows,
                                     no_file.format("sanitized phase"))
        self.channels = [HeatmapView(f"MTN channel {c}", self, "inferno") for c in range(3)]
        self.composite = HeatmapView("MTN output (RGB composite)", self)
        self.frame = HeatmapView("paired RGB frame", self, empty=NO_FRAME)
        grid = QGridLayout()
        for col, w in enumerate((self.amplitude, self.phase, self.sanitized)):
            grid.addWidget(w, 0, col * 2, 1, 2)
        for col, w in enumerate([*self.channels, self.composite, self.frame]):
            grid.addWidget(w, 1 + col // 3, (col % 3) * 2, 1, 2)
        lay = QVBoxLayout(self)
        lay.addLayout(bar)
        lay.addWidget(self.note)
        lay.addLayout(grid, 1)
        self._show_mtn_state()
        self.open_button.clicked.connect(self._ask_open)
        self.slider.valueChanged.connect(self._on_slider)

    # -- inputs -------------------------------------------------------------------------
    def set_model(self, cfg, weights: str | Path = "") -> None:
        """Config (CSI modality) and checkpoint of the model whose MTN is previewed ("" = random weights)."""
        self.cfg, self.weights = cfg, str(weights or "")
        self._show_mtn_state()
        if self.payload is not None and self._has_mtn():
            self._request_mtn(self.current_start())

    def _has_mtn(self) -> bool:
        return self.cfg is not None and str(self.cfg.INPUT.MODALITY).lower() == "csi"

    def _show_mtn_state(self) -> None:
        """Say in the MTN panels why they are empty: no project, an image config, or no file yet."""
        if self.mtn is not None and self._has_mtn():
            return
        if self.cfg is None:
            text = "No model: open a project (File > Open project…)"
        elif not self._has_mtn():
            text = "The config trains on images (INPUT.MODALITY image): there is no MTN to preview"
        else:
            text = ("Open a CSI file: the MTN output of its first window appears here"
                    + ("" if self.weights else " (random weights until a run saves a checkpoint)"))
        for view in [*self.channels, self.composite]:
            view.show_message(text)

    def _ask_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open CSI recording", start_folder("dataset"), CSI_FILTER)
        if path:
            self.open_file(Path(path))

    def open_file(self, path: Path) -> None:
        """Preview a CSI file (.dat, .mat, .npz, .npy) without a paired frame."""
        self.open_sample(path, None)

    def open_sample(self, csi_path: Path, frame_path: Path | None = None) -> None:
        """Preview a dataset sample: its CSI file and the paired RGB frame."""
        self._loading = Path(csi_path)
        self.path_label.setText(f"reading {self._loading.name}…")
        self.load_job.start(load_recording, self._loading, None if frame_path is None else Path(frame_path))

    # -- results ------------------------------------------------------------------------
    def packets_per_window(self) -> int:
        return as_params(self.cfg).packets_per_sample

    def current_start(self) -> int:
        return self.slider.value() * self.packets_per_window()

    def _on_loaded(self, payload: dict) -> None:
        self.payload = payload
        rec = payload["recording"]
        self.path_label.setText(f"{Path(payload['path']).name}: {rec.source_format}, {rec.num_packets} packets")
        self.note.setText("; ".join(payload["notes"]))
        self.amplitude.set_data(payload["amplitude"])
        self.phase.set_data(payload["phase"], levels=(-np.pi, np.pi))
        self.sanitized.set_data(payload["sanitized"])
        if payload["frame"] is not None:
            self.frame.set_data(payload["frame"])
        else:
            self.frame.show_message(NO_FRAME)
        n = num_windows(rec.num_packets, self.packets_per_window())
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(n - 1, 0))
        self.slider.setValue(0)
        self.slider.setEnabled(n > 1)
        self.slider.blockSignals(False)
        self._show_window()
        self.loaded.emit()
        if n == 0:
            self._on_failed(f"{rec.num_packets} packets: too few for one window of {self.packets_per_window()}")
        elif self._has_mtn():
            self._request_mtn(0)

    def _show_window(self) -> None:
        if self.payload is None:
            return
        p = self.packets_per_window()
        start = self.current_start()
        n = self.slider.maximum() + 1
        self.window_label.setText(f"window {self.slider.value() + 1}/{n} (packets {start}..{start + p - 1})")
        for view in (self.amplitude, self.phase, self.sanitized):
            view.set_region(start, start + p)

    def _on_slider(self, _value: int) -> None:
        self._show_window()
        if self._has_mtn():
            self._request_mtn(self.current_start())

    def _request_mtn(self, start: int) -> None:
        if self.payload is None:
            return
        args = (self._cache, self.cfg, self.weights, self.payload["recording"], start)
        if not self.mtn_job.start(translate_window, *args):
            self._mtn_pending = start  # runs when the current pass has finished

    def _on_mtn(self, result: dict) -> None:
        self.mtn = result
        for c, view in enumerate(self.channels):
            view.set_data(result["channels"][c])
        self.composite.set_data(result["composite"])
        self.mtnUpdated.emit(int(result["start"]))

    def _on_mtn_finished(self) -> None:
        if self._mtn_pending is not None:
            start, self._mtn_pending = self._mtn_pending, None
            self._request_mtn(start)

    def _on_load_failed(self, message: str, details: str) -> None:
        self._on_failed(failure_text(f"cannot preview {self._loading.name}", message, details))

    def _on_mtn_failed(self, message: str, details: str) -> None:
        self._on_failed(failure_text("MTN preview failed", message, details))

    def _on_failed(self, text: str) -> None:
        self.note.setText(text)
        self.message.emit(text.splitlines()[0])
        self.failed.emit(text)

    def shutdown(self) -> None:
        """Cancel the read and the MTN pass and join their threads (call before closing)."""
        self._mtn_pending = None
        self.load_job.shutdown()
        self.mtn_job.shutdown()

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)

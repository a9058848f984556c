"""Inference view: run a checkpoint on an image, a CSI file or a dataset sample; inspect overlays.

The model runs off the UI thread, one run at a time, on the view's
:class:`~app.widgets.job_runner.JobRunner`. The result
(a FramePrediction plus the background frame) is cached, so the overlay toggles and the
opacity re-render with :func:`app.backend.vis.render_overlay` without running the model again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from app.backend.checkpoint import latest_checkpoint
from app.backend.data.csi import CSI_FILE_EXTENSIONS
from app.backend.structures import FramePrediction
from app.ui.common.error_dialog import ErrorDialog
from app.ui.common.model_cache import ModelCache
from app.ui.common.start_folder import start_folder, start_path
from app.widgets.image_view import ImageView
from app.widgets.instance_table import InstanceTable
from app.widgets.job_runner import JobRunner, TaskState
from app.widgets.overlay_controls import OverlayControls

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
GT_EMPTY = "The ground truth of a dataset sample appears here when you Run it."
GT_NONE = "A file has no ground truth: pick a dataset sample to compare with one."
PRED_EMPTY = "Press Run to see what the checkpoint predicts for the chosen sample or file."


@dataclass
class InferenceResult:
    """What the view caches per run. Images are BGR uint8 (H, W, 3) in the prediction's (H, W)."""

    prediction: FramePrediction
    background: np.ndarray
    ground_truth: FramePrediction | None = None
    mtn_image: np.ndarray | None = None
    source: str = ""


class SampleFile:
    """The sample list's dataset file as it is on disk now.

    The list is read once per project, but the file changes (the editor saves its edits
    there): :meth:`current` re-reads it when its size or mtime changed and returns the
    record of the same image, so a sample's ground truth is never an old version. Used by
    one inference job at a time (the view's runner runs one), so it needs no lock.
    """

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._records: dict[tuple, dict] = {}

    def current(self, cfg: Any, record: dict) -> dict:
        """``record`` as the config's sample dataset file holds it now (``record`` itself when the
        image is no longer there or the sample came from another dataset)."""
        from app.backend.annotations.journal import file_identity
        from app.backend.data import load_coco_densepose_json

        name, json_file = sample_dataset(cfg)
        if not json_file or not os.path.isfile(json_file):
            return record
        identity = file_identity(json_file)
        key = (json_file, identity["size"], identity["mtime_ns"])
        if key != self._key:
            records = load_coco_densepose_json(json_file, name, check_files=False)
            self._records = {(r["image_id"], r.get("file_name")): r for r in records}
            self._key = key
        return self._records.get((record.get("image_id"), record.get("file_name")), record)


def run_inference(state: TaskState, cache: ModelCache, cfg: Any, weights: str, source: dict | str,
                  samples: SampleFile | None = None) -> InferenceResult:
    """Job: predict one dataset dict or file path (image or CSI) and return the cached-view result.

    A dataset dict is first brought up to date from its file by ``samples`` (when given).
    """
    from app.backend.errors import UserFacingError
    from app.backend.vis import ground_truth_frame

    if weights and not os.path.isfile(weights):
        raise UserFacingError(f"checkpoint not found: {weights}")
    if isinstance(source, dict) and samples is not None:
        source = samples.current(cfg, source)
    predictor = cache.get(cfg, weights)
    state.raise_if_cancelled()  # the view closed while the model loaded
    gt = None
    if isinstance(source, dict):
        out = predictor.predict_record(source)
        name = source.get("file_name") or source.get("csi_file") or str(source.get("image_id"))
        background = _read(source.get("file_name"))
        if source.get("annotations") is not None:
            gt = ground_truth_frame(source)
    elif Path(source).suffix.lower() in IMAGE_SUFFIXES:
        image = _read(source)
        if image is None:
            raise UserFacingError(f"cannot read image {source}")
        out = predictor.predict_image(image)
        name, background = source, image
    else:
        out = predictor.predict_csi(source)
        name, background = source, None
    h, w = out.prediction.image_size
    if background is None:
        background = out.mtn_image if out.mtn_image is not None else np.zeros((h, w, 3), np.uint8)
    if background.shape[:2] != (h, w):
        background = cv2.resize(background, (int(w), int(h)), interpolation=cv2.INTER_AREA)
    return InferenceResult(out.prediction, background, gt, out.mtn_image, str(name))


def _read(path: str | None) -> np.ndarray | None:
    if path and os.path.isfile(path):
        return cv2.imread(str(path), cv2.IMREAD_COLOR)
    return None


class InferenceView(QWidget):
    """Source + checkpoint pickers, overlay toggles, prediction (and ground truth) images, instance table.

    Signals:
        resultReady(): a prediction arrived and was drawn.
        failed(str): a run failed (message).
    """

    resultReady = Signal()
    failed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._config_provider: Any = None
        self._cache = ModelCache()
        self._sample_file = SampleFile()
        self.job = JobRunner(self, name="inference")  # one run at a time: Run is refused while one runs
        self.job.result.connect(self.on_result)
        self.job.failed.connect(self.on_failed)
        self.job.finished.connect(self._on_finished)
        self._records: list[dict] = []
        self._source: dict | str | None = None
        self.result: InferenceResult | None = None
        self._untrained_note = ""  # said after the result when no checkpoint was found
        self.error_dialogs: list[ErrorDialog] = []

        icon, sp = self.style().standardIcon, QStyle.StandardPixmap
        self.sample_combo = QComboBox(self)
        self.sample_combo.setMinimumWidth(180)
        self.sample_combo.setToolTip("a sample of the config's test dataset (its ground truth is shown beside)")
        self.sample_combo.currentIndexChanged.connect(self._on_sample_chosen)
        self.image_button = QPushButton(icon(sp.SP_DialogOpenButton), "Image / CSI file…", self)
        self.image_button.setToolTip("predict an image or a CSI capture from a file instead of a sample")
        self.image_button.clicked.connect(self._choose_file)
        self.ckpt_edit = QLineEdit(self)
        self.ckpt_edit.setPlaceholderText("empty: the latest of the project's output")
        self.ckpt_edit.setToolTip("the checkpoint (.pth, or a model-zoo .pkl) to predict with")
        self.ckpt_button = QPushButton(icon(sp.SP_DirOpenIcon), "Browse…", self)
        self.ckpt_button.setToolTip("choose a checkpoint file")
        self.ckpt_button.clicked.connect(self._choose_checkpoint)
        self.run_button = QPushButton(icon(sp.SP_MediaPlay), "Run", self)
        self.run_button.setToolTip("predict the chosen sample or file (off the UI thread)")
        self.run_button.clicked.connect(self.run)
        self.export_button = QPushButton(icon(sp.SP_DialogSaveButton), "Export PNG…", self)
        self.export_button.setToolTip("save ground truth and prediction side by side as a PNG")
        self.export_button.clicked.connect(self._export_dialog)
        self.controls = OverlayControls(self)
        self.controls.optionsChanged.connect(self.rerender)
        self.status = QLabel("Pick a sample or a file and a checkpoint, then Run.", self)
        self.status.setWordWrap(True)  # a long path or message wraps instead of widening the window
        self.gt_view = ImageView(self, placeholder=GT_EMPTY)
        self.pred_view = ImageView(self, placeholder=PRED_EMPTY)
        self.table = InstanceTable(self)

        row1 = QHBoxLayout()
        row1.addWidget(QLabel("Sample", self))
        row1.addWidget(self.sample_combo)
        row1.addWidget(self.image_button)
        row1.addSpacing(12)
        row1.addWidget(QLabel("Checkpoint", self))
        row1.addWidget(self.ckpt_edit, 1)
        row1.addWidget(self.ckpt_button)
        row1.addWidget(self.run_button)
        row1.addWidget(self.export_button)
        images = QSplitter(self)
        for caption, image_view in (("Ground truth", self.gt_view), ("Prediction", self.pred_view)):
            box = QWidget(self)
            bl = QVBoxLayout(box)
            bl.setContentsMargins(0, 0, 0, 0)
            title = QLabel(caption, box)
            title.setStyleSheet("font-weight: bold;")
            bl.addWidget(title)
            bl.addWidget(image_view, 1)
            images.addWidget(box)
        vs = QSplitter(Qt.Orientation.Vertical, self)
        vs.addWidget(images)
        vs.addWidget(self.table)
        vs.setStretchFactor(0, 3)
        vs.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(row1)
        layout.addWidget(self.controls)
        layout.addWidget(vs, 1)
        layout.addWidget(self.status)

    # wiring --------------------------------------------------------------------------
    def set_config_provider(self, provider: Any) -> None:
        """``provider()`` returns the CfgNode of the model to load."""
        self._config_provider = provider

    def set_samples(self, records: list[dict]) -> None:
        """Dataset dicts offered in the sample list (detectron2 format)."""
        self._records = list(records)
        self.sample_combo.blockSignals(True)
        self.sample_combo.clear()
        for r in self._records:
            self.sample_combo.addItem(Path(str(r.get("file_name") or r.get("csi_file") or r.get("image_id"))).name)
        self.sample_combo.blockSignals(False)
        if self._records:
            self.sample_combo.setCurrentIndex(0)
            self._source = self._records[0]

    def current_sample(self) -> dict | None:
        """The dataset dict chosen in the sample list (None when there are no samples)."""
        index = self.sample_combo.currentIndex()
        return self._records[index] if 0 <= index < len(self._records) else None

    def set_checkpoint(self, path: str) -> None:
        self.ckpt_edit.setText(path)

    def set_source(self, source: dict | str) -> None:
        self._source = source

    def is_busy(self) -> bool:
        return self.job.is_running()

    # running -------------------------------------------------------------------------
    @Slot()
    def run(self) -> bool:
        """Predict the chosen source off the UI thread; False if busy or nothing chosen."""
        if self.is_busy() or self._source is None or self._config_provider is None:
            return False
        try:
            cfg = self._config_provider()
        except Exception as exc:
            self._error(str(exc), "")
            return False
        weights = self.ckpt_edit.text().strip() or latest_checkpoint(cfg.OUTPUT_DIR)
        self._untrained_note = "" if weights else (
            f" by an UNTRAINED model: no checkpoint in {cfg.OUTPUT_DIR} yet (train one, or Browse… for a .pth)")
        self.status.setText(f"Running {Path(weights).name if weights else 'an untrained model'}…")
        self.run_button.setEnabled(False)
        return self.job.start(run_inference, self._cache, cfg, weights, self._source, self._sample_file)

    @Slot(object)
    def on_result(self, result: InferenceResult) -> None:
        self.result = result
        self.table.set_prediction(result.prediction)
        self.rerender()
        n = len(result.prediction)
        found = f"{n} {'person' if n == 1 else 'people'} found"
        self.status.setText(f"{Path(result.source).name}: {found}{self._untrained_note}")
        self.resultReady.emit()

    @Slot(str, str)
    def on_failed(self, message: str, details: str) -> None:
        self.status.setText(f"Failed: {message}")
        self._error(message, details)
        self.failed.emit(message)

    @Slot()
    def _on_finished(self) -> None:
        self.run_button.setEnabled(True)

    def shutdown(self) -> None:
        """Cancel a run and join its thread (call before closing)."""
        self.job.shutdown(timeout_s=120)

    # drawing ---------------------------------------------------------------------------
    def overlay_options(self) -> Any:
        return self.controls.overlay_options()

    @Slot()
    @Slot(dict)
    def rerender(self, _options: dict | None = None) -> None:
        """Draw the cached result with the current toggles (no model run)."""
        if self.result is None:
            return
        from app.backend.vis import render_overlay

        opts = self.overlay_options()
        self.pred_view.set_image(render_overlay(self.result.background, self.result.prediction, opts))
        if self.result.ground_truth is not None:
            self.gt_view.set_image(render_overlay(self.result.background, self.result.ground_truth, opts))
        else:
            self.gt_view.placeholder = GT_NONE
            self.gt_view.set_image(None)

    def composed_image(self) -> np.ndarray | None:
        """BGR uint8: ground truth beside prediction when there is ground truth, else the prediction."""
        pred = self.pred_view.image()
        if pred is None:
            return None
        gt = self.gt_view.image()
        if gt is None:
            return pred
        from app.backend.vis import side_by_side

        return side_by_side(gt, pred)

    def export_png(self, path: str | Path) -> bool:
        image = self.composed_image()
        return image is not None and bool(cv2.imwrite(str(path), image))

    # dialogs ------------------------------------------------------------------------------
    @Slot(int)
    def _on_sample_chosen(self, index: int) -> None:
        if 0 <= index < len(self._records):
            self._source = self._records[index]

    @Slot()
    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Image or CSI file", start_folder("dataset"),
                                              f"Images and CSI (*.jpg *.jpeg *.png {' '.join('*' + e for e in CSI_FILE_EXTENSIONS)});;All (*)")
        if path:
            self._source = path
            self.status.setText(f"Source: {path}")

    @Slot()
    def _choose_checkpoint(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Checkpoint", start_folder("output", self.ckpt_edit.text()),
                                              "Checkpoints (*.pth *.pkl)")
        if path:
            self.ckpt_edit.setText(path)

    @Slot()
    def _export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export PNG", start_path("output", "prediction.png"), "PNG (*.png)")
        if path and not self.export_png(path):
            self.status.setText("Nothing to export yet.")

    def _error(self, message: str, details: str) -> None:
        dialog = ErrorDialog("Inference failed", message, details, self)
        self.error_dialogs.append(dialog)
        dialog.show()


def sample_dataset(cfg: Any) -> tuple[str | None, str | None]:
    """(name, JSON file) of the dataset the samples come from: the config's first test dataset,
    else its first train dataset; (None, None) when it names none (registers the datasets)."""
    from detectron2.data import MetadataCatalog

    from app.backend.data import register_datasets

    register_datasets(cfg)
    names = list(cfg.DATASETS.TEST) or list(cfg.DATASETS.TRAIN)
    if not names:
        return None, None
    return names[0], MetadataCatalog.get(names[0]).get("dataset_json")


def dataset_samples(cfg: Any, limit: int = 200) -> list[dict]:
    """Up to ``limit`` dataset dicts of the dataset :func:`sample_dataset` names."""
    from detectron2.data import DatasetCatalog

    name, _ = sample_dataset(cfg)
    return [] if name is None else list(DatasetCatalog.get(name))[:limit]


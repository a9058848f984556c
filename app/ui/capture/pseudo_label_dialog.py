"""Pseudo-label the Dataset view's selection or whole files with an image teacher.

:func:`make_pseudo_label_actions` gives the Dataset view two QActions ("Pseudo-label
selection…", "Pseudo-label whole dataset…"). Each saves and closes the open editing
sessions, runs :func:`app.backend.capture.pseudo_label.pseudo_label_dataset` on each
dataset file in place (atomic write; frames with human labels are left alone) on a worker
thread, and reopens the files when the dialog closes (new labels are drawn dashed until
accepted).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QPalette
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from app.ui.capture.capture_job_dialog import CaptureJobDialog
from app.ui.capture.import_dialog import PathField

Target = tuple[Path, list | None]  # dataset JSON, image ids (None = all)
CONFIG_FILTER = "Configs (*.yaml *.yml);;All files (*)"
WEIGHTS_FILTER = "Checkpoints (*.pth *.pkl);;All files (*)"
WEIGHTS_HINT = (
    "The teacher's trained weights: an image DensePose model trained on frames like yours (.pth), or "
    "DensePose's model-zoo densepose_rcnn_R_50_FPN_s1x (.pkl), which the default teacher config loads as it is."
)
NO_WEIGHTS = "Choose the teacher weights first: an untrained teacher would label nothing useful."


def scope_text(targets: list[Target]) -> str:
    """``"1 selected image in val.json"``, ``"12 selected images in …"``, ``"every image in …"``."""
    names = ", ".join(p.name for p, _ in targets)
    if not all(ids is not None for _, ids in targets):
        return f"every image in {names}"
    n = sum(len(ids) for _, ids in targets)
    return f"{n} selected image{'' if n == 1 else 's'} in {names}"


def targets_from_rows(index: Any, rows: list[int] | None) -> list[Target]:
    """Dataset files and image ids of ``rows`` of a DatasetIndex (None = every image of every file)."""
    if index is None:
        return []
    if rows is None:
        return [(Path(d.path), None) for d in index.docs]
    out: list[Target] = []
    for d, doc in enumerate(index.docs):
        ids = [index.image_ids[r].item() for r in rows if index.doc_of[r] == d]
        if ids:
            out.append((Path(doc.path), ids))
    return out


def run_targets(
    targets: list[Target], settings: dict, progress: Callable | None = None, should_stop: Callable | None = None
):
    """Pseudo-label each target in place, one after the other; returns the list of reports."""
    from app.backend.capture.pseudo_label import PseudoLabelOptions, pseudo_label_dataset

    reports = []
    for path, ids in targets:
        opt = PseudoLabelOptions(dataset=path, out=path, image_ids=ids, **settings)
        report = pseudo_label_dataset(opt, progress=progress, should_stop=should_stop)
        reports.append(report)
        if not report.complete:
            break
    return _Combined(reports)


class _Combined:
    """Several reports shown as one (what the worker's ``done`` carries)."""

    def __init__(self, reports: list) -> None:
        self.reports = reports
        self.complete = all(r.complete for r in reports)

    def lines(self) -> list[str]:
        return [f"{r.out.name}: {line}" for r in self.reports for line in r.lines()]


class PseudoLabelDialog(CaptureJobDialog):
    """Teacher settings, progress and log. Signal ``labelled(list)``: the dataset paths rewritten."""

    labelled = Signal(list)
    closed = Signal()

    def __init__(self, targets: list[Target], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from app.backend.config import builtin_config

        self.targets = list(targets)
        self.setWindowTitle("Pseudo-label with an image teacher")
        self.resize(640, 420)
        self.scope = QLabel(scope_text(self.targets), self)
        self.config = PathField(self, "Teacher config", file_filter=CONFIG_FILTER)
        self.config.set_text(builtin_config("image_densepose_R50_FPN_s1x"))
        self.weights = PathField(self, "Teacher weights", file_filter=WEIGHTS_FILTER)
        self.weights.edit.setPlaceholderText("required: a .pth checkpoint or a model-zoo .pkl")
        self.weights.setToolTip(WEIGHTS_HINT)
        self.weights_hint = QLabel(WEIGHTS_HINT, self)
        self.weights_hint.setWordWrap(True)
        hint = self.weights_hint.palette()
        hint.setColor(QPalette.ColorRole.WindowText, hint.color(QPalette.ColorRole.PlaceholderText))
        self.weights_hint.setPalette(hint)
        self.kp_config = PathField(self, "Keypoint teacher config (optional)", file_filter=CONFIG_FILTER)
        self.kp_weights = PathField(self, "Keypoint teacher weights", file_filter=WEIGHTS_FILTER)
        self.overrides = QLineEdit(self)
        self.overrides.setPlaceholderText("KEY VALUE … (config overrides, optional)")
        self.score = QDoubleSpinBox(self)
        self.score.setRange(0.0, 1.0)
        self.score.setSingleStep(0.05)
        self.score.setValue(0.7)
        form = QFormLayout()
        form.addRow("Frames", self.scope)
        form.addRow("Teacher config", self.config)
        form.addRow("Teacher weights", self.weights)
        form.addRow("", self.weights_hint)
        form.addRow("Keypoint config", self.kp_config)
        form.addRow("Keypoint weights", self.kp_weights)
        form.addRow("Overrides", self.overrides)
        form.addRow("Score threshold", self.score)
        self.build_job_layout(form, "Pseudo-label", "Cancel")

    def settings(self) -> dict:
        opts = shlex.split(self.overrides.text())
        if self.weights.text():
            opts += ["MODEL.WEIGHTS", self.weights.text()]
        return {
            "config_file": self.config.text(),
            "opts": opts,
            "keypoint_config": self.kp_config.text() or None,
            "keypoint_weights": self.kp_weights.text() or None,
            "score_thresh": float(self.score.value()),
        }

    def has_weights(self) -> bool:
        """Whether the teacher gets weights: the field, an override or its config's MODEL.WEIGHTS."""
        if self.weights.text() or "MODEL.WEIGHTS" in shlex.split(self.overrides.text()):
            return True
        from app.backend.config import load_config

        try:
            return bool(load_config(self.config.text()).MODEL.WEIGHTS)
        except Exception:  # a config that does not load: the job says why
            return True

    def start(self) -> None:
        if self.running or not self.targets:
            return
        if not self.has_weights():
            self.status.setText(NO_WEIGHTS)
            self.weights.edit.setFocus()
            return
        self.launch(run_targets, self.targets, self.settings(), status="loading the teacher…")

    stopping_text = "stopping after the current image…"

    def _on_done(self, report) -> None:
        self.log.setPlainText("\n".join(report.lines()))
        if report.complete:
            self.progress.setValue(100)
            self.status.setText("done")
        else:
            self.status.setText("cancelled: press Pseudo-label again to resume")
        self.labelled.emit([r.out for r in report.reports if r.complete])

    def closeEvent(self, event) -> None:
        super().closeEvent(event)
        self.closed.emit()


def open_pseudo_label_dialog(view: Any, selection_only: bool) -> PseudoLabelDialog | None:
    """Save and close the view's editing sessions, then show the dialog for its selection / files.

    The files stay closed while the dialog is open (it rewrites them in place); when it
    closes, the view reopens what it had open, with the new labels.
    """
    index = getattr(view, "index", None)
    if index is None:
        view.message.emit("open a dataset first")
        return None
    rows = view.selected_rows() if selection_only else None
    if selection_only and not rows:
        view.message.emit("select images in the grid first")
        return None
    targets = targets_from_rows(index, rows)
    open_paths = [Path(d.path) for d in index.docs]
    view.shutdown_sessions()
    dialog = PseudoLabelDialog(targets, view)
    dialog.closed.connect(lambda: view.open_paths(open_paths))
    dialog.show()
    return dialog


def make_pseudo_label_actions(view: Any) -> tuple[QAction, QAction]:
    """("Pseudo-label selection…", "Pseudo-label whole dataset…") actions for the Dataset view."""
    sel = QAction("Pseudo-label selection…", view)
    sel.setToolTip("label the selected frames with an image DensePose teacher")
    sel.triggered.connect(lambda: open_pseudo_label_dialog(view, True))
    whole = QAction("Pseudo-label whole dataset…", view)
    whole.setToolTip("label every frame without human labels with an image DensePose teacher")
    whole.triggered.connect(lambda: open_pseudo_label_dialog(view, False))
    return sel, whole


__all__ = [
    "PseudoLabelDialog",
    "make_pseudo_label_actions",
    "open_pseudo_label_dialog",
    "run_targets",
    "targets_from_rows",
]

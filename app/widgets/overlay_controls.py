"""Toggles and opacity for prediction overlays; emits the choice as a plain dict."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QHBoxLayout, QLabel, QSlider, QWidget

from app.backend.vis import OverlayOptions

#: Layer name -> label, in display order. Keys match the ``OverlayOptions`` fields the UI builds.
LAYERS = {
    "boxes": "Boxes",
    "keypoints": "Skeleton",
    "parts": "Parts",
    "u": "U",
    "v": "V",
    "contours": "Contours",
}
DEFAULT_ON = {"boxes": True, "keypoints": True, "parts": True, "u": False, "v": False, "contours": False}


class OverlayControls(QWidget):
    """One checkbox per overlay layer, an opacity slider (0..100 %) and a minimum instance score.

    Signals:
        optionsChanged(dict): ``{"boxes": bool, ..., "alpha": float in [0, 1], "score_threshold": float}``
            after any change (predictions below the threshold are not drawn).
    """

    optionsChanged = Signal(dict)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.checks: dict[str, QCheckBox] = {}
        for name, label in LAYERS.items():
            box = QCheckBox(label, self)
            box.setChecked(DEFAULT_ON[name])
            box.toggled.connect(self._emit)
            layout.addWidget(box)
            self.checks[name] = box
        layout.addSpacing(12)
        layout.addWidget(QLabel("Opacity", self))
        self.opacity = QSlider(Qt.Orientation.Horizontal, self)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(60)
        self.opacity.setMaximumWidth(160)
        self.opacity.valueChanged.connect(self._emit)
        layout.addWidget(self.opacity)
        layout.addSpacing(12)
        layout.addWidget(QLabel("Min score", self))
        self.min_score = QDoubleSpinBox(self)
        self.min_score.setRange(0.0, 1.0)
        self.min_score.setSingleStep(0.05)
        self.min_score.setValue(0.5)
        self.min_score.valueChanged.connect(self._emit)
        layout.addWidget(self.min_score)
        layout.addStretch(1)

    def options(self) -> dict:
        out: dict = {name: box.isChecked() for name, box in self.checks.items()}
        out["alpha"] = self.opacity.value() / 100.0
        out["score_threshold"] = float(self.min_score.value())
        return out

    def overlay_options(self) -> OverlayOptions:
        """The choice as the options :func:`app.backend.vis.render_overlay` takes."""
        o = self.options()
        return OverlayOptions(show_boxes=o["boxes"], show_keypoints=o["keypoints"], show_parts=o["parts"],
                              show_u=o["u"], show_v=o["v"], show_contours=o["contours"], opacity=o["alpha"],
                              score_threshold=o["score_threshold"])

    def set_layer(self, name: str, on: bool) -> None:
        self.checks[name].setChecked(on)

    @Slot()
    def _emit(self) -> None:
        self.optionsChanged.emit(self.options())

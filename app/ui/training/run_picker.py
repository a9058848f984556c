"""The *Run* list of the training view: a project's runs (folders with a metrics.json), newest first."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QComboBox, QWidget

from app.ui.training.run_history import find_runs


class RunPicker(QComboBox):
    """Items are the run folders (item data: absolute path), labelled relative to the project folder."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setToolTip("The project's runs (output folders with a metrics.json), newest first")
        self.setMinimumContentsLength(16)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setPlaceholderText("no runs yet")

    def fill(self, project_root: Path, output_dir: str | Path | None) -> None:
        """List the runs under ``project_root`` and in ``output_dir``."""
        self.clear()
        root = project_root.resolve()
        for folder in find_runs(project_root, output_dir):
            label = str(folder.relative_to(root)) if folder.is_relative_to(root) else str(folder)
            self.addItem(label, str(folder))

    def runs(self) -> list[Path]:
        return [Path(self.itemData(i)) for i in range(self.count())]

    def select(self, folder: str | Path) -> None:
        index = self.findData(str(Path(folder)))
        if index >= 0:
            self.setCurrentIndex(index)

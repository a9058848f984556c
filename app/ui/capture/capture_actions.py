"""The Dataset view's "Capture" menu: import a recording / MM-Fi, pseudo-label selection / whole dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QToolButton

from app.ui.capture.import_dialog import ImportDialog
from app.ui.capture.pseudo_label_dialog import make_pseudo_label_actions


def open_import_dialog(view: Any) -> ImportDialog:
    """Show the import dialog; an imported dataset opens in ``view``."""
    dialog = ImportDialog(view)
    dialog.datasetImported.connect(lambda path: view.open_paths([Path(path)]))
    dialog.show()
    return dialog


def make_capture_button(view: Any) -> QToolButton:
    """A "Capture ▾" tool button for the Dataset view's toolbar (its menu holds the three actions)."""
    button = QToolButton(view)
    button.setText("Capture")
    button.setToolTip("import a recording or MM-Fi; pseudo-label frames with an image teacher")
    button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    imp = QAction("Import recording / MM-Fi…", button)
    imp.triggered.connect(lambda: open_import_dialog(view))
    button.addAction(imp)
    for act in make_pseudo_label_actions(view):
        button.addAction(act)
    return button

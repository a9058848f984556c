"""Config view: the whole ``get_cfg()`` tree of the project's config in a searchable form.

Edits apply to the next run (the training view asks :meth:`ConfigView.current_config`).
Saving writes ``_BASE_`` + only the keys that differ from the base chain.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from detectron2.config import CfgNode
from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.backend.config import ConfigError, config_helps, flatten, get_cfg
from app.ui.common.start_folder import start_folder, start_path
from app.ui.config.config_io import config_choices, load_with_base, write_config_diff
from app.widgets.config_form import ConfigForm, format_value
from app.widgets.icons import icon
from app.widgets.shortcuts import button_shortcut, view_shortcut, with_shortcut


class ConfigView(QWidget):
    """Form over the config + diff against the base chain + load/save YAML.

    Signals:
        configChanged(): a value changed, or another file was loaded.
        saved(str): path written.
    """

    configChanged = Signal()
    saved = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path: Path | None = None
        self.base_path: Path | None = None
        self._choices: dict[str, list[str]] | None = None
        self.form = ConfigForm(self)
        self.form.valueChanged.connect(self._on_value_changed)
        self.form.undo_stack.cleanChanged.connect(self._update_title)
        self.title = QLabel("No config", self)
        self.title.setStyleSheet("font-weight: bold;")
        self.save_button = QPushButton(icon("save"), "Save", self)
        self.save_button.setToolTip("Save the config (File > Save config, Ctrl+S)")
        self.save_button.clicked.connect(self.save)
        self.save_as_button = QPushButton(icon("save-as"), "Save as…", self)
        self.save_as_button.clicked.connect(self._save_as_dialog)
        button_shortcut(self.save_as_button, "Ctrl+Shift+S", self, "Save the config to another YAML file")
        self.open_button = QPushButton(icon("open"), "Load YAML…", self)
        self.open_button.clicked.connect(self._open_dialog)
        button_shortcut(self.open_button, "Ctrl+L", self, "Show another config YAML in the form")
        self.search_action = QAction("Search keys", self)
        self.search_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Find))
        view_shortcut(self.search_action)
        self.search_action.triggered.connect(self._focus_search)
        self.addAction(self.search_action)
        self.form.search.setToolTip(with_shortcut("Search keys and their help", self.search_action))
        self.diff_view = QPlainTextEdit(self)
        self.diff_view.setReadOnly(True)
        self.diff_view.setPlaceholderText("No changes against the base config")

        bar = QHBoxLayout()
        bar.addWidget(self.title, 1)
        for b in (self.open_button, self.save_button, self.save_as_button):
            bar.addWidget(b)
        diff_box = QWidget(self)
        dl = QVBoxLayout(diff_box)
        dl.setContentsMargins(0, 0, 0, 0)
        dl.addWidget(QLabel("Changes against the base config (what Save writes)", self))
        dl.addWidget(self.diff_view, 1)
        split = QSplitter(self)
        split.addWidget(self.form)
        split.addWidget(diff_box)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(split, 1)

    # data --------------------------------------------------------------------------
    def load(self, path: str | Path) -> None:
        """Show the YAML at ``path`` (its ``_BASE_`` chain is the reference for edits)."""
        cfg, base, base_path = load_with_base(path)
        if self._choices is None:
            self._choices = config_choices()
        self.path, self.base_path = Path(path), base_path
        values = flatten(cfg)
        self.form.set_config(values, base=flatten(base), defaults=flatten(get_cfg()),
                             helps=config_helps(list(values)), choices=self._choices)
        self.form.undo_stack.setClean()
        self._refresh_diff()
        self._update_title()
        self.configChanged.emit()

    def current_config(self) -> CfgNode:
        """A fresh CfgNode holding the form's values (what the next run uses)."""
        cfg = get_cfg()
        for key, value in self.form.values().items():
            *parents, leaf = key.split(".")
            node = cfg
            for name in parents:
                node = node[name]
            node[leaf] = value
        return cfg

    def set_value(self, key: str, value: Any) -> None:
        """Programmatic edit (goes through undo like a typed one)."""
        self.form.set_value(key, value)

    @Slot()
    def save(self) -> bool:
        if self.path is None:
            return False
        return self.save_to(self.path)

    def save_to(self, path: str | Path) -> bool:
        """Write ``_BASE_`` + diff to ``path``; on a refused value show why and keep the old file."""
        try:
            write_config_diff(path, self.base_path, self.form.values())
        except ConfigError as exc:
            self.form.message.setText(f"Not saved: {exc}")
            return False
        self.path = Path(path)
        self.form.undo_stack.setClean()
        self._update_title()
        self.saved.emit(str(path))
        return True

    def is_modified(self) -> bool:
        return not self.form.undo_stack.isClean()

    # slots -----------------------------------------------------------------------------
    @Slot(str, object)
    def _on_value_changed(self, _key: str, _value: object) -> None:
        self._refresh_diff()
        self.configChanged.emit()

    @Slot()
    def _update_title(self, *_args: object) -> None:
        name = str(self.path) if self.path else "No config"
        base = f"  (base: {self.base_path.name})" if self.base_path else ""
        self.title.setText(("* " if self.is_modified() else "") + name + base)

    def _refresh_diff(self) -> None:
        lines = [f"{k}: {format_value(old)} → {format_value(new)}" for k, (old, new) in self.form.diff_from_base().items()]
        self.diff_view.setPlainText("\n".join(lines))

    @Slot()
    def _focus_search(self) -> None:
        self.form.search.setFocus()
        self.form.search.selectAll()

    @Slot()
    def _open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load config", start_folder("project", self.path or ""),
                                              "YAML (*.yaml *.yml)")
        if path:
            try:
                self.load(path)
            except ConfigError as exc:
                self.form.message.setText(str(exc))

    @Slot()
    def _save_as_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save config as", str(self.path or start_path("project", "config.yaml")),
                                              "YAML (*.yaml)")
        if path:
            self.save_to(path)

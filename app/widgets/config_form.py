"""Searchable, typed editor over a flat config ``{dotted key: value}``, grouped by node.

The form takes data only: the current values, the values of the base config chain, the
library defaults, one help text per key and the known choices of some string keys. It
keeps one model row per key (no widget per row: editors exist only while a cell is
edited), so a 250-key tree builds in milliseconds. Every accepted edit is a
:class:`SetValueCommand` on :attr:`ConfigForm.undo_stack`; invalid input is refused and
the reason shown under the tree.

Value types follow the default: bool (checkbox), int (spin box), float (spin box), str
(text, or combo box when choices are known), list/tuple (Python/YAML literal text,
validated), None (literal text).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt, Signal, Slot
from PySide6.QtGui import QBrush, QColor, QFont, QStandardItem, QStandardItemModel, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

KEY_ROLE = Qt.ItemDataRole.UserRole + 1
HELP_ROLE = Qt.ItemDataRole.UserRole + 2
EDITED_BG = QColor(255, 236, 179)  # differs from the base config chain
INT_RANGE = (-(2**31), 2**31 - 1)


def format_value(value: Any) -> str:
    """Text shown for ``value``: strings as-is, everything else as a Python literal."""
    return value if isinstance(value, str) else repr(value)


def parse_value(text: str, like: Any) -> Any:
    """Parse ``text`` into a value of the same kind as ``like``; ValueError gives the reason."""
    text = text.strip()
    if isinstance(like, bool):
        low = text.lower()
        if low in ("true", "1", "yes", "on"):
            return True
        if low in ("false", "0", "no", "off"):
            return False
        raise ValueError(f"expected true or false, got {text!r}")
    if isinstance(like, int):
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"expected an integer, got {text!r}") from None
    if isinstance(like, float):
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"expected a number, got {text!r}") from None
    if isinstance(like, str):
        return text
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise ValueError(f"not a valid literal: {text!r}") from None
    if like is None:
        return value
    if isinstance(like, (list, tuple)):
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"expected a list like {format_value(like)}, got {text!r}")
        _check_elements(value, like)
        return tuple(value) if isinstance(like, tuple) else list(value)
    return value


def _check_elements(value: list | tuple, like: list | tuple) -> None:
    """Elements must match the kind (number, string, sequence) of the default's elements."""
    if not like:
        return
    ref = like[0]

    def kind(v: Any) -> str:
        if isinstance(v, bool):
            return "bool"
        if isinstance(v, (int, float)):
            return "number"
        if isinstance(v, str):
            return "string"
        if isinstance(v, (list, tuple)):
            return "list"
        return type(v).__name__

    want = kind(ref)
    for v in value:
        if kind(v) != want:
            raise ValueError(f"every element must be a {want}, got {v!r}")


class SetValueCommand(QUndoCommand):
    """Set one key; undo restores the previous value."""

    def __init__(self, form: ConfigForm, key: str, old: Any, new: Any) -> None:
        super().__init__(f"Set {key} = {format_value(new)}")
        self.form, self.key, self.old, self.new = form, key, old, new

    def redo(self) -> None:
        self.form._apply(self.key, self.new)

    def undo(self) -> None:
        self.form._apply(self.key, self.old)


class _FloatSpin(QDoubleSpinBox):
    """Double spin box showing values compactly (``%g``) instead of fixed decimals."""

    def textFromValue(self, value: float) -> str:
        return f"{value:.8g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int) -> tuple:
        from PySide6.QtGui import QValidator

        try:
            float(text)
            return QValidator.State.Acceptable, text, pos
        except ValueError:
            return QValidator.State.Intermediate, text, pos


class _ValueDelegate(QStyledItemDelegate):
    """Creates the typed editor for the value column and routes commits through the form."""

    def __init__(self, form: ConfigForm) -> None:
        super().__init__(form)
        self.form = form

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: QModelIndex) -> QWidget | None:
        key = index.data(KEY_ROLE)
        if not key:
            return None
        value = self.form.value(key)
        choices = self.form.choices.get(key)
        if isinstance(value, bool):
            return None  # a checkbox on the item itself
        if choices and isinstance(value, str):
            box = QComboBox(parent)
            items = list(choices) if value in choices else [value, *choices]
            box.addItems(items)
            return box
        if isinstance(value, int):
            spin = QSpinBox(parent)
            spin.setRange(*INT_RANGE)
            return spin
        if isinstance(value, float):
            fspin = _FloatSpin(parent)
            fspin.setDecimals(12)
            fspin.setRange(-1e12, 1e12)
            return fspin
        return QLineEdit(parent)

    def setEditorData(self, editor: QWidget, index: QModelIndex) -> None:
        value = self.form.value(index.data(KEY_ROLE))
        if isinstance(editor, QComboBox):
            editor.setCurrentText(str(value))
        elif isinstance(editor, QSpinBox):
            editor.setValue(int(value))
        elif isinstance(editor, QDoubleSpinBox):
            editor.setValue(float(value))
        elif isinstance(editor, QLineEdit):
            editor.setText(format_value(value))

    def setModelData(self, editor: QWidget, model: Any, index: QModelIndex) -> None:
        key = index.data(KEY_ROLE)
        if isinstance(editor, QComboBox):
            text = editor.currentText()
        elif isinstance(editor, (QSpinBox, QDoubleSpinBox)):
            text = editor.cleanText()
        else:
            text = editor.text()
        self.form.set_text(key, text)


class _FilterProxy(QSortFilterProxyModel):
    """Matches the search words against the full dotted key and its help text; optional changed-only."""

    def __init__(self, form: ConfigForm) -> None:
        super().__init__(form)
        self.form = form
        self.words: list[str] = []
        self.changed_only = False
        self.setRecursiveFilteringEnabled(True)

    def filterAcceptsRow(self, row: int, parent: QModelIndex | QPersistentModelIndex) -> bool:
        index = self.sourceModel().index(row, 0, parent)
        key = index.data(KEY_ROLE)
        if not key:
            return False  # groups are shown when a child matches (recursive filtering)
        if self.changed_only and not self.form.is_edited(key):
            return False
        hay = f"{key} {index.data(HELP_ROLE) or ''}".lower()
        return all(w in hay for w in self.words)


class ConfigForm(QWidget):
    """Tree of config keys grouped by node with typed editing, search, highlighting and undo.

    Signals:
        valueChanged(str, object): a key got a new value (also on undo/redo).
        inputRejected(str, str): (key, reason) when typed input was refused.
    """

    valueChanged = Signal(str, object)
    inputRejected = Signal(str, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self.choices: dict[str, list[str]] = {}
        self._values: dict[str, Any] = {}
        self._base: dict[str, Any] = {}
        self._defaults: dict[str, Any] = {}
        self._helps: dict[str, str] = {}
        self._rows: dict[str, tuple[QStandardItem, QStandardItem]] = {}
        self._applying = False

        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search keys and help (e.g. 'lr', 'MTN size')")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.set_filter)
        self.changed_check = QCheckBox("Only changed", self)
        self.changed_check.toggled.connect(self.set_changed_only)
        self.message = QLabel(self)
        self.message.setStyleSheet("color: #b00020;")
        self.message.setWordWrap(True)

        self.model = QStandardItemModel(0, 2, self)
        self.model.setHorizontalHeaderLabels(["Key", "Value"])
        self.model.itemChanged.connect(self._on_item_changed)
        self.proxy = _FilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.tree = QTreeView(self)
        self.tree.setModel(self.proxy)
        self.tree.setItemDelegateForColumn(1, _ValueDelegate(self))
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.SelectedClicked
        )
        self.tree.header().setDefaultSectionSize(300)

        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.changed_check)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.message)

    # data in / out -----------------------------------------------------------
    def set_config(self, values: Mapping[str, Any], base: Mapping[str, Any] | None = None,
                   defaults: Mapping[str, Any] | None = None, helps: Mapping[str, str] | None = None,
                   choices: Mapping[str, list[str]] | None = None) -> None:
        """Show ``values`` (flat dotted keys, in display order); clears the undo history.

        ``base``: values of the base config chain (edits are marked against it);
        ``defaults``: library defaults (non-default values are bold); ``helps``: tooltips;
        ``choices``: allowed strings of some keys (combo boxes).
        """
        self._values = dict(values)
        self._base = dict(base if base is not None else values)
        self._defaults = dict(defaults if defaults is not None else self._base)
        self._helps = dict(helps or {})
        self.choices = {k: list(v) for k, v in (choices or {}).items()}
        self.undo_stack.clear()
        self.message.clear()
        self._applying = True
        try:
            self._build_model()
        finally:
            self._applying = False
        self.proxy.invalidate()

    def values(self) -> dict[str, Any]:
        """Current values, flat dotted keys (a copy)."""
        return dict(self._values)

    def value(self, key: str) -> Any:
        return self._values[key]

    def diff_from_base(self) -> dict[str, tuple[Any, Any]]:
        """``{key: (base value, current value)}`` for keys that differ from the base chain."""
        return {k: (self._base.get(k), v) for k, v in self._values.items() if self.is_edited(k)}

    def is_edited(self, key: str) -> bool:
        return _norm(self._values[key]) != _norm(self._base.get(key))

    def is_non_default(self, key: str) -> bool:
        return _norm(self._values[key]) != _norm(self._defaults.get(key))

    # editing ------------------------------------------------------------------
    def set_text(self, key: str, text: str) -> bool:
        """Parse ``text`` for ``key`` and apply it through the undo stack; False (and a message) when refused."""
        current = self._values[key]
        try:
            new = parse_value(text, current)
        except ValueError as exc:
            self.message.setText(f"{key}: {exc}")
            self.inputRejected.emit(key, str(exc))
            return False
        choices = self.choices.get(key)
        if choices and isinstance(current, str) and new not in choices and new != current:
            reason = f"must be one of {', '.join(choices)}"
            self.message.setText(f"{key}: {reason}")
            self.inputRejected.emit(key, reason)
            return False
        self.message.clear()
        self.set_value(key, new)
        return True

    def set_value(self, key: str, value: Any) -> None:
        """Set an already-typed value (pushed on the undo stack when it changes anything)."""
        old = self._values[key]
        if _norm(old) == _norm(value) and type(old) is type(value):
            return
        self.undo_stack.push(SetValueCommand(self, key, old, value))

    @Slot(str)
    def set_filter(self, text: str) -> None:
        """Show the keys whose name or help has every word of ``text``; a refused input's message
        goes (it named a row the search may now hide)."""
        self.message.clear()
        self.proxy.words = text.lower().split()
        self.proxy.invalidate()
        if text:
            self.tree.expandAll()

    @Slot(bool)
    def set_changed_only(self, on: bool) -> None:
        self.proxy.changed_only = on
        self.proxy.invalidate()
        if on:
            self.tree.expandAll()

    def visible_keys(self) -> list[str]:
        """Keys that pass the current search/changed filter."""
        out: list[str] = []

        def walk(parent: QModelIndex) -> None:
            for row in range(self.proxy.rowCount(parent)):
                idx = self.proxy.index(row, 0, parent)
                key = idx.data(KEY_ROLE)
                if key:
                    out.append(key)
                walk(idx)

        walk(QModelIndex())
        return out

    def index_of(self, key: str) -> QModelIndex:
        """Proxy index of the value cell of ``key`` (invalid when filtered out)."""
        return self.proxy.mapFromSource(self._rows[key][1].index())

    # internals ------------------------------------------------------------------
    def _apply(self, key: str, value: Any) -> None:
        self.message.clear()  # an accepted value, an undo or a redo: a refusal shown earlier is stale
        self._values[key] = value
        self._applying = True
        try:
            self._refresh_row(key)
        finally:
            self._applying = False
        self.valueChanged.emit(key, value)

    def _build_model(self) -> None:
        self.model.removeRows(0, self.model.rowCount())
        self._rows.clear()
        groups: dict[str, QStandardItem] = {}
        root = self.model.invisibleRootItem()
        bold = QFont()
        bold.setBold(True)
        for key in self._values:
            *parents, leaf = key.split(".")
            parent = root
            path = ""
            for name in parents:
                path = f"{path}.{name}" if path else name
                group = groups.get(path)
                if group is None:
                    group = QStandardItem(name)
                    group.setEditable(False)
                    group.setFont(bold)
                    spacer = QStandardItem("")
                    spacer.setEditable(False)
                    for item in (group, spacer):  # never let data() return None (PySide6 refcount bug)
                        item.setData("", KEY_ROLE)
                        item.setData("", HELP_ROLE)
                    parent.appendRow([group, spacer])
                    groups[path] = group
                parent = group
            name_item = QStandardItem(leaf)
            name_item.setEditable(False)
            value_item = QStandardItem()
            for item in (name_item, value_item):
                item.setData(key, KEY_ROLE)
                item.setData(self._helps.get(key, ""), HELP_ROLE)
            parent.appendRow([name_item, value_item])
            self._rows[key] = (name_item, value_item)
            self._refresh_row(key)

    def _refresh_row(self, key: str) -> None:
        name_item, value_item = self._rows[key]
        value = self._values[key]
        if isinstance(value, bool):
            value_item.setEditable(False)
            value_item.setCheckable(True)
            value_item.setCheckState(Qt.CheckState.Checked if value else Qt.CheckState.Unchecked)
            value_item.setText("true" if value else "false")
        else:
            value_item.setEditable(True)
            value_item.setText(format_value(value))
        font = QFont()
        font.setBold(self.is_non_default(key))
        brush = QBrush(EDITED_BG) if self.is_edited(key) else QBrush()
        tip = (f"<b>{key}</b><br>{self._helps.get(key, '')}<br><br>"
               f"default: {format_value(self._defaults.get(key))}<br>base: {format_value(self._base.get(key))}")
        for item in (name_item, value_item):
            item.setFont(font)
            item.setBackground(brush)
            item.setToolTip(tip)

    @Slot(QStandardItem)
    def _on_item_changed(self, item: QStandardItem) -> None:
        if self._applying:
            return
        key = item.data(KEY_ROLE)
        if not key or not isinstance(self._values.get(key), bool) or not item.isCheckable():
            return
        checked = item.checkState() == Qt.CheckState.Checked
        if checked != self._values[key]:
            self.set_value(key, checked)


def _norm(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        return tuple(_norm(x) for x in v)
    return v

"""Help > Keyboard shortcuts: a sheet read from the window's QActions, so it cannot drift from them.

Every QAction of the window that has a shortcut is listed, grouped by the view it belongs to
("Application" for the menus). :func:`name_shortcuts_in_tooltips` gives each such action a
tooltip that names its keys (toolbar buttons show the action's tooltip).
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.widgets.shortcuts import plain_text, shortcut_text, with_shortcut

APPLICATION = "Application"


def group_of(action: QAction, views: Mapping[str, QWidget]) -> str:
    """The title of the view ``action`` belongs to (its parent widget lies inside it), else "Application"."""
    parent = action.parent()
    if isinstance(parent, QWidget):
        for title, view in views.items():
            if parent is view or view.isAncestorOf(parent):
                return title
    return APPLICATION


def collect_shortcuts(window: QWidget, views: Mapping[str, QWidget]) -> list[tuple[str, str, str]]:
    """``(group, action, keys)`` of every action of ``window`` that has a shortcut, the menus first,
    then the views in tab order, each sorted by action."""
    order = [APPLICATION, *views]
    rows = {(group_of(a, views), plain_text(a), shortcut_text(a)) for a in window.findChildren(QAction)
            if shortcut_text(a)}
    return sorted(rows, key=lambda r: (order.index(r[0]) if r[0] in order else len(order), r[1].lower()))


def name_shortcuts_in_tooltips(window: QWidget) -> None:
    """Give each action with a shortcut a tooltip that names its keys ("Open project… (Ctrl+O)")."""
    for action in window.findChildren(QAction):
        if shortcut_text(action):
            tip = action.toolTip() if action.toolTip() and action.toolTip() != plain_text(action) else plain_text(action)
            action.setToolTip(with_shortcut(tip, action))


class ShortcutSheet(QDialog):
    """A table of every shortcut: view, action, keys."""

    def __init__(self, rows: list[tuple[str, str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.resize(560, 640)
        self.table = QTableWidget(len(rows), 3, self)
        self.table.setHorizontalHeaderLabels(["Where", "Action", "Keys"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(text))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        note = QLabel("Shortcuts of a view work while it is shown; the annotation editor's while it has the focus.", self)
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(note)
        lay.addWidget(self.table, 1)
        lay.addWidget(buttons)

    def rows(self) -> list[tuple[str, str, str]]:
        return [tuple(self.table.item(r, c).text() for c in range(3)) for r in range(self.table.rowCount())]

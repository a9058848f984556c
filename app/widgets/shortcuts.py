"""Keyboard shortcuts as QActions, so a sheet and the tooltips can be read from them (never drift).

:func:`button_shortcut` gives a push button a shortcut through a QAction on its view (the
button's tooltip names the keys); :func:`shortcut_text` and :func:`with_shortcut` word them.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QAbstractButton, QWidget


def shortcut_text(action: QAction) -> str:
    """The action's shortcuts as the platform writes them ("Ctrl+O", "A, PgUp"); "" when none."""
    return ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts() if not s.isEmpty())


def plain_text(action: QAction) -> str:
    """The action's text without mnemonics ("&Open project…" -> "Open project…")."""
    return action.text().replace("&&", "\0").replace("&", "").replace("\0", "&")


def with_shortcut(tip: str, action: QAction) -> str:
    """``tip`` followed by the action's keys in parentheses (unchanged when it has none or names them)."""
    keys = shortcut_text(action)
    return f"{tip} ({keys})" if keys and keys not in tip else tip


def button_shortcut(button: QAbstractButton, keys: str | QKeySequence.StandardKey, view: QWidget,
                    tip: str = "") -> QAction:
    """A shortcut for ``button``, active while focus is inside ``view``: a QAction named after the
    button that clicks it (a disabled button ignores it). The button's tooltip is ``tip`` (default:
    its text) with the keys."""
    action = QAction(button.text().replace("…", "").strip(), view)
    action.setShortcut(QKeySequence(keys))
    action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
    action.setToolTip(with_shortcut(tip or action.text(), action))
    action.triggered.connect(button.click)
    view.addAction(action)
    button.setToolTip(action.toolTip())
    return action

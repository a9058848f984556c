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


def view_shortcut(action: QAction) -> None:
    """Make ``action`` (added to a view) fire while its view is visible in the active window.

    Qt skips window shortcuts of hidden widgets, so each tab's keys work when the tab is shown,
    also right after switching tabs, when the focus is still on the tab bar (focus-bound
    shortcuts did nothing there). Two views may use the same keys; never two actions of one view.
    """
    action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)


def button_shortcut(button: QAbstractButton, keys: str | QKeySequence.StandardKey, view: QWidget,
                    tip: str = "") -> QAction:
    """A shortcut for ``button``, active while ``view`` is shown in the active window (wherever the
    focus is; a view on a hidden tab ignores it): a QAction named after the button that clicks it
    (a disabled button ignores it). The button's tooltip is ``tip`` (default: its text) with the keys."""
    action = QAction(button.text().replace("…", "").strip(), view)
    action.setShortcut(QKeySequence(keys))
    view_shortcut(action)
    action.setToolTip(with_shortcut(tip or action.text(), action))
    action.triggered.connect(button.click)
    view.addAction(action)
    button.setToolTip(action.toolTip())
    return action

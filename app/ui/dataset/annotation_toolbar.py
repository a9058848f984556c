"""The annotation editor's toolbar: its actions (icons, shortcuts named in the tooltips) and the
"points follow box" toggle.

Every action belongs to the editor widget (so its shortcut works anywhere in the editor) and
the toolbar shows the ones that have a button. Icons are Qt's standard ones
(``QStyle.standardIcon``), shown beside the text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QStyle, QToolBar, QWidget

FOLLOW_BOX_TIP = (
    "On (the default): moving or resizing a person's box moves and stretches its DensePose points "
    "with it.\nOff: the points stay where they are on the image; points the new box leaves out move "
    "to its edge.\nEither way one undo (Ctrl+Z) restores the box and the points."
)


def tooltip_with_shortcuts(text: str, shortcuts: Sequence[QKeySequence]) -> str:
    """``"text (Ctrl+S)"``, or ``"text (D or PgDown)"`` for several shortcuts, in the platform's words."""
    keys = [s.toString(QKeySequence.SequenceFormat.NativeText) for s in shortcuts if not s.isEmpty()]
    return f"{text} ({' or '.join(keys)})" if keys else text


class EditorToolbar(QToolBar):
    """Toolbar of an annotation editor (``owner``): ``add`` makes an action, ``finish`` ends the row
    with the toggle."""

    def __init__(self, owner: QWidget) -> None:
        super().__init__(owner)
        self.owner = owner
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.follow_box = QAction("Points follow box", owner)
        self.follow_box.setCheckable(True)
        self.follow_box.setChecked(True)
        self.follow_box.setToolTip(FOLLOW_BOX_TIP)

    def add(
        self,
        text: str,
        keys: object,
        slot: Callable,
        *,
        icon: QStyle.StandardPixmap | None = None,
        tip: str = "",
        button: bool = True,
    ) -> QAction:
        """An action of the editor with shortcut(s) ``keys`` (one or a list); a button when ``button``."""
        act = QAction(text, self.owner)
        seqs = [QKeySequence(k) for k in (keys if isinstance(keys, (list, tuple)) else [keys])]
        act.setShortcuts(seqs)
        act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        act.setToolTip(tooltip_with_shortcuts(tip or text, seqs))
        if icon is not None:
            act.setIcon(self.style().standardIcon(icon))
        act.triggered.connect(slot)
        self.owner.addAction(act)
        if button:
            self.addAction(act)
        return act

    def finish(self) -> None:
        """Append the "points follow box" toggle."""
        self.addSeparator()
        self.addAction(self.follow_box)

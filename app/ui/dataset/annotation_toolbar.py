"""The annotation editor's toolbar (its actions with icons and the shortcuts named in the
tooltips, the "points follow box" toggle) and the line under it that says which image is open,
where it is in the browsed list and whether every edit is saved.

Every action belongs to the editor widget (so its shortcut works anywhere in the editor) and
the toolbar shows the ones that have a button. Icons are Qt's standard ones
(``QStyle.standardIcon``), shown beside the text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QStyle, QToolBar, QWidget

FOLLOW_BOX_TIP = (
    "On (the default): moving or resizing a person's box moves and stretches its DensePose points "
    "and masks with it.\nOff: they stay where they are on the image; points the new box leaves out "
    "move to its edge, mask parts it leaves out are cut.\nEither way one undo (Ctrl+Z) restores the "
    "box, the points and the masks."
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


def position_text(navigation: list[tuple[Path, Any]], source: Path, image_id: Any, images: list[dict]) -> str:
    """``"3 of 22"``: the place of (``source``, ``image_id``) in the browsed (filtered) list
    ``navigation``, else ``"3 of 40 in train.json"``: its place among ``images`` of its file."""
    here = (source, image_id)
    if here in navigation:
        return f"{navigation.index(here) + 1} of {len(navigation)}"
    ids = [img["id"] for img in images]
    n = ids.index(image_id) + 1 if image_id in ids else 0
    return f"{n} of {len(ids)} in {source.name}"


class ImageLine(QLabel):
    """``000003.jpg · 4 of 62 · ✓ saved`` (or ``● unsaved edits``, read-only, recovered edits waiting for
    Keep/Discard); its tooltip has the paths."""

    EMPTY = "No image open: double-click one in Browse"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(self.EMPTY, parent)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setContentsMargins(6, 0, 6, 0)

    def show_state(self, session: Any, image_id: Any, position: str) -> None:
        """Show image ``image_id`` of an AnnotationSession (None: no image open)."""
        if session is None or image_id is None:
            self.setText(self.EMPTY)
            self.setToolTip("")
            return
        img = session.doc.image(image_id)
        name = Path(str(img.get("file_name") or img.get("csi_file") or image_id)).name
        if session.read_only:
            state = "<span style='color:#b71c1c'>read-only: edits are refused</span>"
        elif session.recovery_pending:
            state = "<span style='color:#b35900'>● recovered edits: Keep or Discard them above</span>"
        elif session.dirty:
            state = "<span style='color:#b35900'>● unsaved edits</span>"
        else:
            state = "<span style='color:#2e7d32'>✓ saved</span>"
        self.setText(f"<b>{name}</b> · {position} · {state}")
        self.setToolTip(f"{img.get('file_name')} (image id {image_id}) in {session.source}\n"
                        f"edits are journaled at once and written to {session.save_path.name} "
                        "5 s after the first unsaved one"
                        + (f"\nread-only here: {session.read_only_reason}" if session.read_only else ""))

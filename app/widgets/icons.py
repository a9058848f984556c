"""The app's icons: Qt's standard icons (``QStyle.standardIcon``) by role, and the window icon.

One table (:data:`ROLES`) names the standard icon of each role, so every view uses the same icon
for the same job (open, save, start, stop, ...) and the set follows the platform's style. The
window icon is the project's own drawing, ``resources/icons/app.svg``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QStyle

APP_ICON = Path(__file__).resolve().parents[2] / "resources" / "icons" / "app.svg"

_SP = QStyle.StandardPixmap
#: role -> Qt standard icon.
ROLES: dict[str, QStyle.StandardPixmap] = {
    "new": _SP.SP_FileIcon,
    "open": _SP.SP_DialogOpenButton,
    "open-folder": _SP.SP_DirOpenIcon,
    "save": _SP.SP_DialogSaveButton,
    "save-as": _SP.SP_DriveFDIcon,
    "quit": _SP.SP_DialogCloseButton,
    "undo": _SP.SP_ArrowBack,
    "redo": _SP.SP_ArrowForward,
    "start": _SP.SP_MediaPlay,
    "pause": _SP.SP_MediaPause,
    "stop": _SP.SP_MediaStop,
    "resume": _SP.SP_MediaSeekForward,
    "attach": _SP.SP_DirLinkIcon,
    "detach": _SP.SP_DialogCancelButton,
    "refresh": _SP.SP_BrowserReload,
    "run": _SP.SP_MediaPlay,
    "export": _SP.SP_DialogSaveButton,
    "help": _SP.SP_DialogHelpButton,
    "about": _SP.SP_MessageBoxInformation,
    "keyboard": _SP.SP_FileDialogDetailedView,
    "dataset": _SP.SP_DirIcon,
    "mtn": _SP.SP_FileDialogContentsView,
    "config": _SP.SP_FileDialogListView,
    "training": _SP.SP_MediaPlay,
    "inference": _SP.SP_FileDialogInfoView,
    "live": _SP.SP_DriveNetIcon,
}


def icon(role: str) -> QIcon:
    """The standard icon of ``role`` (a key of :data:`ROLES`) in the application's style."""
    return QApplication.style().standardIcon(ROLES[role])


def app_icon() -> QIcon:
    """The window icon (SVG; null when Qt's SVG icon plugin is missing)."""
    return QIcon(str(APP_ICON))

"""The app's names and its QApplication (INI preferences under ``$XDG_CONFIG_HOME``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "WiFi DensePose Studio"
ORG_NAME = "WiFiDensePoseStudio"
#: How long (seconds) a Python thread may keep the interpreter lock before another thread that
#: waits for it gets it (Python's default: 0.005). The trainer and the Live view's predictor run in
#: worker threads; at 1 ms the event loop waits less for them (benchmarks/bench_ui_latency.py).
UI_SWITCH_INTERVAL_S = 0.001


def settings_dir() -> Path:
    """Folder of the INI preferences: ``$XDG_CONFIG_HOME`` (default ``~/.config``)."""
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def make_application(argv: list[str] | None = None):
    """The process-wide QApplication (created once), with names and an INI QSettings location.

    Also sets the interpreter's thread switch interval to :data:`UI_SWITCH_INTERVAL_S`.
    Preferences are INI files under :func:`settings_dir` (so tests isolate them through
    ``XDG_CONFIG_HOME``); the path is set on every call because tests change it.

    Raises:
        UserFacingError: on xcb, when Qt's xcb plugin would not load (its message names the
            missing libraries and the apt command), instead of Qt's abort.
    """
    os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        from app.backend.errors import UserFacingError
        from app.qt_libs import check_or_explain

        problem = check_or_explain()
        if problem:
            raise UserFacingError(problem)
        app = QApplication(argv if argv is not None else sys.argv[:1])
    from app.widgets.icons import app_icon

    sys.setswitchinterval(UI_SWITCH_INTERVAL_S)
    app.setWindowIcon(app_icon())
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(ORG_NAME)
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(settings_dir()))
    return app


"""QApplication start-up for ``python main.py``."""

from __future__ import annotations

import os
import sys

APP_NAME = "WiFi DensePose Studio"
ORG_NAME = "WiFiDensePoseStudio"


def make_application(argv: list[str] | None = None):
    """The process-wide QApplication (created once), with names QSettings uses."""
    os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(ORG_NAME)
    return app


def run_app(project: str | None = None) -> int:
    app = make_application()
    from app.ui.main_window import MainWindow

    window = MainWindow(project=project)
    window.show()
    return app.exec()

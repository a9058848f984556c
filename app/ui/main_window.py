"""Main window: composes the views; owns nothing but layout, menus and the status bar."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QMainWindow, QTabWidget

VIEW_NAMES = ("Dataset", "MTN Preview", "Config", "Training", "Inference")


class MainWindow(QMainWindow):
    def __init__(self, project: str | None = None) -> None:
        super().__init__()
        self.setWindowTitle("WiFi DensePose Studio")
        self.resize(1280, 800)
        self.tabs = QTabWidget(self)
        for name in VIEW_NAMES:
            self.tabs.addTab(QLabel(f"{name} view"), name)
        self.setCentralWidget(self.tabs)
        self.statusBar().showMessage("Ready")

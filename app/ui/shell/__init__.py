"""The application shell: QApplication start-up, the main window that composes the feature views, the project."""

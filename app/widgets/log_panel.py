"""A read-only, bounded log view that follows new lines unless the user scrolled up."""

from __future__ import annotations

from PySide6.QtGui import QFont, QTextCursor
from PySide6.QtWidgets import QPlainTextEdit, QWidget


class LogPanel(QPlainTextEdit):
    """Plain-text log; keeps at most ``max_lines`` lines (older lines drop out)."""

    def __init__(self, parent: QWidget | None = None, max_lines: int = 5000) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setMaximumBlockCount(max_lines)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.TypeWriter)
        font.setPointSize(9)
        self.setFont(font)

    def append_line(self, text: str) -> None:
        """Append ``text`` (may hold several lines); scrolls to the end only when already there."""
        bar = self.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 2
        for line in str(text).rstrip("\n").splitlines() or [""]:
            self.appendPlainText(line)
        if at_end:
            self.moveCursor(QTextCursor.MoveOperation.End)
            bar.setValue(bar.maximum())

    def lines(self) -> list[str]:
        return self.toPlainText().splitlines()

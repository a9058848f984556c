"""A read-only, bounded log view that follows new lines unless the user scrolled up.

Long lines wrap at the widget's width (no sideways scrolling to read them), and the pane is at
least :data:`MIN_LINES` lines tall.
"""

from __future__ import annotations

from PySide6.QtGui import QFont, QTextCursor
from PySide6.QtWidgets import QPlainTextEdit, QWidget

MIN_LINES = 6


class LogPanel(QPlainTextEdit):
    """Plain-text log; keeps at most ``max_lines`` lines (older lines drop out)."""

    def __init__(self, parent: QWidget | None = None, max_lines: int = 5000) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setMaximumBlockCount(max_lines)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.TypeWriter)
        font.setPointSize(9)
        self.setFont(font)
        frame = 2 * self.frameWidth() + int(self.document().documentMargin() * 2)
        self.setMinimumHeight(self.fontMetrics().lineSpacing() * MIN_LINES + frame)

    def append_line(self, text: str) -> None:
        """Append ``text`` (may hold several lines); scrolls to the end only when already there."""
        bar = self.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 2
        for line in str(text).rstrip("\n").splitlines() or [""]:
            self.appendPlainText(line)
        if at_end:
            self.moveCursor(QTextCursor.MoveOperation.End)
            self.moveCursor(QTextCursor.MoveOperation.StartOfBlock)  # never scroll sideways to a line's end
            bar.setValue(bar.maximum())

    def lines(self) -> list[str]:
        return self.toPlainText().splitlines()

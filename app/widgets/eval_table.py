"""Table of the latest value of each evaluation metric, with the iteration it came from."""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtWidgets import QTableWidget, QTableWidgetItem, QWidget


class EvalTable(QTableWidget):
    """Rows ``metric | value | iteration`` (1-based), one per metric, sorted; a newer result replaces a row."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, 3, parent)
        self.setHorizontalHeaderLabels(["metric", "value", "iteration"])
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setStretchLastSection(True)
        self.setColumnWidth(0, 200)
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)

    def add(self, iteration: int, results: Mapping[str, float]) -> None:
        """Show ``results`` ({metric: value}) of 0-based ``iteration``."""
        existing = {self.item(r, 0).text(): r for r in range(self.rowCount())}
        for key, value in sorted(results.items()):
            row = existing.get(key)
            if row is None:
                row = self.rowCount()
                self.insertRow(row)
                self.setItem(row, 0, QTableWidgetItem(key))
            self.setItem(row, 1, QTableWidgetItem(f"{value:.3f}"))
            self.setItem(row, 2, QTableWidgetItem(str(iteration + 1)))

    def clear_rows(self) -> None:
        self.setRowCount(0)

"""The fault-injection suite: every test under tests/faults is marked ``faults`` (``pytest -m faults`` runs it alone)."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.faults)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from tests.faults.corpus import summary_lines

    for line in summary_lines():
        terminalreporter.write_line(line)

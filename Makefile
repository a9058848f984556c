# The two commands of the README:
#   make run   - set up .venv (idempotent), make the demo data if missing, open the app
#   make test  - set up .venv (idempotent), then lint, layer contract and the whole test suite
PY := .venv/bin/python
export QT_API := pyside6
export PYQTGRAPH_QT_LIB := PySide6

.PHONY: setup run test lint layers pytest demo-data screenshots clean

setup:
	@bash tools/setup_venv.sh

run: setup
	$(PY) main.py demo-data --if-missing
	$(PY) main.py

lint: setup
	$(PY) -m ruff check .

layers: setup
	.venv/bin/lint-imports

pytest: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest

test: setup lint layers pytest

screenshots: setup
	QT_QPA_PLATFORM=offscreen $(PY) main.py screenshots --out docs/screenshots

clean:
	rm -rf .venv .pytest_cache .ruff_cache

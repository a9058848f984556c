# The two commands of the README:
#   make run   - set up .venv (idempotent), make the demo data if missing, open the app
#   make test  - set up .venv (idempotent), then lint, layer contract and the whole test suite
#                (offscreen), then the GUI tests again on a real X server (Xvfb, xcb platform)
# `make setup` also checks that Qt's xcb plugin finds its system libraries (app/qt_libs.py):
# as root it apt-get installs the missing Debian packages, otherwise it prints the command.
PY := .venv/bin/python
XVFB := xvfb-run -a -s "-screen 0 1600x1000x24"
export QT_API := pyside6
export PYQTGRAPH_QT_LIB := PySide6

.PHONY: setup run test lint layers pytest pytest-xcb demo-data screenshots clean

setup:
	@bash tools/setup_venv.sh
	@$(PY) -m app.qt_libs --install $(QT_LIBS_ARGS)

run: setup
	$(PY) main.py demo-data --if-missing
	$(PY) main.py

lint: setup
	$(PY) -m ruff check .

layers: setup
	.venv/bin/lint-imports

pytest: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest

# offscreen hides faults a real display shows: the GUI tests run a second time under Xvfb with xcb
pytest-xcb: QT_LIBS_ARGS = --tools
pytest-xcb: setup
	$(XVFB) env QT_QPA_PLATFORM=xcb $(PY) -m pytest tests/ui tests/widgets

test: QT_LIBS_ARGS = --tools
test: setup lint layers pytest pytest-xcb

screenshots: setup
	$(XVFB) env QT_QPA_PLATFORM=xcb $(PY) main.py screenshots --out docs/screenshots

clean:
	rm -rf .venv .pytest_cache .ruff_cache

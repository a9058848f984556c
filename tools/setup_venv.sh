#!/usr/bin/env bash
# Creates or refreshes .venv idempotently. A stamp keyed by the hash of every
# requirements file and install script makes a second run with nothing changed
# a no-op (well under a second).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
VENV=.venv
key=$(cat requirements/*.txt tools/install_detectron2.sh tools/setup_venv.sh | sha256sum | cut -c1-16)
stamp=$VENV/.setup-$key

if [ -f "$stamp" ]; then
  exit 0
fi
start=$(date +%s)
echo "Setting up $VENV (key $key) ..."
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -c 'import sys; assert sys.version_info[:2] >= (3, 11), sys.version' || {
  echo "Python 3.11+ is required" >&2; exit 1; }
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
quiet() { grep -v 'is ignored: it is neither' >&2 || true; }
"${PIP[@]}" install --quiet -c requirements/constraints.txt -r requirements/torch.txt 2>&1 | quiet
"${PIP[@]}" install --quiet -c requirements/constraints.txt -r requirements/base.txt 2>&1 | quiet
bash tools/install_detectron2.sh "$VENV/bin/python"
"$VENV/bin/python" - <<'PY'
import torch, torchvision, detectron2, cv2, PySide6, pyqtgraph, pycocotools, csiread, scipy
assert torch.__version__.startswith("2.14.1"), torch.__version__
print("torch", torch.__version__, "| detectron2", detectron2.__version__, "| PySide6", PySide6.__version__)
PY
rm -f "$VENV"/.setup-*
touch "$stamp"
echo "Setup finished in $(( $(date +%s) - start )) s"

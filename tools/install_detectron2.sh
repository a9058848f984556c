#!/usr/bin/env bash
# Installs detectron2 v0.6 as pure Python from the PyPI sdist `pb1-detectron2==0.6`
# (a byte-identical copy of detectron2 v0.6 without its C++/CUDA sources).
#
# Steps (see docs/install.md, "detectron2 without its C++ extension"):
#   1. download the sdist (cached outside the repo) and check its sha256;
#   2. drop `ext_modules=` / `cmdclass=` from setup.py (nothing to compile);
#   3. add `detectron2/_C.py`, a stand-in that raises a clear error naming the
#      feature that needs the compiled extension;
#   4. map Pillow's removed `Image.LINEAR` to `Image.BILINEAR`;
#   5. move `detectron2/model_zoo/configs` back to `configs/` so setup.py packages it;
#   6. `pip install --no-build-isolation` into the active interpreter (torch first).
#
# Usage: tools/install_detectron2.sh PYTHON   (defaults to .venv/bin/python)
set -euo pipefail

PY=${1:-.venv/bin/python}
SHA=5d2e9e51e523ec72f6a31cca04b0a515492e9514b773a3d134cedc0677170b29
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${WIFIDP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wifi-densepose-studio}
SDIST=$CACHE/pb1-detectron2-0.6.tar.gz
CONSTRAINTS=$HERE/../requirements/constraints.txt

mkdir -p "$CACHE"
if [ -f "$SDIST" ] && ! echo "$SHA  $SDIST" | sha256sum -c --status; then
  echo "cached sdist has the wrong sha256; downloading again" >&2
  rm -f "$SDIST"
fi
if [ ! -f "$SDIST" ]; then
  dl=$(mktemp -d)
  # --no-build-isolation: preparing the sdist's metadata imports torch, which is
  # already installed in the target interpreter.
  "$PY" -m pip download --quiet --no-deps --no-build-isolation --no-binary :all: \
      -c "$CONSTRAINTS" -d "$dl" pb1-detectron2==0.6 2>&1 | grep -v 'is ignored' >&2 || true
  mv "$dl/pb1-detectron2-0.6.tar.gz" "$SDIST"
  rm -rf "$dl"
fi
echo "$SHA  $SDIST" | sha256sum -c --status || {
  echo "pb1-detectron2-0.6.tar.gz: sha256 mismatch, refusing to install" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -xzf "$SDIST" -C "$work"
src="$work/pb1-detectron2-0.6"

"$PY" - "$src" <<'PYEOF'
import pathlib, re, sys

src = pathlib.Path(sys.argv[1])
setup = src / "setup.py"
text = setup.read_text()
text, n1 = re.subn(r"^\s*ext_modules=get_extensions\(\),\s*\n", "", text, flags=re.M)
text, n2 = re.subn(r"^\s*cmdclass=\{.*?\},\s*\n", "", text, flags=re.M)
assert n1 == 1 and n2 == 1, "setup.py layout changed; cannot strip the C++ build"
setup.write_text(text)

stub = src / "detectron2" / "_C.py"
stub.write_text('''"""Stand-in for detectron2's compiled extension (not built in this install).

detectron2 was installed as pure Python from the `pb1-detectron2==0.6` sdist.
Everything the project uses works without it (ROIAlign and NMS come from
torchvision); only rotated boxes, deformable convolution and the fast COCO
evaluator need the extension.
"""

_NEEDS = {
    "box_iou_rotated": "rotated-box IoU (RotatedBoxes, rotated RPN/ROI heads)",
    "roi_align_rotated_forward": "ROIAlignRotated",
    "roi_align_rotated_backward": "ROIAlignRotated",
    "deform_conv_forward": "deformable convolution (DeformConv)",
    "deform_conv_backward_input": "deformable convolution (DeformConv)",
    "deform_conv_backward_filter": "deformable convolution (DeformConv)",
    "modulated_deform_conv_forward": "modulated deformable convolution",
    "modulated_deform_conv_backward": "modulated deformable convolution",
    "InstanceAnnotation": "the fast COCO evaluator (use COCOEvaluator(..., use_fast_impl=False))",
    "COCOevalEvaluateImages": "the fast COCO evaluator (use COCOEvaluator(..., use_fast_impl=False))",
    "COCOevalAccumulate": "the fast COCO evaluator (use COCOEvaluator(..., use_fast_impl=False))",
}


class MissingExtensionError(RuntimeError):
    """Raised when code reaches for an op of detectron2's C++/CUDA extension."""


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    what = _NEEDS.get(name, "an op of detectron2's compiled extension")
    raise MissingExtensionError(
        f"detectron2._C.{name} is not available: {what} needs detectron2's C++/CUDA "
        "extension, which this pure-Python install does not build. Install the official "
        "detectron2 from source (see README) to use it."
    )
''')

tr = src / "detectron2" / "data" / "transforms" / "transform.py"
t = tr.read_text()
assert "Image.LINEAR" in t
tr.write_text(t.replace("Image.LINEAR", "Image.BILINEAR"))

zoo = src / "detectron2" / "model_zoo" / "configs"
if zoo.is_dir() and not zoo.is_symlink() and not (src / "configs").exists():
    zoo.rename(src / "configs")
PYEOF

"$PY" -m pip install --quiet --no-build-isolation --no-deps "$src" 2>&1 | grep -v 'is ignored' >&2 || true
"$PY" -c "import detectron2, detectron2.model_zoo; from detectron2.model_zoo import get_config_file; get_config_file('COCO-Keypoints/keypoint_rcnn_R_50_FPN_1x.yaml'); print('detectron2', detectron2.__version__, 'installed (pure Python)')"

"""Colour tables shared by every view that draws people (overlays, annotation editor, inference view).

All colours are **BGR** uint8 (OpenCV order). Convert an image with
:func:`app.backend.vis.to_rgb` before handing it to Qt or matplotlib.
"""

from __future__ import annotations

import cv2
import numpy as np

from app.backend.structures.body import FINE_TO_COARSE, KEYPOINT_NAMES, NUM_COARSE_PARTS, NUM_PARTS

#: Fine DensePose part colours, uint8 array of shape (25, 3), BGR. Row ``i`` is part ``I = i``
#: (``PART_NAMES[i]``); row 0 (background) is black and never painted. The 24 part colours
#: were picked greedily for the largest minimum CIELAB distance from each other (>= 46)
#: and from black and white, so neighbouring parts stay distinguishable.
PART_COLORS_BGR: np.ndarray = np.array(
    [
        (0, 0, 0),
        (255, 0, 192), (0, 64, 255), (0, 160, 0), (224, 160, 0), (0, 224, 255), (96, 32, 128),
        (160, 255, 0), (64, 96, 0), (224, 128, 255), (96, 160, 192), (192, 0, 32), (0, 64, 128),
        (224, 96, 0), (160, 192, 0), (96, 0, 224), (0, 255, 128), (255, 255, 32), (255, 192, 192),
        (0, 192, 160), (160, 96, 160), (160, 224, 192), (0, 160, 255), (0, 128, 128), (128, 64, 0),
    ],
    dtype=np.uint8,
)  # fmt: skip
PART_COLORS_BGR.setflags(write=False)
assert PART_COLORS_BGR.shape == (NUM_PARTS + 1, 3)

#: Coarse part colours (15, 3) BGR: coarse label ``c`` takes the colour of the first fine part
#: that maps to it, so coarse masks and fine parts read alike. Row 0 is black.
COARSE_PART_COLORS_BGR: np.ndarray = np.zeros((NUM_COARSE_PARTS + 1, 3), dtype=np.uint8)
for _fine in range(NUM_PARTS, 0, -1):
    COARSE_PART_COLORS_BGR[FINE_TO_COARSE[_fine]] = PART_COLORS_BGR[_fine]
COARSE_PART_COLORS_BGR.setflags(write=False)

#: Keypoint and limb colours, BGR tuples: left side orange, right side blue, centre (nose and
#: limbs joining left to right) green.
KEYPOINT_LEFT_BGR: tuple[int, int, int] = (0, 140, 255)
KEYPOINT_RIGHT_BGR: tuple[int, int, int] = (255, 120, 0)
KEYPOINT_CENTER_BGR: tuple[int, int, int] = (60, 220, 60)


def _side(name: str) -> int:
    return -1 if name.startswith("left_") else (1 if name.startswith("right_") else 0)


_SIDE_COLOR = {-1: KEYPOINT_LEFT_BGR, 1: KEYPOINT_RIGHT_BGR, 0: KEYPOINT_CENTER_BGR}
#: Colour of each of the 17 COCO keypoints, uint8 (17, 3) BGR.
KEYPOINT_COLORS_BGR: np.ndarray = np.array([_SIDE_COLOR[_side(n)] for n in KEYPOINT_NAMES], dtype=np.uint8)
KEYPOINT_COLORS_BGR.setflags(write=False)


def limb_color(a: int, b: int) -> tuple[int, int, int]:
    """BGR colour of the skeleton edge between keypoints ``a`` and ``b`` (0-based indices)."""
    sa, sb = _side(KEYPOINT_NAMES[a]), _side(KEYPOINT_NAMES[b])
    return _SIDE_COLOR[sa if sa == sb else 0]


#: Box colours (BGR) for predictions and ground truth.
PRED_BOX_BGR: tuple[int, int, int] = (0, 255, 255)
GT_BOX_BGR: tuple[int, int, int] = (80, 255, 80)

#: OpenCV colour map used for the U and V maps and the contour levels.
UV_COLORMAP: int = cv2.COLORMAP_JET


def _build_luts() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    parts = np.zeros((256, 1, 3), dtype=np.uint8)
    parts[: NUM_PARTS + 1, 0] = PART_COLORS_BGR
    coarse = np.zeros((256, 1, 3), dtype=np.uint8)
    coarse[: NUM_COARSE_PARTS + 1, 0] = COARSE_PART_COLORS_BGR
    uv = cv2.applyColorMap(np.arange(256, dtype=np.uint8).reshape(256, 1), UV_COLORMAP)
    for lut in (parts, coarse, uv):
        lut.setflags(write=False)
    return parts, coarse, uv


#: Cached 256-entry lookup tables of shape (256, 1, 3) BGR for ``cv2.applyColorMap``:
#: fine parts (index = part), coarse parts, and the U/V colour map (index = round(value * 255)).
PART_LUT, COARSE_PART_LUT, UV_LUT = _build_luts()


def colorize_parts(labels: np.ndarray, coarse: bool = False) -> np.ndarray:
    """Colour a part-label map.

    Args:
        labels: uint8 (h, w), fine parts 0..24 (or coarse 0..14 with ``coarse=True``).
    Returns:
        uint8 (h, w, 3) BGR; label 0 is black.
    """
    return cv2.applyColorMap(np.ascontiguousarray(labels, dtype=np.uint8), COARSE_PART_LUT if coarse else PART_LUT)


def colorize_uv(values: np.ndarray) -> np.ndarray:
    """Colour a U or V map.

    Args:
        values: float (h, w) in 0..1 (clipped), or uint8 (h, w) already scaled to 0..255.
    Returns:
        uint8 (h, w, 3) BGR through :data:`UV_COLORMAP` (JET: 0 blue -> 1 red).
    """
    if values.dtype != np.uint8:
        values = cv2.convertScaleAbs(np.clip(values, 0.0, 1.0), alpha=255.0)
    return cv2.applyColorMap(np.ascontiguousarray(values), UV_LUT)

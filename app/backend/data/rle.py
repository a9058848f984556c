"""Safe handling of COCO run-length encoded (RLE) masks.

pycocotools' C decoder trusts the counts it is given: a hostile or corrupt RLE whose
counts sum past ``height * width`` writes past its buffer. Every RLE from a user file is
therefore parsed and checked here in pure Python first (:func:`rle_counts`) and only then
decoded (:func:`decode_rle`, through ``pycocotools.mask``).

Compressed COCO RLE strings store each run length as 5-bit groups (chars '0'..'o',
bit 0x20 = more groups follow, bit 0x10 of the last group = negative) and, from the
fourth run on, as the difference to the run two places earlier.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.backend.structures.box_grid import DP_GRID

MAX_RLE_CHARS = 1 << 20


class RleError(ValueError):
    """The RLE is malformed; the message says why."""


def rle_counts(rle: Any) -> tuple[list[int], int, int]:
    """Parse and check an RLE dict; returns (run lengths, height, width).

    Raises:
        RleError: not a dict, bad ``size``, counts of the wrong type, illegal characters,
            a truncated group, negative runs, or runs that do not sum to height * width.
    """
    if not isinstance(rle, dict):
        raise RleError(f"RLE must be an object with 'size' and 'counts', got {type(rle).__name__}")
    size = rle.get("size")
    if (
        not isinstance(size, (list, tuple))
        or len(size) != 2
        or not all(isinstance(s, int) and not isinstance(s, bool) and 0 < s <= 65536 for s in size)
    ):
        raise RleError(f"RLE 'size' must be [height, width] of positive ints, got {size!r}")
    h, w = int(size[0]), int(size[1])
    counts = rle.get("counts")
    if isinstance(counts, bytes):
        try:
            counts = counts.decode("ascii")
        except UnicodeDecodeError:
            raise RleError("RLE 'counts' bytes are not ASCII") from None
    if isinstance(counts, str):
        runs = _parse_compressed(counts)
    elif isinstance(counts, list):
        if not all(isinstance(c, int) and not isinstance(c, bool) for c in counts):
            raise RleError("RLE 'counts' list must hold integers")
        runs = counts
    else:
        raise RleError(f"RLE 'counts' must be a string or a list of ints, got {type(counts).__name__}")
    if any(c < 0 for c in runs):
        raise RleError("RLE has a negative run length")
    total = sum(runs)
    if total != h * w:
        raise RleError(f"RLE runs sum to {total}, expected {h}*{w} = {h * w}")
    return runs, h, w


def _parse_compressed(s: str) -> list[int]:
    if len(s) > MAX_RLE_CHARS:
        raise RleError(f"RLE string longer than {MAX_RLE_CHARS} characters")
    runs: list[int] = []
    x = k = 0
    more = False
    for ch in s:
        c = ord(ch) - 48
        if not 0 <= c < 64:
            raise RleError(f"RLE string holds illegal character {ch!r}")
        x |= (c & 0x1F) << (5 * k)
        k += 1
        more = bool(c & 0x20)
        if more:
            if k > 12:
                raise RleError("RLE string holds an over-long number")
            continue
        if c & 0x10:
            x |= -1 << (5 * k)
        if len(runs) > 2:
            x += runs[-2]
        runs.append(x)
        x = k = 0
    if more:
        raise RleError("RLE string ends inside a number (truncated)")
    return runs


def _checked_compressed(rle: dict) -> tuple[dict, int, int]:
    """``rle`` checked by :func:`rle_counts` and put in the form pycocotools decodes; with its size."""
    from pycocotools import mask as mask_utils

    runs, h, w = rle_counts(rle)
    if isinstance(rle.get("counts"), list):
        return mask_utils.frPyObjects({"size": [h, w], "counts": runs}, h, w), h, w
    counts = rle["counts"]
    return {"size": [h, w], "counts": counts.encode("ascii") if isinstance(counts, str) else counts}, h, w


def decode_rle(rle: dict) -> np.ndarray:
    """Checked decode of one RLE dict -> uint8 array (height, width) of 0/1."""
    from pycocotools import mask as mask_utils

    compressed, _, _ = _checked_compressed(rle)
    return np.ascontiguousarray(mask_utils.decode(compressed), dtype=np.uint8)


def encode_mask(mask: np.ndarray) -> dict:
    """uint8/bool (H, W) mask -> COCO compressed RLE dict with a str ``counts`` (JSON-ready)."""
    from pycocotools import mask as mask_utils

    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": rle["counts"].decode("ascii")}


def decode_dp_masks(dp_masks: Any) -> np.ndarray:
    """COCO-DensePose ``dp_masks`` (14 RLEs, [] for an absent part) -> uint8 (256, 256) coarse labels 0..14.

    Mask k (0-based) paints label k + 1; later masks win where they overlap.

    Raises:
        RleError: not a list of 14 entries, or any entry is a broken RLE or has a size
            other than 256x256.
    """
    if not isinstance(dp_masks, list) or len(dp_masks) != 14:
        n = len(dp_masks) if isinstance(dp_masks, list) else type(dp_masks).__name__
        raise RleError(f"dp_masks must be a list of 14 RLEs, got {n}")
    compressed, labels = [], []
    for k, rle in enumerate(dp_masks):
        if rle is None or (isinstance(rle, (list, dict)) and len(rle) == 0):
            continue
        c, h, w = _checked_compressed(rle)
        if (h, w) != (DP_GRID, DP_GRID):
            raise RleError(f"dp_masks[{k}] has size ({h}, {w}), expected (256, 256)")
        compressed.append(c)
        labels.append(k + 1)
    if not compressed:
        return np.zeros((DP_GRID, DP_GRID), dtype=np.uint8)
    from pycocotools import mask as mask_utils

    # one decode call for all parts: (256, 256, n) of 0/1; labels grow with k, so the highest
    # label over a pixel is the latest mask that covers it
    masks = mask_utils.decode(compressed)
    return np.ascontiguousarray((masks * np.asarray(labels, dtype=np.uint8)).max(axis=2))


def encode_dp_masks(segm: np.ndarray) -> list:
    """uint8 (256, 256) coarse labels 0..14 -> 14 RLE dicts ([] where a part is absent)."""
    return [encode_mask(segm == k + 1) if np.any(segm == k + 1) else [] for k in range(14)]

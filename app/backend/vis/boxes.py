"""Detection boxes with instance index and score, drawn into BGR uint8 images (H, W, 3), in place."""

from __future__ import annotations

import cv2
import numpy as np

_FONT = cv2.FONT_HERSHEY_SIMPLEX


def box_label(index: int, score: float | None) -> str:
    """Caption of a box: ``#index`` and, for predictions, the score with two decimals."""
    return f"#{index}" if score is None else f"#{index} {score:.2f}"


def draw_boxes(
    image: np.ndarray,
    boxes: np.ndarray,
    scores: np.ndarray | None = None,
    *,
    indices: np.ndarray | None = None,
    color: tuple[int, int, int] = (0, 255, 255),
    thickness: int = 2,
    font_scale: float = 0.45,
) -> np.ndarray:
    """Draw boxes with a filled caption tab above each (inside the image) and return ``image``.

    Args:
        boxes: float (N, 4) XYXY_ABS pixels.
        scores: float (N,) or None (ground truth: no score in the caption).
        indices: instance numbers shown in the caption (default 0..N-1).
        color: BGR box and tab colour; caption text is black.
    """
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    h, w = image.shape[:2]
    for k, b in enumerate(boxes):
        if not np.isfinite(b).all():
            continue
        x0, y0, x1, y1 = (round(float(t)) for t in b)
        cv2.rectangle(image, (x0, y0), (x1, y1), color, thickness, cv2.LINE_AA)
        idx = int(indices[k]) if indices is not None else k
        text = box_label(idx, None if scores is None else float(scores[k]))
        (tw, th), base = cv2.getTextSize(text, _FONT, font_scale, 1)
        tx = min(max(0, x0), max(0, w - tw - 4))
        ty = y0 - th - base - 2 if y0 - th - base - 2 >= 0 else min(max(0, y0), max(0, h - th - base - 2))
        cv2.rectangle(image, (tx, ty), (tx + tw + 4, ty + th + base + 2), color, -1)
        cv2.putText(image, text, (tx + 2, ty + th + 1), _FONT, font_scale, (0, 0, 0), 1, cv2.LINE_AA)
    return image

"""Heatmaps of a CSI recording (numpy + OpenCV only; BGR uint8 images).

:func:`render_csi_heatmaps` draws four panels: amplitude raw | amplitude repaired, and
raw wrapped phase | sanitized phase. In each panel time (packets) runs left to right and
the rows are subcarriers, grouped per antenna pair (only pairs that carry data), with
the pair named at the left (``RX1-TX1`` ...). Non-finite raw values are drawn magenta.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from app.backend.atomic_write import atomic_write
from app.backend.data.csi.summary import ProcessedRecording

PANEL_W = 440
PANEL_H = 300
_LEFT = 78
_TOP = 28
_BOTTOM = 52
_GAP = 16
_BG = (32, 32, 32)
_FG = (235, 235, 235)
_NONFINITE_BGR = (255, 0, 255)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def _nearest(src: int, dst: int) -> np.ndarray:
    """The source indices OpenCV's INTER_NEAREST resize from ``src`` to ``dst`` pixels picks (same arithmetic)."""
    inv = 1.0 / (dst / src)
    return np.minimum(np.floor(np.arange(dst) * inv).astype(np.int64), src - 1)


def _rows(values: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, list[str], int]:
    """(P, S, R, T) -> the (K*S, P) image of the K valid pairs (packets along x), sampled to the
    panel's PANEL_H x PANEL_W pixels as a nearest-neighbour resize of the whole image would;
    also the labels and the full image's row count. Only the sampled values are copied."""
    p, s = values.shape[:2]
    pairs = list(zip(*np.nonzero(valid)))
    labels = [f"RX{r + 1}-TX{t + 1}" for r, t in pairs]
    n_rows = len(pairs) * s
    rows, cols = _nearest(n_rows, PANEL_H), _nearest(p, PANEL_W)
    img = np.empty((PANEL_H, PANEL_W), np.float32)
    for k, (r, t) in enumerate(pairs):
        here = (rows // s) == k
        img[here] = values[cols[:, None], rows[here] % s, r, t].T  # (rows of this pair, PANEL_W)
    return img, labels, n_rows


def _bounds(values: np.ndarray, valid: np.ndarray, symmetric: bool) -> tuple[float, float] | None:
    """min/max (or -max|v|..max|v|) of the finite values of the valid pairs, one pair at a time; None if none."""
    lo, hi = np.inf, -np.inf
    for r, t in zip(*np.nonzero(valid)):
        pair = values[:, :, r, t]
        finite = pair[np.isfinite(pair)]
        if finite.size:
            if symmetric:
                hi = max(hi, float(np.abs(finite).max()))
            else:
                lo, hi = min(lo, float(finite.min())), max(hi, float(finite.max()))
    if hi == -np.inf:
        return None
    return (-(hi or 1.0), hi or 1.0) if symmetric else (lo, hi)


def _colorize(img: np.ndarray, lo: float, hi: float, cmap: int) -> np.ndarray:
    finite = np.isfinite(img)
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    u8 = np.clip((np.where(finite, img, lo) - lo) * scale, 0, 255).astype(np.uint8)
    bgr = cv2.applyColorMap(u8, cmap)
    bgr[~finite] = _NONFINITE_BGR
    return bgr


def _panel(values: np.ndarray, valid: np.ndarray, title: str, cmap: int, symmetric: bool = False,
           bounds: tuple[float, float] | None = None) -> np.ndarray:
    img, labels, n_rows = _rows(values, valid)
    if bounds is None:
        bounds = _bounds(values, valid, symmetric) or (0.0, 1.0)
    lo, hi = bounds
    heat = _colorize(img, lo, hi, cmap)
    canvas = np.full((_TOP + PANEL_H + _BOTTOM, _LEFT + PANEL_W + 8, 3), _BG, np.uint8)
    canvas[_TOP : _TOP + PANEL_H, _LEFT : _LEFT + PANEL_W] = heat
    cv2.putText(canvas, title, (_LEFT, 19), _FONT, 0.5, _FG, 1, cv2.LINE_AA)
    per = n_rows // max(len(labels), 1)
    for k, label in enumerate(labels):
        y0 = _TOP + round(k * per * PANEL_H / n_rows)
        y1 = _TOP + round((k + 1) * per * PANEL_H / n_rows)
        if k:
            cv2.line(canvas, (_LEFT, y0), (_LEFT + PANEL_W - 1, y0), _FG, 1)
        if y1 - y0 >= 10:
            cv2.putText(canvas, label, (4, (y0 + y1) // 2 + 4), _FONT, 0.38, _FG, 1, cv2.LINE_AA)
    p = values.shape[0]
    ybar = _TOP + PANEL_H + 6
    cv2.putText(canvas, "packet 0", (_LEFT, ybar + 10), _FONT, 0.38, _FG, 1, cv2.LINE_AA)
    end = f"{p - 1} -> time"
    (tw, _), _ = cv2.getTextSize(end, _FONT, 0.38, 1)
    cv2.putText(canvas, end, (_LEFT + PANEL_W - tw, ybar + 10), _FONT, 0.38, _FG, 1, cv2.LINE_AA)
    cv2.putText(canvas, "subcarrier", (4, _TOP + 12), _FONT, 0.33, _FG, 1, cv2.LINE_AA)
    bar = cv2.applyColorMap(np.tile(np.linspace(0, 255, 200).astype(np.uint8), (8, 1)), cmap)
    bx = _LEFT + (PANEL_W - 200) // 2
    canvas[ybar + 18 : ybar + 26, bx : bx + 200] = bar
    cv2.putText(canvas, f"{lo:.3g}", (bx - 52, ybar + 26), _FONT, 0.38, _FG, 1, cv2.LINE_AA)
    cv2.putText(canvas, f"{hi:.3g}", (bx + 206, ybar + 26), _FONT, 0.38, _FG, 1, cv2.LINE_AA)
    return canvas


def render_csi_heatmaps(proc: ProcessedRecording) -> np.ndarray:
    """BGR uint8 image: amplitude raw | repaired (top), phase raw | sanitized (bottom)."""
    rec = proc.recording
    valid = rec.valid_pairs()
    if not valid.any():
        valid = np.ones_like(valid)
    panels = [
        _panel(rec.amplitude, valid, "amplitude (raw)", cv2.COLORMAP_VIRIDIS),
        _panel(proc.amplitude, valid, f"amplitude (repaired: {proc.repaired} non-finite)", cv2.COLORMAP_VIRIDIS),
        _panel(rec.phase, valid, "phase (raw, wrapped) [rad]", cv2.COLORMAP_TWILIGHT, bounds=(-np.pi, np.pi)),
        _panel(proc.sanitized_phase, valid, "phase (sanitized) [rad]", cv2.COLORMAP_TWILIGHT_SHIFTED, symmetric=True),
    ]
    h, w = panels[0].shape[:2]
    header = np.full((34, 2 * w + _GAP, 3), _BG, np.uint8)
    p, s, r, t = rec.shape
    name = Path(rec.path).name if rec.path else "<in-memory>"
    text = f"{name}  |  {rec.source_format}  |  P={p} S={s} RX={r} TX={t}  |  {rec.duration:.3f} s"
    cv2.putText(header, text, (8, 23), _FONT, 0.55, _FG, 1, cv2.LINE_AA)
    gap = np.full((h, _GAP, 3), _BG, np.uint8)
    top = np.hstack([panels[0], gap, panels[1]])
    bottom = np.hstack([panels[2], gap, panels[3]])
    return np.vstack([header, top, bottom])


def write_png(path: str | os.PathLike, image_bgr: np.ndarray) -> Path:
    """Encode a BGR uint8 image as PNG and write it with :func:`~app.backend.atomic_write.atomic_write`."""
    ok, buf = cv2.imencode(".png", image_bgr)
    if not ok:
        raise OSError(f"{path}: PNG encoding failed")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(out, buf.tobytes())

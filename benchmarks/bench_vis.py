"""Overlay rendering speed: frames/s at 1280x720 with 5 people on one core, every layer on.

Run: ``.venv/bin/python benchmarks/bench_vis.py [--frames N]``. Prints the full-overlay frame
rate (goal >= 30 frames/s) and the time of each layer measured alone in the same run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.backend.structures import DensePoseResult, FramePrediction
from app.backend.vis import OverlayOptions, render_overlay


def synthetic_person(box: tuple[float, float, float, float], rng: np.random.Generator) -> DensePoseResult:
    """A body-shaped DensePose result: 24 part bands inside an ellipse, smooth U/V ramps."""
    x0, y0, x1, y1 = box
    w, h = round(x1 - x0), round(y1 - y0)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    inside = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2 <= 1.0
    band = (yy / h * 12).astype(np.int32) * 2 + (xx > w / 2)
    labels = np.where(inside, band % 24 + 1, 0).astype(np.uint8)
    u = (xx / w + 0.1 * rng.standard_normal()) % 1.0
    v = (yy / h * 3.0) % 1.0
    uv = np.stack([u, v]).astype(np.float32) * inside
    return DensePoseResult(labels=labels, uv=uv, box_xyxy=box)


def synthetic_frame(n: int = 5, size: tuple[int, int] = (720, 1280), seed: int = 0) -> FramePrediction:
    """``n`` people of about 200x480 pixels spread over a frame of ``size`` (H, W)."""
    rng = np.random.default_rng(seed)
    boxes, kps, dps = [], [], []
    for k in range(n):
        x0 = 40 + k * (size[1] - 280) / max(1, n - 1)
        y0 = 100 + 40 * (k % 2)
        box = (float(x0), float(y0), float(x0 + 200), float(y0 + 480))
        boxes.append(box)
        kp = np.zeros((17, 3), np.float32)
        kp[:, 0] = x0 + rng.uniform(20, 180, 17)
        kp[:, 1] = y0 + np.linspace(20, 460, 17)
        kp[:, 2] = rng.uniform(0.0, 3.0, 17)
        kps.append(kp)
        dps.append(synthetic_person(box, rng))
    return FramePrediction(size, np.array(boxes), rng.uniform(0.6, 1.0, n), np.stack(kps), dps)


def time_it(image: np.ndarray, pred: FramePrediction, options: OverlayOptions, frames: int) -> float:
    """Seconds per frame of render_overlay (best of 3 runs of ``frames`` frames)."""
    render_overlay(image, pred, options)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(frames):
            render_overlay(image, pred, options)
        best = min(best, (time.perf_counter() - t0) / frames)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--people", type=int, default=5)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (720, 1280, 3), dtype=np.uint8)
    pred = synthetic_frame(args.people)
    none = OverlayOptions(
        show_boxes=False, show_keypoints=False, show_parts=False, score_threshold=0.0, kp_threshold=1.0
    )
    full = none.all_layers()
    t_full = time_it(image, pred, full, args.frames)
    t_base = time_it(image, pred, none, args.frames)
    print(f"render_overlay 1280x720, {args.people} people, one core, every layer on:")
    print(f"  {t_full * 1e3:7.2f} ms/frame  = {1.0 / t_full:6.1f} frames/s   (goal >= 30)")
    print(f"  copy only (no layers): {t_base * 1e3:6.2f} ms/frame")
    layers = {
        "parts": {"show_parts": True},
        "u map": {"show_u": True},
        "v map": {"show_v": True},
        "contours": {"show_contours": True},
        "boxes": {"show_boxes": True},
        "keypoints": {"show_keypoints": True},
    }
    print("  per layer (alone, minus the copy):")
    for name, kw in layers.items():
        opts = OverlayOptions(**{**none.__dict__, **kw})
        t = time_it(image, pred, opts, args.frames)
        print(f"    {name:10s} {max(0.0, t - t_base) * 1e3:6.2f} ms")


if __name__ == "__main__":
    main()

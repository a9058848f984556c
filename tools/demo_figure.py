"""The README's demo figure: RGB frame | MTN output from CSI | prediction, for a few val frames.

Usage: ``.venv/bin/python tools/demo_figure.py OUTPUT_DIR DEMO_ROOT docs/screenshots/demo_csi_val.jpg [N]``
with OUTPUT_DIR a finished demo_cpu training run (config.yaml, model_final.pth).
The camera frame is only shown for comparison: the model sees the CSI file alone.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.backend.config import load_config
from app.backend.engine.predictor import Predictor


def main(run: str, demo_root: str, out: str, n: int = 2) -> None:
    cfg = load_config(str(Path(run) / "config.yaml"), [])
    predictor = Predictor(cfg, str(Path(run) / "model_final.pth"))
    rows = []
    for k in range(n):
        frame = cv2.imread(str(Path(demo_root) / f"images/val/{k:06d}.jpg"))
        h, w = frame.shape[:2]
        result = predictor.predict_csi(str(Path(demo_root) / f"csi/val/{k:06d}.npz"), image_size=(h, w))
        mtn = cv2.resize(result.mtn_image, (w, h))
        rows.append(np.concatenate([frame, mtn, cv2.resize(result.overlay, (w, h))], axis=1))
    cv2.imwrite(out, np.concatenate(rows, axis=0), [cv2.IMWRITE_JPEG_QUALITY, 88])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 2)

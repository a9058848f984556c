"""Dataset view benchmark: opening a 50,000-image COCO-DensePose JSON, thumbnails, scrolling.

    .venv/bin/python benchmarks/bench_dataset_view.py [--images 50000] [--files 1500]

Writes a synthetic dataset to a temporary folder (``--files`` distinct 320x240 JPEG frames
referenced round-robin by ``--images`` image entries; 1-2 people each with 17 keypoints and
24 DensePose points), then measures side by side in one run:

- ``json.load`` of the file (the reference) vs the dataset view's open (parse + document +
  index: the grid is shown) and until the files are validated and editable;
- first thumbnail latency after the grid appears, and p50/p99 of the per-thumbnail decode
  time on a cold cache;
- scrolling: p50/p99/max time of a grid repaint per scroll step while thumbnails stream in;
- filtering all rows (numpy mask + proxy).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np

from benchmarks.scratch import scratch_dir


def write_dataset(root: Path, n_images: int, n_files: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    base = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    for f in range(n_files):
        img = np.roll(base, f * 7, axis=1)
        cv2.putText(img, str(f), (20, 120), cv2.FONT_HERSHEY_SIMPLEX, 2, (255, 255, 255), 3)
        cv2.imwrite(str(root / "images" / f"{f:06d}.jpg"), img)
    images, anns = [], []
    ann_id = 1
    for i in range(n_images):
        images.append(
            {"id": i + 1, "file_name": f"images/{i % n_files:06d}.jpg", "width": 320, "height": 240, "csi_file": None}
        )
        for _ in range(int(rng.integers(1, 3))):
            kps = np.stack([rng.uniform(60, 260, 17), rng.uniform(40, 200, 17), rng.integers(0, 3, 17)], 1)
            k = 24
            anns.append(
                {
                    "id": ann_id,
                    "image_id": i + 1,
                    "category_id": 1,
                    "iscrowd": 0,
                    "area": 6000.0,
                    "bbox": [50.0, 30.0, 100.0, 60.0],
                    "keypoints": [round(float(v), 2) for v in kps.reshape(-1)],
                    "num_keypoints": int((kps[:, 2] > 0).sum()),
                    "dp_x": np.round(rng.uniform(0, 255, k), 3).tolist(),
                    "dp_y": np.round(rng.uniform(0, 255, k), 3).tolist(),
                    "dp_I": rng.integers(1, 25, k).tolist(),
                    "dp_U": np.round(rng.uniform(0, 1, k), 4).tolist(),
                    "dp_V": np.round(rng.uniform(0, 1, k), 4).tolist(),
                }
            )
            ann_id += 1
    path = root / "train.json"
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": [{"id": 1, "name": "person"}]}))
    return path


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=50000)
    ap.add_argument("--files", type=int, default=1500)
    ap.add_argument("--scroll-steps", type=int, default=150)
    ap.add_argument("--workdir", default="", help="reuse a dataset written there by an earlier run")
    args = ap.parse_args()

    tmp = Path(args.workdir) if args.workdir else scratch_dir("bench_dataset_view_")
    os.environ["XDG_CACHE_HOME"] = str(tmp / "cache")
    t = time.perf_counter()
    path = tmp / "data" / "train.json"
    if not path.exists() or len(json.loads(path.read_bytes())["images"]) != args.images:
        path = write_dataset(tmp / "data", args.images, args.files)
    import shutil

    shutil.rmtree(tmp / "cache", ignore_errors=True)
    shutil.rmtree(tmp / "cold", ignore_errors=True)
    size_mb = path.stat().st_size / 1e6
    print(
        f"dataset: {args.images} images, {size_mb:.0f} MB JSON, {args.files} frames (written in {time.perf_counter() - t:.1f} s)"
    )

    from app.backend.annotations import AnnotationDocument
    from app.backend.annotations.index import build_index

    t_jsons, t_docs = [], []
    for _ in range(3):  # interleaved, so machine load affects both alike
        t_jsons.append(_timed(lambda: json.loads(path.read_bytes())))
        t_docs.append(_timed(lambda: build_index([AnnotationDocument.load(path)])))
    t_json, t_backend = min(t_jsons), min(t_docs)
    print(f"json.load (min of 3):                   {t_json:7.2f} s")
    print(f"document + index (backend, min of 3):   {t_backend:7.2f} s  ratio {t_backend / t_json:.2f}x")

    from PySide6.QtCore import QEventLoop, QTimer

    from app.ui.dataset.dataset_view import DatasetView
    from app.ui.shell.app import make_application

    app = make_application()
    view = DatasetView(cache_dir=tmp / "cache" / "thumbs")
    view.resize(1280, 860)
    view.show()
    app.processEvents()
    marks: dict[str, float] = {}
    view.datasetIndexed.connect(lambda: marks.setdefault("indexed", time.perf_counter()))
    view.datasetReady.connect(lambda: marks.setdefault("ready", time.perf_counter()))
    view.model.thumbnailReady.connect(lambda _row: marks.setdefault("thumb", time.perf_counter()))
    decode: list[float] = []
    t0 = time.perf_counter()
    view.open_paths([path])
    _spin(app, lambda: "indexed" in marks, 600)
    shown = marks["indexed"]  # the grid model is set in the slot that emits datasetIndexed
    _spin(app, lambda: "thumb" in marks, 60)
    _spin(app, lambda: "ready" in marks, 600)
    t_open, t_ready = marks["indexed"] - t0, marks["ready"] - t0
    print(f"dataset view open (grid shown):          {t_open:7.2f} s  ratio {t_open / t_json:.2f}x (goal <= 2x)")
    print(f"dataset view validated + editable:       {t_ready:7.2f} s  ratio {t_ready / t_json:.2f}x")
    print(f"first thumbnail after the grid appears:  {1000 * (marks['thumb'] - shown):7.1f} ms (goal <= 500 ms)")

    # per-thumbnail decode time on a cold cache (the worker's loader, timed on this thread)
    from app.backend.annotations.thumbnails import ThumbnailCache

    cold = ThumbnailCache(tmp / "cold", size=128)
    for f in range(min(args.files, 300)):
        decode.append(_timed(lambda f=f: cold.get(tmp / "data" / "images" / f"{f:06d}.jpg", (320, 240))))
    warm = [
        _timed(lambda f=f: ThumbnailCache(tmp / "cold", size=128).get(tmp / "data" / "images" / f"{f:06d}.jpg"))
        for f in range(100)
    ]
    print(f"thumbnail decode, cold (p50 / p99):      {1000 * pct(decode, 50):7.2f} / {1000 * pct(decode, 99):.2f} ms")
    print(f"thumbnail from disk cache (p50 / p99):   {1000 * pct(warm, 50):7.2f} / {1000 * pct(warm, 99):.2f} ms")

    bar = view.grid.verticalScrollBar()
    step = max(1, view.grid.gridSize().height() // 2)
    frames = []
    for _ in range(args.scroll_steps):
        t = time.perf_counter()
        bar.setValue(bar.value() + step)
        view.grid.viewport().repaint()
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
        frames.append(time.perf_counter() - t)
    print(
        f"scroll frame time (p50 / p99 / max):     {1000 * pct(frames, 50):7.2f} / {1000 * pct(frames, 99):.2f} / {1000 * max(frames):.2f} ms "
        f"over {args.scroll_steps} steps of {step} px"
    )
    t = time.perf_counter()
    view.search.setText("00001")
    t_filter = time.perf_counter() - t
    print(f"filter {args.images} rows (name search):  {1000 * t_filter:7.1f} ms -> {view.proxy.rowCount()} rows")
    view.shutdown()
    QTimer.singleShot(0, app.quit)
    return 0


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _spin(app, cond, timeout_s: float) -> None:
    end = time.perf_counter() + timeout_s
    while not cond():
        if time.perf_counter() > end:
            raise TimeoutError("benchmark step timed out")
        app.processEvents()
        time.sleep(0.001)


if __name__ == "__main__":
    raise SystemExit(main())

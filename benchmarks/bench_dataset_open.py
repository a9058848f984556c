"""Opening a 50,000-image COCO-DensePose(+CSI) JSON: our loader vs plain ``json.load`` (goal: ratio <= 2).

Builds the dataset in a temporary folder (one person per image with bbox, 17 keypoints,
100 DensePose points and 14 dp_masks RLEs, like COCO-DensePose; every referenced RGB and
CSI file exists as an empty file, since the loader checks existence but decodes nothing),
then times, side by side in this run:

- ``json.load`` of the file (the floor), and
- ``load_coco_densepose_json`` (parse, per-record checks, pycocotools index, detectron2 dicts).

Run: ``.venv/bin/python benchmarks/bench_dataset_open.py [--images N] [--repeat R]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.backend.data.dataset import load_coco_densepose_json
from app.backend.data.rle import encode_dp_masks

TEMPLATES = 64


def _annotation_templates(rng: np.random.Generator) -> list[str]:
    """JSON text of distinct annotations (without ids), reused across images to build the file fast."""
    out = []
    for _ in range(TEMPLATES):
        x, y = rng.uniform(0, 150), rng.uniform(0, 80)
        w, h = rng.uniform(40, 160), rng.uniform(80, 150)
        kps = []
        for _k in range(17):
            kps += [round(x + rng.uniform(0, w), 2), round(y + rng.uniform(0, h), 2), int(rng.integers(0, 3))]
        segm = np.zeros((256, 256), np.uint8)
        for part in range(1, 15):
            r, c = rng.integers(0, 200, size=2)
            segm[r : r + rng.integers(10, 56), c : c + rng.integers(10, 56)] = part
        n = 100
        ann = {
            "bbox": [round(x, 2), round(y, 2), round(w, 2), round(h, 2)],
            "area": round(w * h, 2),
            "category_id": 1,
            "iscrowd": 0,
            "num_keypoints": 17,
            "keypoints": kps,
            "dp_x": [round(float(v), 3) for v in rng.uniform(0, 255, n)],
            "dp_y": [round(float(v), 3) for v in rng.uniform(0, 255, n)],
            "dp_I": [int(v) for v in rng.integers(1, 25, n)],
            "dp_U": [round(float(v), 4) for v in rng.uniform(0, 1, n)],
            "dp_V": [round(float(v), 4) for v in rng.uniform(0, 1, n)],
            "dp_masks": encode_dp_masks(segm),
        }
        out.append(json.dumps(ann, separators=(",", ":"))[1:-1])  # body without braces
    return out


def build(root: Path, num_images: int) -> Path:
    """Write ``root/annotations.json`` with ``num_images`` images (and their empty files)."""
    rng = np.random.default_rng(0)
    templates = _annotation_templates(rng)
    (root / "images").mkdir()
    (root / "csi").mkdir()
    path = root / "annotations.json"
    with open(path, "w") as f:
        f.write('{"info":{"description":"benchmark"},"categories":[{"id":1,"name":"person"}],"images":[')
        for i in range(num_images):
            name = f"{i:06d}"
            (root / "images" / f"{name}.jpg").touch()
            (root / "csi" / f"{name}.npz").touch()
            sep = "," if i else ""
            f.write(
                f'{sep}{{"id":{i + 1},"file_name":"images/{name}.jpg","csi_file":"csi/{name}.npz",'
                f'"width":320,"height":240}}'
            )
        f.write('],"annotations":[')
        for i in range(num_images):
            sep = "," if i else ""
            f.write(f'{sep}{{"id":{i + 1},"image_id":{i + 1},{templates[i % TEMPLATES]}}}')
        f.write("]}")
    return path


def _time(fns: dict, repeat: int) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds of each function, runs interleaved so machine load hits both alike."""
    wall: dict[str, list[float]] = {k: [] for k in fns}
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            gc.collect()
            t0, c0 = time.perf_counter(), time.process_time()
            result = fn()
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
            del result
    return {k: (statistics.median(wall[k]), statistics.median(cpu[k])) for k in fns}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        path = build(Path(tmp), args.images)
        size_mb = path.stat().st_size / 1e6
        print(f"built {args.images} images, {size_mb:.0f} MB JSON in {time.perf_counter() - t0:.1f} s")

        def plain() -> object:
            with open(path, "rb") as f:
                return json.load(f)

        records = load_coco_densepose_json(path)
        assert len(records) == args.images, f"loader kept {len(records)} of {args.images} images"
        del records
        t = _time({"json": plain, "ours": lambda: load_coco_densepose_json(path)}, args.repeat)
    (jw, jc), (ow, oc) = t["json"], t["ours"]
    print(f"json.load:                {jw:6.2f} s wall, {jc:6.2f} s CPU")
    print(f"load_coco_densepose_json: {ow:6.2f} s wall, {oc:6.2f} s CPU")
    print(f"ratio ours / json.load:   {ow / jw:.2f} wall, {oc / jc:.2f} CPU (goal <= 2)")


if __name__ == "__main__":
    main()

"""The synthetic demo dataset: articulated people, DensePose ground truth, RGB frames and simulated CSI.

Layout written by :func:`generate_demo_dataset`::

    <root>/train.json, <root>/val.json          COCO-DensePose(+CSI) (see README "Dataset format")
    <root>/images/<split>/NNNNNN.jpg            320x240 BGR JPEG frames
    <root>/csi/<split>/NNNNNN.npz               CSI in our npz format (5 packets x 30 subcarriers x 3 RX x 3 TX)

Each frame holds 1-3 people (:mod:`app.backend.data.demo_body`) in random poses, sizes and
places over a textured room; people in front occlude those behind (keypoint visibility and
DensePose points follow). The CSI comes from :mod:`app.backend.data.demo_csi_sim`. Everything is
deterministic per seed (each frame draws from its own ``SeedSequence`` child). The DensePose
charts are mirror-symmetric, so training may flip with ``INPUT.DENSEPOSE_FLIP mirror_charts``.

Writing is atomic: files go to a temporary folder inside the output folder, the old JSONs are
removed first and the new ones are put in place last, so an interrupted run never leaves a
dataset that :func:`demo_dataset_ready` accepts.
"""

from __future__ import annotations

import errno
import json
import multiprocessing
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from app.backend.atomic_write import replace_path
from app.backend.data import demo_body as body
from app.backend.data import demo_csi_sim as sim
from app.backend.data.csi import write_csi_npz
from app.backend.data.demo_defaults import DEFAULT_NUM_TRAIN, DEFAULT_NUM_VAL, DEFAULT_WORKERS
from app.backend.data.rle import encode_dp_masks
from app.backend.errors import WriteError
from app.backend.paths import demo_root
from app.backend.structures.body import (
    FINE_TO_COARSE,
    PERSON_CATEGORY_ID,
    person_category,
)
from app.backend.structures.box_grid import DP_GRID, cell_centres_on_dp_grid

IMAGE_WIDTH, IMAGE_HEIGHT = 320, 240
POINTS_PER_PERSON = 100
#: bumped whenever the same seed would give other frames or CSI (demo data of another version is
#: made again): 2 = the CSI carries which way each person faces (demo_csi_sim.FRONT_DEPTH)
GENERATOR_VERSION = 2
SPLITS = ("train", "val")
# disk use of one frame (JPEG, CSI .npz, its JSON entry), from the default demo: 249 MB for 5,060 frames
BYTES_PER_FRAME = 52_000
_FINE_TO_COARSE = np.array(FINE_TO_COARSE, dtype=np.uint8)


def _background(rng: np.random.Generator) -> np.ndarray:
    """Textured room: wall and floor with smooth noise, a few rectangles and grain; BGR uint8 (H, W, 3)."""
    h, w = IMAGE_HEIGHT, IMAGE_WIDTH
    horizon = int(h * rng.uniform(0.45, 0.6))
    wall, floor = rng.uniform(60, 220, size=3), rng.uniform(40, 180, size=3)
    img = np.empty((h, w, 3), np.float32)
    ramp = np.linspace(0.85, 1.1, h, dtype=np.float32)[:, None, None]
    img[:horizon] = wall
    img[horizon:] = floor
    img *= ramp
    for k in range(int(rng.integers(6, 14))):  # floor boards converging to a vanishing point
        x0 = (k + rng.uniform(0, 1)) * w / 8 - w / 4
        ys = np.arange(horizon, h)
        xl = w / 2 + (x0 - w / 2) * (ys - horizon) / max(h - horizon, 1)
        cols = np.clip(xl.astype(int), 0, w - 1)
        img[ys, cols] *= 0.75
    for _ in range(int(rng.integers(2, 6))):  # furniture, windows, posters
        x0, y0 = int(rng.integers(0, w - 20)), int(rng.integers(0, horizon))
        x1, y1 = x0 + int(rng.integers(15, 90)), y0 + int(rng.integers(10, 80))
        img[y0:y1, x0:x1] = rng.uniform(20, 240, size=3)
    coarse = rng.normal(0, 12, size=(h // 16 + 1, w // 16 + 1, 3)).astype(np.float32)
    img += cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    img += 4.0 * rng.standard_normal(img.shape, dtype=np.float32)
    return img


def _sample_people(rng: np.random.Generator) -> list[body.Person]:
    """1-3 people, sorted far to near, none hidden by more than about half."""
    n = int(rng.integers(1, 4))
    people: list[body.Person] = []
    boxes: list[tuple[float, float, float, float]] = []
    for _ in range(n):
        for _attempt in range(30):
            p = body.sample_person(rng, IMAGE_WIDTH, IMAGE_HEIGHT)
            b = body.person_bounds(body.body_parts(p))
            if all(_overlap(b, o) < 0.45 for o in boxes):
                people.append(p)
                boxes.append(b)
                break
    people.sort(key=lambda q: q.depth)
    return people


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over the smaller box area."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    small = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return iw * ih / max(small, 1e-9)


def render_frame(people: list[body.Person], rng: np.random.Generator) -> dict:
    """Render people over a background.

    Returns:
        dict with ``image`` BGR uint8 (H, W, 3), ``person`` int16 (H, W) index of the visible
        person (-1 = background), ``I`` uint8, ``U``/``V`` float32 (H, W) of the visible body,
        ``boxes`` list of int (x0, y0, x1, y1) amodal person extents clipped to the frame (None if
        the person lies outside), ``parts`` the capsules of each person.
    """
    h, w = IMAGE_HEIGHT, IMAGE_WIDTH
    img = _background(rng)
    pid = np.full((h, w), -1, np.int16)
    fine = np.zeros((h, w), np.uint8)
    uu = np.zeros((h, w), np.float32)
    vv = np.zeros((h, w), np.float32)
    boxes, all_parts = [], []
    for k, p in enumerate(people):
        parts = body.body_parts(p)
        all_parts.append(parts)
        x0, y0, x1, y1 = body.person_bounds(parts)
        cx0, cy0 = max(int(np.floor(x0)), 0), max(int(np.floor(y0)), 0)
        cx1, cy1 = min(int(np.ceil(x1)), w), min(int(np.ceil(y1)), h)
        if cx1 <= cx0 or cy1 <= cy0:
            boxes.append(None)
            continue
        ys, xs = np.mgrid[cy0:cy1, cx0:cx1].astype(np.float64) + 0.5
        lab, u, v = body.render_person(parts, xs, ys)
        on = lab > 0
        if not on.any():
            boxes.append(None)
            continue
        rows, cols = np.nonzero(on)
        boxes.append(
            (cx0 + int(cols.min()), cy0 + int(rows.min()), cx0 + int(cols.max()) + 1, cy0 + int(rows.max()) + 1)
        )
        colour = body.shade_person(parts, p.colours, lab, u, v)
        sl = (slice(cy0, cy1), slice(cx0, cx1))
        img[sl][on] = colour[on]
        pid[sl][on] = k
        fine[sl][on] = lab[on]
        uu[sl][on] = u[on]
        vv[sl][on] = v[on]
    img += 3.0 * rng.standard_normal(img.shape, dtype=np.float32)
    image = np.clip(img, 0, 255).astype(np.uint8)
    return {"image": image, "person": pid, "I": fine, "U": uu, "V": vv, "boxes": boxes, "parts": all_parts}


def _annotation(k: int, p: body.Person, frame: dict, rng: np.random.Generator) -> dict | None:
    """COCO-DensePose annotation of person k (None if it is not visible at all)."""
    box = frame["boxes"][k]
    if box is None:
        return None
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    kps = []
    h, w = frame["person"].shape
    for x, y in p.kp:
        xi, yi = int(np.floor(x)), int(np.floor(y))
        if not (0 <= xi < w and 0 <= yi < h):
            kps += [0.0, 0.0, 0]
            continue
        vis = 2 if frame["person"][yi, xi] == k else 1
        # COCO keypoints are pixel indices: continuous coordinate minus 0.5.
        kps += [round(float(x) - 0.5, 2), round(float(y) - 0.5, 2), vis]
    if p.facing < 0:  # face keypoints are behind the head
        for name in ("nose", "left_eye", "right_eye"):
            j = body.KP[name]
            if kps[3 * j + 2] == 2:
                kps[3 * j + 2] = 1
    crop = (slice(y0, y1), slice(x0, x1))
    mine = frame["person"][crop] == k
    ann = {
        "bbox": [float(x0), float(y0), float(bw), float(bh)],
        "area": float(mine.sum()),
        "category_id": PERSON_CATEGORY_ID,
        "iscrowd": 0,
        "keypoints": kps,
        "num_keypoints": sum(1 for v in kps[2::3] if v > 0),
    }
    rows, cols = np.nonzero(mine)
    if len(rows) == 0:
        return ann
    pick = rng.choice(len(rows), size=min(POINTS_PER_PERSON, len(rows)), replace=False)
    r, c = rows[pick], cols[pick]
    fine = frame["I"][crop]
    dp_x, dp_y = cell_centres_on_dp_grid(r, c, (bh, bw))
    ann["dp_x"] = [round(float(v), 3) for v in dp_x]
    ann["dp_y"] = [round(float(v), 3) for v in dp_y]
    ann["dp_I"] = [int(v) for v in fine[r, c]]
    ann["dp_U"] = [round(float(v), 4) for v in frame["U"][crop][r, c]]
    ann["dp_V"] = [round(float(v), 4) for v in frame["V"][crop][r, c]]
    coarse = np.where(mine, _FINE_TO_COARSE[fine], 0).astype(np.uint8)
    ann["dp_masks"] = encode_dp_masks(cv2.resize(coarse, (DP_GRID, DP_GRID), interpolation=cv2.INTER_NEAREST))
    return ann


def _frame(seed_seq: np.random.SeedSequence, index: int, split: str, out: Path) -> tuple[dict, list[dict]]:
    rng = np.random.default_rng(seed_seq)
    people = _sample_people(rng)
    frame = render_frame(people, rng)
    name = f"{index:06d}"
    img_rel, csi_rel = f"images/{split}/{name}.jpg", f"csi/{split}/{name}.npz"
    ok, buf = cv2.imencode(".jpg", frame["image"], [cv2.IMWRITE_JPEG_QUALITY, 92])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    (out / img_rel).write_bytes(buf.tobytes())
    pos, gain = sim.scene_scatterers(frame["parts"], (IMAGE_HEIGHT, IMAGE_WIDTH), [p.facing for p in people])
    amp, phase, ts = sim.simulate_csi(pos, gain, rng, t0=index * 0.05)
    write_csi_npz(out / csi_rel, amp, phase, ts)
    anns = [a for k, p in enumerate(people) if (a := _annotation(k, p, frame, rng)) is not None]
    image = {"id": index + 1, "file_name": img_rel, "csi_file": csi_rel, "width": IMAGE_WIDTH, "height": IMAGE_HEIGHT}
    return image, anns


def _split_json(split: str, num: int, seed: int, out: Path, pool=None) -> dict:
    children = np.random.SeedSequence([seed, SPLITS.index(split)]).spawn(num)
    jobs = [(child, i, split, out) for i, child in enumerate(children)]
    frames = pool.starmap(_frame, jobs, chunksize=4) if pool is not None else [_frame(*job) for job in jobs]
    images, anns = [], []
    for img, frame_anns in frames:
        images.append(img)
        for a in frame_anns:
            a["id"] = len(anns) + 1
            a["image_id"] = img["id"]
            anns.append(a)
    info = {
        "description": "WiFi DensePose Studio synthetic demo (simulated CSI, mirror-symmetric charts)",
        "generator_version": GENERATOR_VERSION,
        "seed": seed,
        "split": split,
        "mirror_rule": body.MIRROR_RULE,
    }
    return {"info": info, "images": images, "annotations": anns, "categories": [person_category(coarse_parts=True)]}


def generate_demo_dataset(
    out_dir: str | Path,
    num_train: int = DEFAULT_NUM_TRAIN,
    num_val: int = DEFAULT_NUM_VAL,
    seed: int = 0,
    workers: int = 1,
) -> dict:
    """Write the demo dataset into ``out_dir`` (created if needed) and return the JSON paths.

    Only ``train.json``, ``val.json``, ``images/`` and ``csi/`` inside ``out_dir`` are replaced;
    other files there are left alone. ``workers`` > 1 renders frames in that many processes
    (started with 'spawn', safe under Qt and threads); the result is identical to ``workers=1``.

    Returns:
        ``{"train": Path, "val": Path, "root": Path, "seconds": float}``.

    Raises:
        WriteError: the folder cannot be written, or its disk has no room for the frames (checked
            before the first frame, so a full disk is told at once); what was there is left as it was.
    """
    if num_train < 0 or num_val < 0:
        raise ValueError("frame counts must be >= 0")
    t0 = time.perf_counter()
    out = Path(out_dir).expanduser()
    try:
        out.mkdir(parents=True, exist_ok=True)
        _check_free_space(out, num_train + num_val)
        return _generate(out, num_train, num_val, seed, workers, t0)
    except WriteError:
        raise
    except OSError as exc:  # a read-only folder, a disk that fills up on the way: one line naming the folder
        raise WriteError.of(out, exc) from exc


def _check_free_space(out: Path, frames: int) -> None:
    """Refuse at once, not minutes in, when the disk cannot hold ``frames`` new frames."""
    need, free = frames * BYTES_PER_FRAME, shutil.disk_usage(out).free
    if free < need:
        raise WriteError(errno.ENOSPC, f"No space left on device: the demo needs about {need / 1e6:.0f} MB, "
                         f"{free / 1e6:.0f} MB are free", str(out))


def _generate(out: Path, num_train: int, num_val: int, seed: int, workers: int, t0: float) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=".demo-tmp-", dir=out))
    try:
        for split in SPLITS:
            (tmp / "images" / split).mkdir(parents=True)
            (tmp / "csi" / split).mkdir(parents=True)
        pool = multiprocessing.get_context("spawn").Pool(workers) if workers > 1 else None
        try:
            jsons = {split: _split_json(split, n, seed, tmp, pool) for split, n in zip(SPLITS, (num_train, num_val))}
        finally:
            if pool is not None:
                pool.close()
                pool.join()
        for split, data in jsons.items():
            (tmp / f"{split}.json").write_text(json.dumps(data, separators=(",", ":"), allow_nan=False))
        for split in SPLITS:
            (out / f"{split}.json").unlink(missing_ok=True)
        for sub in ("images", "csi"):
            old = out / sub
            if old.exists():
                replace_path(old, tmp / f"old-{sub}")
            replace_path(tmp / sub, old)
        for split in SPLITS:
            replace_path(tmp / f"{split}.json", out / f"{split}.json")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"train": out / "train.json", "val": out / "val.json", "root": out, "seconds": time.perf_counter() - t0}


def demo_dataset_ready(root: str | Path, num_train: int | None = None, num_val: int | None = None) -> bool:
    """Cheap check: both JSONs parse, come from this generator version and every referenced file exists.

    With ``num_train`` / ``num_val`` the split must also hold exactly that many frames (a demo made
    with other sizes is not the one asked for).
    """
    root = Path(root).expanduser()
    for split, wanted in zip(SPLITS, (num_train, num_val)):
        path = root / f"{split}.json"
        try:
            data = json.loads(path.read_text())
            if data["info"]["generator_version"] != GENERATOR_VERSION:
                return False
            if wanted is not None and len(data["images"]) != int(wanted):
                return False
            for img in data["images"]:
                for key in ("file_name", "csi_file"):
                    if not (root / img[key]).is_file():
                        return False
        except (OSError, ValueError, KeyError, TypeError):
            return False
    return True


@dataclass(frozen=True)
class DemoStatus:
    """What :func:`ensure_demo_dataset` found or did.

    Attributes:
        root: the demo folder.
        state: ``"ready"`` (complete, with the sizes asked for), ``"other_sizes"`` (complete with
            other sizes, kept) or ``"generated"``.
        seconds: time spent generating (0 when nothing was generated).
    """

    root: Path
    state: str
    seconds: float = 0.0


def ensure_demo_dataset(
    root: str | Path | None = None,
    num_train: int = DEFAULT_NUM_TRAIN,
    num_val: int = DEFAULT_NUM_VAL,
    *,
    seed: int = 0,
    workers: int = DEFAULT_WORKERS,
    remake: str = "never",
    log: Callable[[str], None] | None = None,
) -> DemoStatus:
    """Make sure a complete demo dataset is in ``root``: the one rule of the CLI, the app and the screenshots.

    A complete demo (:func:`demo_dataset_ready`) with ``num_train`` + ``num_val`` frames is kept.
    A complete demo of other sizes is kept too (it may be one the user made on purpose; the
    caller says so), unless ``remake`` is ``"other_sizes"`` (``demo-data --if-missing``).
    Anything else (absent, from an older generator, files missing) is generated with these sizes
    and ``seed``; ``remake="always"`` generates in any case.

    Args:
        root: the demo folder (:func:`~app.backend.paths.demo_root`: ``~`` expanded, None or "" the default).
        log: told "generating the demo dataset ..." before a generation starts.

    Raises:
        OSError: the folder cannot be written.
    """
    if remake not in ("never", "other_sizes", "always"):
        raise ValueError(f"remake must be 'never', 'other_sizes' or 'always', got {remake!r}")
    folder = demo_root(root)
    if remake != "always":
        if demo_dataset_ready(folder, num_train, num_val):  # the usual case: one pass over the files
            return DemoStatus(folder, "ready")
        if remake == "never" and demo_dataset_ready(folder):
            return DemoStatus(folder, "other_sizes")
    if log is not None:
        log(f"generating the demo dataset ({num_train} train + {num_val} val frames) in {folder} ...")
    result = generate_demo_dataset(folder, num_train=num_train, num_val=num_val, seed=seed, workers=workers)
    return DemoStatus(folder, "generated", result["seconds"])

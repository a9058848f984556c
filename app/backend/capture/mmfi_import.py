"""Import MM-Fi sequences (WiFi CSI + 2D keypoints, RGB frames where present) into our format.

Supported layout (MM-Fi toolbox, github.com/ybhbingo/MMFi_dataset)::

    ROOT/E01..E04/S01..S40/A01..A27/
        wifi-csi/frame001.mat ...   CSIamp, CSIphase float64 (3 rx, 114 subcarriers, 10 packets)
        rgb/frame001.npy ...        2D keypoints of the RGB frame, (17, 2) pixels (or (17, 3) with a score)
        rgb/frame001.png|.jpg ...   the RGB frame itself, where present (the public release
                                    withholds raw images for privacy and ships keypoints only)
        ground_truth.npy            3D keypoints (frames, 17, 3) in metres: not imported (no
                                    camera model to project them into the image)

Every folder level is matched by name (``E\\d+``, ``S\\d+``, ``A\\d+``); other folders are
ignored. A frame is imported when its ``wifi-csi`` file is non-empty. Whatever is left out is
counted and named in the report (:attr:`MmfiImportReport.skipped`): empty (0-byte) CSI files,
which MM-Fi has; a second file for one frame number (``frame1.mat`` beside ``frame001.mat``:
the first name in sorted order is used); keypoint files that are not a (17, 2) or (17, 3)
array; RGB frames that do not decode (the frame is imported without them); keypoints that give
no box (the frame is imported without a person).

Image ids number the imported frames 1, 2, ... in (environment, subject, action, frame) order,
so they are unique whatever the folder names and frame numbers (``E01`` beside ``E001``, frame
1001 beside action ``A02``); each image's ``mmfi`` field keeps ``[env, subject, action, frame]``.

Output (``out_dir``)::

    dataset.json                  COCO JSON: one image per frame (csi_file, file_name if RGB exists)
                                  and one person annotation per frame with 2D keypoints
    csi/E01_S01_A01_001.npz       the frame's 10 packets (named after the folders and the frame), (10, 114, 3, 1); timestamps
                                  (frame - 1) / 10 + k / 100 s (MM-Fi: 10 FPS, 10 packets a frame)
    images/E01_S01_A01_001.png    copied RGB frame where present

Keypoints: MM-Fi's 17 keypoints come in either COCO order or the Human3.6M order
(pelvis, r_hip, r_knee, r_ankle, l_hip, l_knee, l_ankle, spine, thorax, nose, head,
l_shoulder, l_elbow, l_wrist, r_shoulder, r_elbow, r_wrist). ``keypoint_order="auto"``
decides per sequence: in COCO order keypoints 1..4 (eyes, ears) lie within a quarter of
the body height of each other; in Human3.6M order they span hips to ankles. Human3.6M maps
to COCO as nose <- nose, shoulders/elbows/wrists/hips/knees/ankles <- the same joints;
COCO's eyes and ears have no source and get visibility 0. The box is the keypoints'
extent grown by 10% on each side (20% upwards, for the head) and clipped to the image.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.backend.atomic_write import atomic_write, atomic_write_json, ensure_dir
from app.backend.capture.coco_json import empty_dataset, read_json_or_none
from app.backend.capture.recording_import import ImportProgress, ProgressCallback, StopCheck
from app.backend.data.csi import read_csi, write_csi_npz
from app.backend.errors import DatasetError
from app.backend.structures.body import PERSON_CATEGORY_ID

STATE_NAME = ".mmfi_import_state.json"
STATE_FORMAT = 2  #: 2: frames keyed by name, ids assigned when the dataset is written
DATASET_NAME = "dataset.json"
MMFI_FPS = 10.0
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
MAX_LISTED = 50  #: skipped files named in the report's lines (all are in ``skipped``)
#: COCO keypoint k <- Human3.6M joint H36M_TO_COCO[k] (-1: no source).
H36M_TO_COCO = (9, -1, -1, -1, -1, 11, 14, 12, 15, 13, 16, 4, 1, 5, 2, 6, 3)
_FRAME_RE = re.compile(r"^frame(\d+)$")


@dataclass
class MmfiImportOptions:
    root: Path
    out_dir: Path
    environments: tuple[str, ...] = ()  #: e.g. ("E01",); empty = all
    subjects: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    image_size: tuple[int, int] = (640, 480)  #: (width, height) when a sequence has no RGB frames
    keypoint_order: str = "auto"  #: "auto", "coco" or "h36m"

    def __post_init__(self) -> None:
        self.root, self.out_dir = Path(self.root), Path(self.out_dir)
        if not self.root.is_dir():
            raise FileNotFoundError(f"MM-Fi root not found: {self.root}")
        if self.keypoint_order not in ("auto", "coco", "h36m"):
            raise DatasetError(f"keypoint order must be auto, coco or h36m, got {self.keypoint_order!r}")
        w, h = self.image_size
        if not all(isinstance(v, int) and 1 <= v <= 65536 for v in (w, h)):
            raise DatasetError(f"image size must be two ints in 1..65536 (width, height), got {w} x {h}")


@dataclass
class MmfiSequence:
    env: str
    subject: str
    action: str
    path: Path

    @property
    def key(self) -> str:
        """``E01_S01_A01``: unique per sequence (folder names of one level are unique, hold no ``_``)."""
        return f"{self.env}_{self.subject}_{self.action}"

    def frame_name(self, frame: int) -> str:
        """``E01_S01_A01_001``: the output files' stem, unique per imported frame."""
        return f"{self.key}_{frame:03d}"


@dataclass
class MmfiImportReport:
    out_dir: Path
    complete: bool
    sequences: int
    frames: int
    frames_with_keypoints: int
    frames_with_rgb: int
    skipped_empty: int
    keypoint_orders: dict[str, str] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)  #: (path under the root, why)
    json_path: Path | None = None
    elapsed_s: float = 0.0

    def lines(self) -> list[str]:
        orders = {}
        for o in self.keypoint_orders.values():
            orders[o] = orders.get(o, 0) + 1
        order_text = ", ".join(f"{n} {o}" for o, n in sorted(orders.items())) or "none"
        out = [
            f"MM-Fi: {self.sequences} sequences, {self.frames} frames imported in {self.elapsed_s:.2f} s "
            f"({self.frames_with_keypoints} with 2D keypoints, {self.frames_with_rgb} with RGB frames, "
            f"{self.skipped_empty} empty CSI files skipped)",
            f"keypoint order per sequence: {order_text}",
        ]
        if self.skipped:
            out.append(f"{len(self.skipped)} skipped:")
            out += [f"  {name}: {why}" for name, why in self.skipped[:MAX_LISTED]]
            if len(self.skipped) > MAX_LISTED:
                out.append(f"  ... {len(self.skipped) - MAX_LISTED} more")
        out.append(f"dataset: {self.json_path}" if self.complete else "import interrupted: run again to resume")
        return out


def _match(names: tuple[str, ...], name: str) -> bool:
    return not names or name.upper() in {n.upper() for n in names}


def find_sequences(opt: MmfiImportOptions) -> list[MmfiSequence]:
    """Every ``E*/S*/A*`` folder under the root that has a ``wifi-csi`` folder, sorted."""
    seqs = []
    for env in sorted(p for p in opt.root.iterdir() if p.is_dir() and re.fullmatch(r"E\d+", p.name)):
        if not _match(opt.environments, env.name):
            continue
        for subj in sorted(p for p in env.iterdir() if p.is_dir() and re.fullmatch(r"S\d+", p.name)):
            if not _match(opt.subjects, subj.name):
                continue
            for act in sorted(p for p in subj.iterdir() if p.is_dir() and re.fullmatch(r"A\d+", p.name)):
                if _match(opt.actions, act.name) and (act / "wifi-csi").is_dir():
                    seqs.append(MmfiSequence(env.name, subj.name, act.name, act))
    if not seqs:
        raise DatasetError(f"{opt.root}: no MM-Fi sequences (E??/S??/A??/wifi-csi) found")
    return seqs


def _frames(folder: Path, suffixes: tuple[str, ...], skipped: list[tuple[Path, str]]) -> dict[int, Path]:
    """``frameNNN<suffix>`` files by frame number; a second file for a number goes to ``skipped``."""
    out: dict[int, Path] = {}
    if folder.is_dir():
        for p in sorted(folder.iterdir()):
            m = _FRAME_RE.match(p.stem)
            if m and p.suffix.lower() in suffixes and p.is_file():
                first = out.setdefault(int(m.group(1)), p)
                if first is not p:
                    skipped.append((p, f"frame {int(m.group(1))} also in {first.name}"))
    return out


def _load_keypoints(path: Path) -> np.ndarray | None:
    """(17, 3) float64 x, y, score (score 1 when the file has none); None when unusable.

    The array's header is checked before its data is read (memory-mapped): a real number
    dtype and 17 x 2 or 17 x 3 values, whatever the file declares.
    """
    try:
        kp = np.load(path, allow_pickle=False, mmap_mode="r")
    except (OSError, ValueError, EOFError):
        return None
    if not isinstance(kp, np.ndarray) or kp.dtype.kind not in "iuf" or kp.ndim < 2 or kp.size not in (34, 51):
        return None
    kp = np.array(kp, dtype=np.float64).reshape(-1, kp.shape[-1])
    if kp.shape[0] != 17 or kp.shape[1] not in (2, 3):
        return None
    if kp.shape[1] == 2:
        kp = np.concatenate([kp, np.ones((17, 1))], axis=1)
    return kp


def detect_keypoint_order(keypoints: list[np.ndarray]) -> str:
    """ "coco" or "h36m" for a sequence's (17, 3) keypoints (rule in the module doc)."""
    ratios = []
    for kp in keypoints:
        xy = kp[:, :2][np.isfinite(kp[:, :2]).all(axis=1)]
        if xy.shape[0] < 17:
            continue
        height = np.ptp(kp[:, 1])
        if height > 0:
            ratios.append(np.ptp(kp[1:5, :2], axis=0).max() / height)
    return "coco" if ratios and float(np.median(ratios)) < 0.25 else "h36m"


def to_coco_keypoints(kp: np.ndarray, order: str) -> np.ndarray:
    """(17, 3) x, y, score in ``order`` -> (17, 3) COCO x, y, v (v 2 where finite and score > 0)."""
    if order == "h36m":
        src = np.array(H36M_TO_COCO)
        out = np.where(src[:, None] >= 0, kp[np.maximum(src, 0)], 0.0)
    else:
        out = kp.copy()
    ok = np.isfinite(out).all(axis=1) & (out[:, 2] > 0)
    res = np.zeros((17, 3), dtype=np.float64)
    res[ok, :2] = out[ok, :2]
    res[ok, 2] = 2
    return res


def box_from_keypoints(kp: np.ndarray, width: int, height: int) -> list[float] | None:
    """XYWH box around visible COCO keypoints (grown as the module doc says), or None."""
    vis = kp[:, 2] > 0
    if vis.sum() < 2:
        return None
    x0, y0 = kp[vis, :2].min(axis=0)
    x1, y1 = kp[vis, :2].max(axis=0)
    w, h = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
    x0, x1 = max(x0 - 0.1 * w, 0.0), min(x1 + 0.1 * w, float(width))
    y0, y1 = max(y0 - 0.2 * h, 0.0), min(y1 + 0.1 * h, float(height))
    if x1 - x0 <= 0 or y1 - y0 <= 0:
        return None
    return [round(float(x0), 2), round(float(y0), 2), round(float(x1 - x0), 2), round(float(y1 - y0), 2)]


def import_mmfi(
    opt: MmfiImportOptions, progress: ProgressCallback | None = None, should_stop: StopCheck | None = None
) -> MmfiImportReport:
    """Import every selected sequence (see the module doc). Safe to call again to resume."""
    import cv2

    t0 = time.perf_counter()
    out = ensure_dir(opt.out_dir)  # WriteError: read-only, not permitted, a file in the way
    seqs = find_sequences(opt)
    settings = {
        "root": str(opt.root.resolve()),
        "filters": [opt.environments, opt.subjects, opt.actions],
        "image_size": list(opt.image_size),
        "keypoint_order": opt.keypoint_order,
        "format": STATE_FORMAT,
    }
    state = read_json_or_none(out / STATE_NAME)
    if not isinstance(state, dict) or state.get("settings") != json_round(settings):
        if state is None and (out / DATASET_NAME).exists():
            raise DatasetError(f"{out} already holds a dataset.json that this importer did not write")
        state = {"settings": settings, "done": {}, "skipped": {}}
    done: dict = state["done"]
    late_skips: dict = state.setdefault("skipped", {})  # found while importing; kept for a resumed run
    plan = []
    found_skips: list[tuple[Path, str]] = []
    empty = 0
    orders: dict[str, str] = {}
    for seq in seqs:
        csi = _frames(seq.path / "wifi-csi", (".mat",), found_skips)
        kp_files = _frames(seq.path / "rgb", (".npy",), found_skips)
        kps = {}
        for i, p in kp_files.items():
            kp = _load_keypoints(p)
            if kp is None:
                found_skips.append((p, "keypoints unreadable (not a (17, 2) or (17, 3) array)"))
            else:
                kps[i] = (kp, p)
        imgs = _frames(seq.path / "rgb", IMAGE_SUFFIXES, found_skips)
        order = opt.keypoint_order if opt.keypoint_order != "auto" else detect_keypoint_order([k for k, _ in kps.values()])
        if kps:
            orders[seq.key] = order
        for i in sorted(csi):
            if csi[i].stat().st_size == 0:
                found_skips.append((csi[i], "empty CSI file"))
                empty += 1
                continue
            plan.append((seq, i, csi[i], kps.get(i), imgs.get(i), order))
    total, written, cancelled = len(plan), 0, False
    try:
        for seq, i, csi_path, kp_file, img_path, order in plan:
            name = seq.frame_name(i)
            if name in done:
                continue
            if should_stop is not None and should_stop():
                cancelled = True
                break
            rec = read_csi(csi_path)
            write_csi_npz(out / "csi" / f"{name}.npz", rec.amplitude, rec.phase, (i - 1) / MMFI_FPS + rec.timestamps)
            entry = {
                "csi_file": f"csi/{name}.npz",
                "width": opt.image_size[0],
                "height": opt.image_size[1],
                "mmfi": [seq.env, seq.subject, seq.action, i],
            }
            if img_path is not None:
                img = cv2.imread(str(img_path), cv2.IMREAD_COLOR)
                if img is None:
                    late_skips[_rel(opt.root, img_path)] = "RGB frame does not decode (the frame is imported without it)"
                else:
                    dst = ensure_dir(out / "images") / f"{name}{img_path.suffix.lower()}"
                    atomic_write(dst, img_path.read_bytes(), durable=False)  # bulk: see atomic_write
                    entry.update(file_name=f"images/{dst.name}", height=img.shape[0], width=img.shape[1])
            if kp_file is not None:
                coco = to_coco_keypoints(kp_file[0], order)
                box = box_from_keypoints(coco, entry["width"], entry["height"])
                if box is None:
                    late_skips[_rel(opt.root, kp_file[1])] = "keypoints give no box (fewer than 2 visible): no person"
                else:
                    entry["person"] = {"keypoints": [round(float(v), 2) for v in coco.reshape(-1)], "bbox": box}
            done[name] = entry
            written += 1
            if progress is not None:
                el = time.perf_counter() - t0
                progress(ImportProgress(len(done), total, el, el / written * (total - len(done)), "importing MM-Fi"))
    finally:
        atomic_write_json(out / STATE_NAME, state)
    report = MmfiImportReport(out, not cancelled, len(seqs), len(done), 0, 0, empty, orders)
    report.skipped = [(_rel(opt.root, p), why) for p, why in found_skips] + sorted(late_skips.items())
    if not cancelled:
        report.json_path = _write(out, done)
        report.frames_with_keypoints = sum("person" in e for e in done.values())
        report.frames_with_rgb = sum("file_name" in e for e in done.values())
    report.elapsed_s = time.perf_counter() - t0
    return report


def json_round(obj):
    """``obj`` as it reads back from JSON (tuples become lists)."""
    import json

    return json.loads(json.dumps(obj))


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _order(entry: dict) -> tuple:
    """Sort key of an imported frame: (environment, subject, action) by number then name, frame."""
    env, subject, action, frame = entry["mmfi"]
    return (*((int(x[1:]), x) for x in (env, subject, action)), frame)


def _write(out: Path, done: dict) -> Path:
    """The dataset JSON; image ids number the frames 1, 2, ... in :func:`_order`."""
    data = empty_dataset({"description": "MM-Fi import (WiFi CSI + 2D keypoints)", "source": "MM-Fi"})
    ann_id = 1
    for image_id, entry in enumerate(sorted(done.values(), key=_order), start=1):
        entry = {"id": image_id, **entry}
        person = entry.pop("person", None)
        data["images"].append(entry)
        if person is not None:
            w, h = person["bbox"][2:]
            data["annotations"].append(
                {
                    "id": ann_id,
                    "image_id": entry["id"],
                    "category_id": PERSON_CATEGORY_ID,
                    "iscrowd": 0,
                    "bbox": person["bbox"],
                    "area": round(w * h, 2),
                    "keypoints": person["keypoints"],
                    "num_keypoints": int(sum(v > 0 for v in person["keypoints"][2::3])),
                }
            )
            ann_id += 1
    return atomic_write_json(out / DATASET_NAME, data)

"""``python main.py infer``: predict files and write overlay PNGs plus a COCO results JSON.

::

    python main.py infer --config-file F --weights W --input FILES_OR_DIRS... --output DIR [KEY VALUE ...]

Inputs follow the model's modality: CSI files (.npz, .npy, .dat, .mat, .csv, .pcap, .csi) for CSI models,
images (.jpg, .jpeg, .png, .bmp) for image models; a folder contributes its matching files
(sorted, not recursive); a dataset JSON (COCO-DensePose with ``csi_file``) contributes
its records, drawn on their RGB frames. Writes ``DIR/<stem>.png`` (BGR overlay) per input
and ``DIR/predictions.json`` (format: :mod:`app.backend.engine.export`). An unreadable input
is named and skipped, and the skips are counted (:mod:`app.backend.data.skipped`'s rule);
if none can be read the command fails with status 2.

Every file is written atomically and checked (:func:`~app.backend.data.csi.plot.write_png`,
:func:`~app.backend.atomic_write.atomic_write_json`); ``predictions.json`` is written last.
When a write fails (full disk, read-only folder) the command stops with one ``error:`` line
saying how many overlays were written, and the previous ``predictions.json`` is left as it
was. Progress lines count only inputs whose overlay is on disk.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from app.cli import UserError

CSI_SUFFIXES = (".npz", ".npy", ".dat", ".mat", ".csv", ".pcap", ".csi")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("infer", help="predict CSI files or images; write overlay PNGs and predictions.json")
    p.add_argument("--config-file", default="", metavar="FILE", help="config of the trained model (e.g. OUTPUT_DIR/config.yaml)")
    p.add_argument("--weights", default="", metavar="W", help="checkpoint (.pth); default MODEL.WEIGHTS")
    p.add_argument("--input", nargs="+", required=True, metavar="PATH", help="files, folders or dataset JSONs")
    p.add_argument("--output", required=True, metavar="DIR", help="folder for <stem>.png overlays and predictions.json")
    p.add_argument("--score-threshold", type=float, default=0.3, help="drop detections below this score (default 0.3)")
    p.add_argument("opts", nargs=argparse.REMAINDER, metavar="KEY VALUE", help="config overrides")
    p.set_defaults(func=run)


def collect_inputs(paths: list[str], modality: str) -> list[dict]:
    """Expand ``paths`` into records ``{"path", "record" (dataset dict) or None}`` in order."""
    suffixes = CSI_SUFFIXES if modality == "csi" else IMAGE_SUFFIXES
    items: list[dict] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            items += [{"path": str(f), "record": None} for f in sorted(p.iterdir()) if f.suffix.lower() in suffixes]
        elif p.suffix.lower() == ".json" and p.is_file():
            from app.backend.data import load_coco_densepose_json  # detectron2: at run time, like run()'s

            records = load_coco_densepose_json(p)  # records failing the dataset's checks are named and left out
            items += [{"path": r.get("csi_file") or r.get("file_name") or f"{p}#{r.get('image_id')}", "record": r}
                      for r in records]
        elif p.is_file():
            if p.suffix.lower() not in suffixes:
                raise UserError(f"{p}: not a {'CSI' if modality == 'csi' else 'image'} file for this {modality} model ({', '.join(suffixes)})")
            items.append({"path": str(p), "record": None})
        else:
            raise UserError(f"input not found: {p}")
    if not items:
        raise UserError(f"no {'CSI' if modality == 'csi' else 'image'} files in {', '.join(paths)}")
    return items


def run(args: argparse.Namespace) -> int:
    # imported when the command runs (detectron2, torch, scipy): `main.py --help` stays fast
    import cv2
    import numpy as np

    from app.backend import remote
    from app.backend.atomic_write import atomic_write_json, ensure_dir
    from app.backend.config import load_config
    from app.backend.data.csi.plot import write_png
    from app.backend.data.skipped import SkippedRecords, is_bad_record
    from app.backend.engine.export import frame_to_coco_results
    from app.backend.engine.predictor import Predictor
    from app.backend.errors import DatasetError, WriteError
    from app.backend.vis import OverlayOptions

    cfg = load_config(args.config_file or None, list(args.opts or []))
    weights = args.weights or cfg.MODEL.WEIGHTS
    if not weights:
        raise UserError("no weights: pass --weights W (or MODEL.WEIGHTS W)")
    if not remote.is_url(weights) and not os.path.isfile(weights):
        raise UserError(f"weights not found: {weights}")
    items = collect_inputs(args.input, cfg.INPUT.MODALITY)
    out_dir = ensure_dir(args.output)  # WriteError: read-only, not permitted, a file in the way
    predictor = Predictor(cfg, weights)
    options = OverlayOptions(score_threshold=args.score_threshold)
    skipped = SkippedRecords("infer", log=lambda line: print(line, file=sys.stderr, flush=True))

    results: list[dict] = []
    used: set[str] = set()
    written = 0
    t0 = time.perf_counter()
    for k, item in enumerate(items):
        try:
            if item["record"] is not None:
                out = predictor.predict_record(item["record"], options)
            elif cfg.INPUT.MODALITY == "csi":
                out = predictor.predict_csi(item["path"], options=options)
            else:
                img = cv2.imread(item["path"], cv2.IMREAD_COLOR)
                if img is None:
                    raise DatasetError(f"{item['path']}: cannot read image")
                out = predictor.predict_image(img, options)
        except Exception as exc:
            if not is_bad_record(exc):
                raise
            skipped.skip(item["path"], exc)
            continue
        pred = out.prediction.select(out.prediction.scores >= args.score_threshold)
        stem = _unique_stem(Path(item["path"]).stem, used)
        try:
            write_png(out_dir / f"{stem}.png", np.ascontiguousarray(out.overlay))
        except (WriteError, OSError) as exc:
            raise UserError(
                f"{exc}; {written} of {len(items)} overlays were written, {out_dir / 'predictions.json'} was left as it was"
            ) from None
        written += 1
        results += frame_to_coco_results(pred, image_id=k, file_name=item["path"])
        done = k + 1
        if done == len(items) or done % 10 == 0:
            rate = done / max(time.perf_counter() - t0, 1e-6)
            print(f"[{done}/{len(items)}] {written} written, {rate:.1f} inputs/s, ETA {(len(items) - done) / rate:.0f}s",
                  flush=True)
    skipped.require_some_left(len(items))  # DatasetError: none of the inputs could be read
    try:
        atomic_write_json(out_dir / "predictions.json", results, ensure_ascii=True)
    except WriteError as exc:
        raise UserError(f"{exc}; the {written} overlays were written, the previous predictions.json was kept") from None
    if skipped.count:
        print(skipped.summary(len(items)), file=sys.stderr)
    print(f"wrote {written} overlays and {len(results)} detections to {out_dir}/predictions.json")
    return 0


def _unique_stem(stem: str, used: set[str]) -> str:
    name, n = stem, 1
    while name in used:
        n += 1
        name = f"{stem}_{n}"
    used.add(name)
    return name

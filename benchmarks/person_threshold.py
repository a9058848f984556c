"""Pick MODEL.ROI_DENSEPOSE_HEAD.PERSON_THRESHOLD for a trained model by DensePose mask AP.

Runs the model once over the first frames of a split (the training split by default, so the
choice never looks at the data it is judged on) and prints, per threshold, the DensePose mask
AP / AP50 / AP75 and part accuracy of the same outputs. The threshold with the best mask AP is
printed last; put it in the config and check it on the val split with ``--split``.

Usage::

    .venv/bin/python benchmarks/person_threshold.py output/demo_cpu --frames 200
    .venv/bin/python benchmarks/person_threshold.py output/demo_cpu --split wifi_demo_val \\
        --thresholds 0.5 0.35
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("output_dir", type=Path, help="a training output folder (config.yaml, last_checkpoint)")
    ap.add_argument("--split", default="", help="registered dataset name (default: the config's first TRAIN set)")
    ap.add_argument("--frames", type=int, default=200, help="frames scored (default 200)")
    ap.add_argument("--thresholds", type=float, nargs="+", default=[0.5, 0.45, 0.4, 0.35, 0.3, 0.25])
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = ap.parse_args(argv)

    import torch

    from app.backend.config import load_config
    from app.backend.data import register_datasets
    from app.backend.engine.predictor import Predictor
    from app.backend.evaluation.threshold import best_threshold, sweep_person_threshold

    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = load_config(args.output_dir / "config.yaml")
    register_datasets(cfg)
    pointer = args.output_dir / "last_checkpoint"
    weights = args.output_dir / pointer.read_text().strip() if pointer.is_file() else Path(cfg.MODEL.WEIGHTS)
    split = args.split or cfg.DATASETS.TRAIN[0]
    model = Predictor(cfg, str(weights)).model

    def progress(done: int, total: int) -> None:
        print(f"\r{split}: {done}/{total} frames", end="", file=sys.stderr, flush=True)

    rows = sweep_person_threshold(cfg, model, split, args.thresholds, args.frames, progress)
    print(file=sys.stderr)
    print(f"{split}, {int(rows[0]['num_frames'])} frames, {weights.name}")
    print("threshold  mask AP  mask AP50  mask AP75  part acc %")
    for r in rows:
        print(
            f"{r['threshold']:9.2f}  {r['dp_mask_AP']:7.1f}  {r['dp_mask_AP50']:9.1f}  "
            f"{r['dp_mask_AP75']:9.1f}  {r['dp_part_acc']:10.1f}"
        )
    print(f"best mask AP at PERSON_THRESHOLD {best_threshold(rows)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Train several variants of the demo config side by side and compare what they learn.

Each variant is ``resources/configs/demo_cpu.yaml`` plus a few overrides, trained by
``main.py train`` in its own process (``--parallel`` at a time, ``--threads`` each) for the
same number of iterations on the synthetic demo; the table at the end shows, per variant,
box AP50, keypoint AP50, DensePose part accuracy and mask AP50 on the demo's val split at
the middle and at the end of training, and the seconds per iteration. Demo datasets with
other train sizes are generated under ``--work`` (same seed, so the val split is identical).

Usage::

    .venv/bin/python benchmarks/demo_learning_sweep.py --iters 1000 --device cuda --parallel 8 \\
        --variants demo paper_like no_parts
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "resources/configs/demo_cpu.yaml"

_IMAGE = [
    "INPUT.MODALITY", "image",
    "INPUT.MIN_SIZE_TRAIN", "(160,)", "INPUT.MAX_SIZE_TRAIN", "214", "INPUT.MIN_SIZE_TEST", "160", "INPUT.MAX_SIZE_TEST", "214",
]  # fmt: skip
#: The demo's pre-2026-11-27 recipe: the paper's MTN (24x24 latent, conv blocks to 6x6), SGD, one global
#: CSI mean/std, no MTN part loss, the MTN trained end to end by the detector's losses.
_PAPER_LIKE = [
    "SOLVER.OPTIMIZER", "SGD", "SOLVER.BASE_LR", "0.01", "INPUT.CSI.NORMALIZATION", "global",
    "MODEL.LOSS_WEIGHTS.MTN_PARTS", "0.0", "MODEL.MTN.DETECTOR_GRAD_SCALE", "1.0",
    "MODEL.MTN.LATENT_SIZE", "24", "MODEL.MTN.CONV_CHANNELS", "[32, 64]",
]  # fmt: skip
#: name -> (train frames, overrides of demo_cpu.yaml); each ablation undoes one of the demo's choices
VARIANTS: dict[str, tuple[int, list[str]]] = {
    "demo": (300, []),
    "demo_n1000": (1000, []),
    "paper_like": (300, _PAPER_LIKE),
    "sgd": (300, ["SOLVER.OPTIMIZER", "SGD", "SOLVER.BASE_LR", "0.01"]),
    "global_norm": (300, ["INPUT.CSI.NORMALIZATION", "global"]),
    "no_parts": (300, ["MODEL.LOSS_WEIGHTS.MTN_PARTS", "0.0", "MODEL.MTN.DETECTOR_GRAD_SCALE", "1.0"]),
    "end_to_end": (300, ["MODEL.MTN.DETECTOR_GRAD_SCALE", "1.0"]),
    "iou05": (300, ["MODEL.ROI_DENSEPOSE_HEAD.FG_IOU_THRESHOLD", "0.5"]),
    "paper_mtn": (300, ["MODEL.MTN.LATENT_SIZE", "24", "MODEL.MTN.CONV_CHANNELS", "[32, 64]"]),
    "image": (300, _IMAGE),
    # candidates for more keypoint/DensePose accuracy in the same budget (2026-11-27, third session)
    "n2000": (2000, []),
    "dgs_1e-3": (1000, ["MODEL.MTN.DETECTOR_GRAD_SCALE", "0.001"]),
    "dgs_1e-2": (1000, ["MODEL.MTN.DETECTOR_GRAD_SCALE", "0.01"]),
    "kp_weight3": (1000, ["MODEL.ROI_KEYPOINT_HEAD.LOSS_WEIGHT", "3.0"]),
    "lr2e-3": (1000, ["SOLVER.BASE_LR", "0.002"]),
    "mtn_wide": (1000, ["MODEL.MTN.ENCODER_DIMS", "[512]", "MODEL.MTN.FUSION_DIMS", "[1024]"]),
    "dp_head4x128": (1000, ["MODEL.ROI_DENSEPOSE_HEAD.NUM_STACKED_CONVS", "4", "MODEL.ROI_DENSEPOSE_HEAD.CONV_HEAD_DIM", "128"]),
}
METRICS = ("bbox/AP50", "keypoints/AP50", "densepose/dp_part_acc", "densepose/dp_mask_AP50")
HEADERS = ("box AP50", "keypoint AP50", "part acc %", "mask AP50")


def _ensure_data(work: Path, num_train: int, workers: int) -> Path:
    root = work / f"demo_n{num_train}"
    if not (root / "val.json").is_file():
        cmd = [sys.executable, str(REPO / "main.py"), "demo-data", "--out", str(root), "--train", str(num_train)]
        subprocess.run([*cmd, "--workers", str(workers)], check=True)
    return root


def _evals(metrics_file: Path) -> tuple[list[dict], float]:
    """Evaluation rows of a run and its mean seconds per iteration (from detectron2's 'time')."""
    rows, times = [], []
    if metrics_file.is_file():
        for line in metrics_file.read_text().splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if "bbox/AP50" in row:
                rows.append(row)
            elif "time" in row:
                times.append(row["time"])
    return rows, (sum(times) / len(times) if times else float("nan"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--iters", type=int, default=1000)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--parallel", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", default="output/sweep")
    args = ap.parse_args()
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    roots = {n: _ensure_data(work, n, os.cpu_count() or 1) for n in sorted({VARIANTS[v][0] for v in args.variants})}
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)}
    pending, running, started = list(args.variants), {}, {}
    t0 = time.perf_counter()
    while pending or running:
        while pending and len(running) < args.parallel:
            name = pending.pop(0)
            num_train, opts = VARIANTS[name]
            out = work / name
            cmd = [
                sys.executable, str(REPO / "main.py"), "train", "--config-file", str(CONFIG),
                "MODEL.DEVICE", args.device, "SOLVER.MAX_ITER", str(args.iters),
                "SOLVER.STEPS", f"({int(args.iters * 0.8)},)", "TEST.EVAL_PERIOD", str(args.iters // 2),
                "SOLVER.CHECKPOINT_PERIOD", str(args.iters), "OUTPUT_DIR", str(out),
                "DATASETS.DEMO.ROOT", str(roots[num_train]), *opts,
            ]  # fmt: skip
            out.mkdir(parents=True, exist_ok=True)
            log = open(out / "stdout.txt", "w")  # noqa: SIM115 - closed when the process ends
            running[name] = (subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO), log)
            started[name] = time.perf_counter()
        time.sleep(2)
        for name in [n for n, (p, _) in running.items() if p.poll() is not None]:
            proc, log = running.pop(name)
            log.close()
            print(f"{name}: exit {proc.returncode} after {time.perf_counter() - started[name]:.0f} s", flush=True)
    print(f"\nall done in {time.perf_counter() - t0:.0f} s; {args.iters} iterations on {args.device}")
    print(f"{'variant':<22} {'s/it':>5}  " + "  ".join(f"{h:>22}" for h in HEADERS))
    summary = {}
    for name in args.variants:
        rows, spi = _evals(work / name / "metrics.json")
        cells = ["/".join(f"{r.get(m, float('nan')):.1f}" for r in rows) or "-" for m in METRICS]
        print(f"{name:<22} {spi:5.2f}  " + "  ".join(f"{c:>22}" for c in cells))
        summary[name] = {"seconds_per_iter": spi, "evals": [{m: r.get(m) for m in (*METRICS, "iteration")} for r in rows]}
    (work / "summary.json").write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

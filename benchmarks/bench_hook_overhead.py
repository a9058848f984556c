"""Cost of the UI-facing hooks: the Trainer with and without them, same config, side by side.

With hooks: MetricsHook (UI.METRICS_PERIOD), EvalResultsHook, PreviewHook (UI.PREVIEW_PERIOD,
UI.PREVIEW_SAMPLES) and ControlHook, their callbacks draining into a queue.Queue (what the
GUI bridge does). Runs alternate (without, with, without, with, ...) to spread machine noise
evenly; the ratio compares the time per iteration after warm-up (the final evaluation
after the last iteration is outside the measured steps). Goal: <= 1.03x.

Usage::

    .venv/bin/python benchmarks/bench_hook_overhead.py [--iters 60] [--rounds 2] [--preview-period 20]
"""

from __future__ import annotations

import argparse
import queue
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detectron2.engine import HookBase

from app.backend.config import builtin_config, load_config
from app.backend.data import generate_demo_dataset, register_datasets
from app.backend.engine import TrainControl, Trainer, build_ui_hooks


class _StepClock(HookBase):
    """Wall time from one after_step to the next (includes every hook's work); registered last."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self._t = 0.0

    def before_train(self) -> None:
        self._t = time.perf_counter()

    def after_step(self) -> None:
        now = time.perf_counter()
        self.times.append(now - self._t)
        self._t = now


def run_once(cfg, with_hooks: bool) -> list[float]:
    q: queue.Queue = queue.Queue()
    hooks = build_ui_hooks(cfg, q.put, TrainControl()) if with_hooks else []
    clock = _StepClock()
    if hooks and hooks[-1].__class__.__name__ == "ControlHook":
        hooks.insert(len(hooks) - 1, clock)
    else:
        hooks.append(clock)
    trainer = Trainer(cfg, extra_hooks=hooks)
    trainer.resume_or_load(resume=False)
    trainer.train()
    drained = 0
    while not q.empty():
        q.get_nowait()
        drained += 1
    if with_hooks:
        print(f"  (with hooks: {drained} events drained)")
    return clock.times[5:]  # drop warm-up


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iters", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--preview-period", type=int, default=20)
    ap.add_argument("--metrics-period", type=int, default=5)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_hooks_"))
    generate_demo_dataset(tmp / "demo", num_train=40, num_val=8, seed=0)
    opts = [
        "DATASETS.DEMO.ROOT", str(tmp / "demo"), "OUTPUT_DIR", str(tmp / "out"),
        "SOLVER.MAX_ITER", str(args.iters), "SOLVER.CHECKPOINT_PERIOD", "100000", "MODEL.MTN.OUTPUT_SIZE", "[96, 96]",
        "UI.METRICS_PERIOD", str(args.metrics_period), "UI.PREVIEW_PERIOD", str(args.preview_period),
        "UI.PREVIEW_SAMPLES", "2", "SOLVER.IMS_PER_BATCH", "2",
    ]
    cfg = load_config(builtin_config("demo_cpu"), opts)
    register_datasets(cfg)
    plain: list[float] = []
    hooked: list[float] = []
    for r in range(args.rounds):
        print(f"round {r + 1}/{args.rounds}: without hooks")
        plain += run_once(cfg, with_hooks=False)
        print(f"round {r + 1}/{args.rounds}: with hooks")
        hooked += run_once(cfg, with_hooks=True)
    a, b = statistics.median(plain), statistics.median(hooked)
    ma, mb = statistics.mean(plain), statistics.mean(hooked)
    print(f"without hooks: median {a * 1000:.1f} ms/it, mean {ma * 1000:.1f} ms/it ({len(plain)} iterations)")
    print(f"with hooks:    median {b * 1000:.1f} ms/it, mean {mb * 1000:.1f} ms/it ({len(hooked)} iterations)")
    print(f"ratio (median) {b / a:.3f}x, ratio (mean, includes previews) {mb / ma:.3f}x  (goal <= 1.03x)")


if __name__ == "__main__":
    main()

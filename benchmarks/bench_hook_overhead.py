"""Cost of the UI-facing hooks: the Trainer with and without them, same config, one run.

The hooks are MetricsHook (UI.METRICS_PERIOD), EvalResultsHook, PreviewHook (UI.PREVIEW_PERIOD,
UI.PREVIEW_SAMPLES) and ControlHook, their callbacks draining into a ``queue.Queue`` (what
the GUI bridge does). To be fair on a shared, noisy machine both conditions run in the same
training run, interleaved: the hooks are switched on for alternate blocks of ``--block``
iterations (their own periods still count global iterations, so previews land in "on"
blocks), and each iteration's wall time (after_step to after_step, every hook included) is
credited to its block's condition. The ratio of mean times per iteration includes the
periodic previews; the ratio of medians shows the per-iteration cost. Goal: <= 1.03x.

Usage::

    .venv/bin/python benchmarks/bench_hook_overhead.py [--iters 200] [--block 25] [KEY VALUE ...]
"""

from __future__ import annotations

import argparse
import queue
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detectron2.engine import HookBase

from app.backend.config import builtin_config, load_config
from app.backend.data import generate_demo_dataset, register_datasets
from app.backend.engine import TrainControl, Trainer, build_ui_hooks
from app.backend.engine.hooks import ControlHook
from benchmarks.scratch import scratch_dir


class Interleaved(HookBase):
    """Runs ``hooks`` in odd blocks of ``block`` iterations only; times every iteration."""

    def __init__(self, hooks: list[HookBase], block: int) -> None:
        self.hooks, self.block = hooks, block
        self.times: dict[bool, list[float]] = {True: [], False: []}
        self._t = 0.0

    def on(self, it: int) -> bool:
        return (it // self.block) % 2 == 1

    def before_train(self) -> None:
        for h in self.hooks:
            h.trainer = self.trainer
            h.before_train()
        self._t = time.perf_counter()

    def after_step(self) -> None:
        it = self.trainer.iter
        if self.on(it):
            for h in self.hooks:
                h.after_step()
        now = time.perf_counter()
        if it >= 5:  # warm-up
            self.times[self.on(it)].append(now - self._t)
        self._t = now

    def after_train(self) -> None:
        for h in self.hooks:
            h.after_train()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--block", type=int, default=25)
    ap.add_argument("opts", nargs=argparse.REMAINDER, help="config overrides of demo_cpu.yaml")
    args = ap.parse_args()
    tmp = scratch_dir("bench_hooks_")
    generate_demo_dataset(tmp / "demo", num_train=40, num_val=8, seed=0)
    opts = ["DATASETS.DEMO.ROOT", str(tmp / "demo"), "OUTPUT_DIR", str(tmp / "out"),
            "SOLVER.MAX_ITER", str(args.iters), "SOLVER.CHECKPOINT_PERIOD", "100000",
            "SOLVER.MTN_PRETRAIN.ITERS", "0", *args.opts]  # the loop's steps are measured, not the pretraining
    cfg = load_config(builtin_config("demo_cpu"), opts)
    register_datasets(cfg)
    events: queue.Queue = queue.Queue()
    hooks = [*build_ui_hooks(cfg, events.put), ControlHook(TrainControl(), events.put)]
    probe = Interleaved(hooks, args.block)
    trainer = Trainer(cfg, extra_hooks=[probe])
    trainer.resume_or_load(resume=False)
    trainer.train()
    kinds: dict[str, int] = {}
    while not events.empty():
        kind = events.get_nowait()["kind"]
        kinds[kind] = kinds.get(kind, 0) + 1
    off, on = probe.times[False], probe.times[True]
    print(f"config: demo_cpu.yaml {' '.join(args.opts)} (MTN {list(cfg.MODEL.MTN.OUTPUT_SIZE)}, batch "
          f"{cfg.SOLVER.IMS_PER_BATCH}), metrics every {cfg.UI.METRICS_PERIOD}, preview every {cfg.UI.PREVIEW_PERIOD}")
    print(f"events drained: {kinds}")
    print(f"without hooks: mean {statistics.mean(off) * 1e3:.1f} ms/it, median {statistics.median(off) * 1e3:.1f} ms/it ({len(off)} it)")
    print(f"with hooks:    mean {statistics.mean(on) * 1e3:.1f} ms/it, median {statistics.median(on) * 1e3:.1f} ms/it ({len(on)} it)")
    print(f"ratio (mean, previews included) {statistics.mean(on) / statistics.mean(off):.3f}x; "
          f"ratio (median) {statistics.median(on) / statistics.median(off):.3f}x  (goal <= 1.03x)")


if __name__ == "__main__":
    main()

"""CPU training step: float32 vs bfloat16 autocast (SOLVER.AMP.ENABLED), and fused vs per-tensor AdamW.

One trainer (demo_cpu.yaml with SOLVER.AMP.ENABLED True) on a small generated demo set; its
steps alternate in blocks of ``--block`` between detectron2's float32 ``SimpleTrainer.run_step``
and :class:`CPUAutocastTrainer`'s bfloat16 step, so both see the same machine load. Then the
optimizer alone: the fused AdamW step against the per-tensor loop on the same parameters.
Prints the ratios. Needs a CPU with native bfloat16 (AVX512-BF16 or AMX) for the first part.

Usage::

    .venv/bin/python benchmarks/bench_cpu_amp.py [--iters 120] [--block 10] [--threads 2] [KEY VALUE ...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from detectron2.engine import SimpleTrainer
from detectron2.utils.events import EventStorage

from app.backend.config import builtin_config, load_config
from app.backend.data import generate_demo_dataset, register_datasets
from app.backend.engine import Trainer
from app.backend.engine.trainer import CPUAutocastTrainer, cpu_has_native_bf16
from benchmarks.scratch import scratch_dir


def time_optimizer(model: torch.nn.Module, fused: bool, steps: int = 20) -> float:
    params = [p.detach().clone().requires_grad_() for p in model.parameters() if p.requires_grad]
    for p in params:
        p.grad = torch.randn_like(p)
    opt = torch.optim.AdamW(params, lr=1e-3, fused=fused, foreach=False)
    for _ in range(3):
        opt.step()
    t = time.perf_counter()
    for _ in range(steps):
        opt.step()
    return (time.perf_counter() - t) / steps


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iters", type=int, default=120)
    ap.add_argument("--block", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("opts", nargs=argparse.REMAINDER, help="config overrides of demo_cpu.yaml")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if not cpu_has_native_bf16():
        sys.exit("this CPU has no native bfloat16: SOLVER.AMP.ENABLED trains in float32 here")
    tmp = scratch_dir("bench_cpu_amp_")
    generate_demo_dataset(tmp / "demo", num_train=40, num_val=4, seed=0)
    opts = ["DATASETS.DEMO.ROOT", str(tmp / "demo"), "OUTPUT_DIR", str(tmp / "out"), "SOLVER.AMP.ENABLED", "True",
            "TEST.EVAL_PERIOD", "0", *args.opts]
    cfg = load_config(builtin_config("demo_cpu"), opts)
    register_datasets(cfg)
    trainer = Trainer(cfg)
    trainer.resume_or_load(resume=False)
    loop = trainer._trainer
    assert isinstance(loop, CPUAutocastTrainer)
    times: dict[str, list[float]] = {"float32": [], "bfloat16": []}
    with EventStorage(0) as storage:
        loop.storage = storage
        for it in range(args.iters):
            kind = "bfloat16" if (it // args.block) % 2 else "float32"
            loop.iter = storage.iter = it
            t = time.perf_counter()
            CPUAutocastTrainer.run_step(loop) if kind == "bfloat16" else SimpleTrainer.run_step(loop)
            if it % args.block >= 2:  # the first steps of a block warm its kernels up
                times[kind].append(time.perf_counter() - t)
    f32, b16 = (statistics.median(times[k]) for k in ("float32", "bfloat16"))
    print(f"config: demo_cpu.yaml {' '.join(args.opts)}, batch {cfg.SOLVER.IMS_PER_BATCH}, {args.threads} threads")
    print(f"float32 step:  median {f32 * 1e3:.0f} ms ({len(times['float32'])} steps)")
    print(f"bfloat16 step: median {b16 * 1e3:.0f} ms ({len(times['bfloat16'])} steps)")
    print(f"speed-up bfloat16 vs float32: {f32 / b16:.2f}x")
    model = trainer.model
    t_loop, t_fused = time_optimizer(model, fused=False), time_optimizer(model, fused=True)
    print(f"AdamW step: per-tensor loop {t_loop * 1e3:.1f} ms, fused {t_fused * 1e3:.1f} ms ({t_loop / t_fused:.2f}x)")


if __name__ == "__main__":
    main()

"""Does it pay on this CPU? demo_cpu's training step in variants, interleaved in blocks of one run.

Variants (each a switch on the same trainer, so every block sees the same machine load):

- ``base``: the step as the trainer runs it;
- ``channels_last``: the model's 4-D weights and the backbone's input in channels-last (NHWC)
  memory format, which oneDNN's convolutions prefer on some CPUs;
- ``threads1``: ``torch.set_num_threads(1)`` (against the default, one per core).

Prints the median step of each and its ratio to ``base``. The CPU path (ISA caps, bfloat16) is
the process's: see :mod:`benchmarks.machine_info`.

Usage::

    ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 WDS_CPU_BF16=0 OMP_WAIT_POLICY=PASSIVE \\
        .venv/bin/python benchmarks/bench_step_variants.py [--iters 90] [--block 5] [--variants base,channels_last] [KEY VALUE ...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from detectron2.utils.events import EventStorage

from app.backend.config import builtin_config, load_config
from app.backend.data import generate_demo_dataset, register_datasets
from app.backend.engine import Trainer
from benchmarks.machine_info import describe
from benchmarks.scratch import scratch_dir


def set_channels_last(model: torch.nn.Module, on: bool) -> None:
    inner = getattr(model, "module", model)
    fmt = torch.channels_last if on else torch.contiguous_format
    for m in inner.modules():
        for p in m.parameters(recurse=False):
            if p.dim() == 4:
                p.data = p.data.contiguous(memory_format=fmt)
                if p.grad is not None:
                    p.grad = p.grad.contiguous(memory_format=fmt)
    inner._bench_channels_last = on


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iters", type=int, default=90)
    ap.add_argument("--block", type=int, default=5)
    ap.add_argument("--variants", default="base,channels_last,threads1")
    ap.add_argument("opts", nargs=argparse.REMAINDER, help="config overrides of demo_cpu.yaml")
    args = ap.parse_args()
    variants = args.variants.split(",")
    tmp = scratch_dir("bench_variants_")
    generate_demo_dataset(tmp / "demo", num_train=40, num_val=4, seed=0)
    opts = ["DATASETS.DEMO.ROOT", str(tmp / "demo"), "OUTPUT_DIR", str(tmp / "out"), "TEST.EVAL_PERIOD", "0",
            "SOLVER.MTN_PRETRAIN.ITERS", "0", "SOLVER.CHECKPOINT_PERIOD", "100000", *args.opts]
    cfg = load_config(builtin_config("demo_cpu"), opts)
    register_datasets(cfg)
    trainer = Trainer(cfg)
    trainer.resume_or_load(resume=False)
    loop = trainer._trainer
    inner = getattr(loop.model, "module", loop.model)
    backbone_forward = inner.backbone.forward

    def backbone_nhwc(x):
        return backbone_forward(x.contiguous(memory_format=torch.channels_last))

    threads = torch.get_num_threads()
    print(describe())
    times: dict[str, list[float]] = {v: [] for v in variants}
    with EventStorage(0) as storage:
        loop.storage = trainer.storage = storage
        for it in range(args.iters):
            v = variants[(it // args.block) % len(variants)]
            if it % args.block == 0:
                set_channels_last(loop.model, v == "channels_last")
                inner.backbone.forward = backbone_nhwc if v == "channels_last" else backbone_forward
                torch.set_num_threads(1 if v == "threads1" else threads)
            loop.iter = storage.iter = it
            t = time.perf_counter()
            loop.run_step()
            if it % args.block >= 1 and it >= args.block * len(variants):  # first round and first step of a block warm up
                times[v].append(time.perf_counter() - t)
    base = statistics.median(times["base"]) if "base" in times else None
    print(f"config: demo_cpu.yaml {' '.join(args.opts)}; {args.iters} steps in blocks of {args.block}")
    for v in variants:
        med = statistics.median(times[v])
        ratio = f", {base / med:.2f}x the speed of base" if base else ""
        print(f"{v:>14}: median {med * 1e3:.0f} ms ({len(times[v])} steps){ratio}")


if __name__ == "__main__":
    main()

"""Overrides that shrink demo_cpu.yaml to a few seconds per run on the demo dataset fixture."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch


@contextmanager
def one_thread() -> Iterator[None]:
    """Tiny models run several times faster on one thread than on two busy cores (no OpenMP
    spinning); child processes (DDP workers, subprocesses) inherit OMP_NUM_THREADS=1."""
    before, env = torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS")
    torch.set_num_threads(1)
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        yield
    finally:
        torch.set_num_threads(before)
        if env is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = env


def tiny_opts(demo_root: Path, out: Path, max_iter: int = 8, **extra: object) -> list[str]:
    """Overrides that shrink demo_cpu.yaml to seconds per run."""
    opts: dict[str, object] = {
        "DATASETS.DEMO.ROOT": str(demo_root),
        "OUTPUT_DIR": str(out),
        "MODEL.MTN.OUTPUT_SIZE": [64, 64],
        "SOLVER.IMS_PER_BATCH": 2,
        "SOLVER.MAX_ITER": max_iter,
        "SOLVER.WARMUP_ITERS": 3,
        "SOLVER.STEPS": (max(1, max_iter - 2),),
        "SOLVER.CHECKPOINT_PERIOD": 3,
        "SOLVER.MTN_PRETRAIN.ITERS": 0,  # tests of MTN pretraining turn it on
        "SEED": 7,
        "UI.PREVIEW_PERIOD": 0,
    }
    opts.update({k.replace("__", "."): v for k, v in extra.items()})
    flat: list[str] = []
    for k, v in opts.items():
        flat += [k, repr(v) if not isinstance(v, str) else v]
    return flat

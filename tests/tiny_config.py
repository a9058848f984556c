"""The one tiny training config of the tests: demo_cpu.yaml shrunk to seconds per run on 2 CPU cores.

Backend, CLI and UI tests all start from :data:`TINY` and name only what their test is about
(``SOLVER__MAX_ITER=10`` style keyword overrides: ``__`` stands for ``.``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

#: Overrides of demo_cpu.yaml: a small MTN and detector, no MTN pretraining, no periodic
#: checkpoints, evaluation or previews, loading in the main process.
TINY: dict[str, object] = {
    "MODEL.MTN.OUTPUT_SIZE": [64, 64],
    "MODEL.MTN.ENCODER_DIMS": [64],
    "MODEL.MTN.FUSION_DIMS": [128],
    "MODEL.RPN.PRE_NMS_TOPK_TRAIN": 100,
    "MODEL.RPN.POST_NMS_TOPK_TRAIN": 50,
    "MODEL.RPN.PRE_NMS_TOPK_TEST": 50,
    "MODEL.RPN.POST_NMS_TOPK_TEST": 20,
    "MODEL.ROI_HEADS.BATCH_SIZE_PER_IMAGE": 16,
    "TEST.DETECTIONS_PER_IMAGE": 5,
    "SOLVER.IMS_PER_BATCH": 2,
    "SOLVER.MAX_ITER": 8,
    "SOLVER.WARMUP_ITERS": 2,
    "SOLVER.CHECKPOINT_PERIOD": 1000,
    "SOLVER.MTN_PRETRAIN.ITERS": 0,  # tests of MTN pretraining turn it on
    "TEST.EVAL_PERIOD": 0,  # the final evaluation still runs
    "DATALOADER.NUM_WORKERS": 0,
    "UI.PREVIEW_PERIOD": 0,
    "SEED": 7,
}


def tiny_overrides(demo_root: Path | None = None, out: Path | None = None, **extra: object) -> dict[str, object]:
    """:data:`TINY` + the demo dataset folder + OUTPUT_DIR (each when given) + ``extra`` (``A__B=v`` is ``A.B``)."""
    overrides = dict(TINY)
    if demo_root is not None:
        overrides["DATASETS.DEMO.ROOT"] = str(demo_root)
    if out is not None:
        overrides["OUTPUT_DIR"] = str(out)
    overrides.update({k.replace("__", "."): v for k, v in extra.items()})
    return overrides


def as_opts(overrides: Mapping[str, object]) -> list[str]:
    """``KEY VALUE`` command-line pairs of a dict of overrides (values as Python literals)."""
    flat: list[str] = []
    for k, v in overrides.items():
        flat += [k, v if isinstance(v, str) else repr(v)]
    return flat


def tiny_opts(demo_root: Path | None = None, out: Path | None = None, max_iter: int = 8, **extra: object) -> list[str]:
    """:func:`tiny_overrides` with ``SOLVER.MAX_ITER`` = ``max_iter``, as ``KEY VALUE`` pairs."""
    return as_opts(tiny_overrides(demo_root, out, SOLVER__MAX_ITER=max_iter, **extra))


def tiny_config(demo_root: Path | None = None, out: Path | None = None, max_iter: int = 8, **extra: object):
    """demo_cpu.yaml with :func:`tiny_opts` (a frozen CfgNode)."""
    from app.backend.config import builtin_config, load_config

    return load_config(builtin_config("demo_cpu"), tiny_opts(demo_root, out, max_iter, **extra))


@contextmanager
def one_thread() -> Iterator[None]:
    """Tiny models run several times faster on one thread than on two busy cores (no OpenMP
    spinning); child processes (DDP workers, subprocesses) inherit OMP_NUM_THREADS=1."""
    import torch

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

"""MTN pretraining step with the conv stack channels-last (as the MTN runs it) against NCHW.

One MTN built from a config (default demo_cpu.yaml), its 16-sample pretraining step (forward, a
squared-error loss on the image, backward, fused AdamW) timed in interleaved blocks: the conv
stack's weights in channels-last memory format (the MTN's own layout) and the same weights
converted back to NCHW (``MLPConvMTN.set_conv_memory_format``). Both variants see the same machine load;
prints the median step of each and the ratio. The CPU path (ISA caps, bfloat16) is the
process's: see :mod:`benchmarks.machine_info`.

Usage::

    ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 WDS_CPU_BF16=0 \\
        .venv/bin/python benchmarks/bench_mtn_memory_format.py [--iters 60] [--block 5] [--batch 16] [KEY VALUE ...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from app.backend.config import builtin_config, load_config
from app.backend.modeling.mtn import build_mtn
from benchmarks.machine_info import describe


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(builtin_config("demo_cpu.yaml")))
    ap.add_argument("--iters", type=int, default=60, help="timed steps per variant")
    ap.add_argument("--block", type=int, default=5, help="steps per block before switching variant")
    ap.add_argument("--batch", type=int, default=16, help="samples per step (SOLVER.MTN_PRETRAIN.IMS_PER_BATCH)")
    ap.add_argument("opts", nargs=argparse.REMAINDER, help="config overrides, KEY VALUE ...")
    args = ap.parse_args()

    cfg = load_config(args.config, args.opts)
    torch.manual_seed(0)
    mtn = build_mtn(cfg).train()
    c = cfg.INPUT.CSI
    csi = torch.randn(args.batch, 2, c.PACKETS_PER_SAMPLE * c.NUM_SUBCARRIERS, c.NUM_RX, c.NUM_TX)
    variants = {"channels_last": torch.channels_last, "nchw": torch.contiguous_format}
    times: dict[str, list[float]] = {name: [] for name in variants}

    def optimizer() -> torch.optim.Optimizer:
        # a fresh one per block: its state tensors take the parameters' current layout
        return torch.optim.AdamW(mtn.parameters(), lr=1e-4, fused=True)

    def step() -> float:
        t0 = time.perf_counter()
        mtn(csi).square().mean().backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return time.perf_counter() - t0

    for fmt in variants.values():  # warm-up: oneDNN picks its kernels per layout
        mtn.set_conv_memory_format(fmt)
        opt = optimizer()
        for _ in range(3):
            step()
    while min(len(v) for v in times.values()) < args.iters:
        for name, fmt in variants.items():
            mtn.set_conv_memory_format(fmt)
            opt = optimizer()
            times[name].extend(step() for _ in range(args.block))

    print(describe())
    print(f"config: {Path(args.config).name} {' '.join(args.opts)}; MTN output {mtn.output_size}, batch {args.batch}")
    med = {name: statistics.median(v) * 1000 for name, v in times.items()}
    for name, ms in med.items():
        print(f"{name:14s} median step {ms:7.1f} ms ({len(times[name])} steps)")
    print(f"channels-last speed-up: {med['nchw'] / med['channels_last']:.2f}x")


if __name__ == "__main__":
    main()

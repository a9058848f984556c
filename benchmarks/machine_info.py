"""One line that says which CPU path a benchmark ran on (every number must name it).

``describe()`` returns the CPU model name, whether it has AVX-512 / AVX512-BF16 / AMX, the ISA
ATen's kernels dispatch to (``ATEN_CPU_CAPABILITY``), oneDNN's ISA cap (``ONEDNN_MAX_CPU_ISA``),
whether oneDNN runs bfloat16 natively under that cap, the bfloat16 setting ``WDS_CPU_BF16``, torch
threads, ``OMP_WAIT_POLICY`` and the load average. The no-bfloat16 path of a laptop or an AMD EPYC
without AVX-512 is ``ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 WDS_CPU_BF16=0``.
"""

from __future__ import annotations

import os
import platform


def cpu_model_and_flags() -> tuple[str, set[str]]:
    """``lscpu``'s model name and the CPU flags (Linux ``/proc/cpuinfo``; elsewhere the platform string)."""
    name, flags = platform.processor() or "unknown CPU", set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    name = value.strip()
                elif key.strip() == "flags":
                    flags = set(value.split())
                if name != "unknown CPU" and flags:
                    break
    except OSError:
        pass
    return name, flags


def describe() -> str:
    import torch

    name, flags = cpu_model_and_flags()
    has = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags]
    try:
        native = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        native = False
    load = " ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return (
        f"CPU {name!r} ({os.cpu_count()} cores; flags {' '.join(has) or 'none of avx2/avx512'}); "
        f"ATen kernels {torch.backends.cpu.get_cpu_capability()}, oneDNN ISA cap {os.environ.get('ONEDNN_MAX_CPU_ISA', 'none')}, "
        f"bfloat16 native under it: {native}; WDS_CPU_BF16={os.environ.get('WDS_CPU_BF16', 'unset')}; "
        f"torch threads {torch.get_num_threads()}, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}; "
        f"load average {load}"
    )


if __name__ == "__main__":
    print(describe())

"""Seconds from launching ``main.py train`` on demo_cpu to its first loss curve point.

Starts ``main.py train --config-file resources/configs/demo_cpu.yaml OUTPUT_DIR <temp>`` as a
subprocess (the process start, imports, reading the samples or the training cache, the CSI
statistics and the first MTN pretraining steps all count), polls ``OUTPUT_DIR/metrics.json``
every 20 ms and reports when its first line appears (the first point the app's curves draw; with
MTN pretraining it is a ``"phase": "pretrain"`` line). Then it stops the run with Ctrl+C (SIGINT)
and reports how long that took. Goal: the first point within 15 s of launching ``train``.

``--runs N`` repeats it; the first run after a new demo dataset builds the training cache, the
later ones read it (the printed ``cache`` column says which).

Usage::

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/bench_first_point.py [--runs 2] [KEY VALUE ...]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.machine_info import describe  # noqa: E402


def cache_state() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = Path(base) / "wifi-densepose-studio" / "training"
    return "warm" if folder.is_dir() and any(folder.iterdir()) else "cold"


def one_run(opts: list[str], timeout: float, log_path: str = "") -> tuple[float, str, float]:
    """(seconds to the first metrics.json line, that line's phase, seconds from SIGINT to exit)."""
    with tempfile.TemporaryDirectory(prefix="first_point_") as tmp:
        metrics = Path(tmp) / "metrics.json"
        cmd = [sys.executable, str(REPO / "main.py"), "train", "--config-file",
               str(REPO / "resources/configs/demo_cpu.yaml"), *opts, "OUTPUT_DIR", tmp]  # fmt: skip
        start = time.perf_counter()
        log = open(log_path, "a", encoding="utf-8") if log_path else subprocess.DEVNULL  # noqa: SIM115 (closed below)
        if log_path:
            print(f"=== bench_first_point: launched at {time.strftime('%H:%M:%S')}", file=log, flush=True)
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        first, phase = float("nan"), "none"
        try:
            while time.perf_counter() - start < timeout and proc.poll() is None:
                if metrics.is_file() and metrics.stat().st_size:
                    line = metrics.read_text().splitlines()[0]
                    first = time.perf_counter() - start
                    try:
                        phase = json.loads(line).get("phase", "train")
                    except ValueError:
                        phase = "?"
                    break
                time.sleep(0.02)
        finally:
            stop = time.perf_counter()
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                if log_path:
                    print(
                        f"=== bench_first_point: first point seen, SIGINT sent at {time.strftime('%H:%M:%S')}",
                        file=log,
                        flush=True,
                    )
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if log_path:
                log.close()
        return first, phase, time.perf_counter() - stop


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument(
        "--timeout", type=float, default=300.0, help="give up waiting for the first point after this many seconds"
    )
    ap.add_argument("--log", default="", help="append the runs' output to this file (where the seconds went)")
    ap.add_argument("opts", nargs=argparse.REMAINDER, help="config overrides of demo_cpu.yaml")
    args = ap.parse_args()
    print(describe())
    print("| run | cache before | first curve point | its phase | Ctrl+C to exit |")
    print("|---|---|---|---|---|")
    for i in range(args.runs):
        cache = cache_state()
        first, phase, stop = one_run(list(args.opts), args.timeout, args.log)
        print(f"| {i + 1} | {cache} | {first:.1f} s | {phase} | {stop:.1f} s |", flush=True)
    print(describe())
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Live sensing speed: a capture log written at 1,000 packets/s, followed and predicted as it grows.

Run: ``.venv/bin/python benchmarks/bench_live.py --config-file RUN/config.yaml --weights RUN/model_final.pth
[--seconds 60] [--rate 1000] [--threads 2] [--ui-seconds 20]``

A separate *writer process* plays the capture tool: it appends the real Intel 5300 capture's
records (``../shared/data``, 540 packets, looped, ``timestamp_low`` rewritten so the NIC clock
advances 1 ms a packet) to a log at ``--rate`` packets/s, in bursts every 10 ms. This process
follows the log (:class:`LogFollower`) and predicts every newest window with the given model on
``--threads`` torch threads, as ``main.py live --follow`` does. Printed, side by side:

1. the model alone: median time of one ``predict_csi`` on a fixed window (the floor of latency);
2. the reader alone (no model): CPU seconds per wall second it takes to follow the log at the rate;
3. the live run: windows/s, end-to-end latency (packet read -> prediction ready) p50/p95 per 10 s
   of the run (it must not grow) and overall, latency p50 / model time, dropped fraction;
4. with ``--ui-seconds``: the Live view (offscreen) running the same stream, with a 10 ms QTimer
   probe measuring event-loop stalls (as ``bench_ui_latency.py``), idle first, then live once
   three windows have been drawn (model loading and first paints are not measured).

Prints the CPU line of ``machine_info.describe`` (model, flags, threads, load) before, the load after:
the cores may be shared with other jobs. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from benchmarks.scratch import scratch_dir  # noqa: E402

INTEL = REPO.parent / "shared" / "data" / "csi" / "intel5300" / "sample_0x1_ap.dat"
BURST_S = 0.01


def write_log(path: str, rate: float, seconds: float) -> None:
    """Writer process: append the Intel capture's records at ``rate`` packets/s for ``seconds``."""
    from app.backend.data.csi.framing import walk_records

    data = INTEL.read_bytes()
    fr = walk_records(data, 0, len_at=0, len_dtype=">u2", overhead=2)
    records = [bytearray(data[o : o + n]) for o, n in zip(fr.offsets.tolist(), fr.lengths.tolist())]
    t0 = time.monotonic()
    sent = 0
    with open(path, "ab", buffering=0) as f:
        while (now := time.monotonic()) - t0 < seconds:
            due = int((now - t0) * rate)
            out = bytearray()
            for k in range(sent, due):
                rec = records[k % len(records)]
                if rec[2] == 0xBB:  # the NIC clock: 1 ms a packet, wrapping at 2**32 us
                    rec[3:7] = ((k * 1000) % 2**32).to_bytes(4, "little")
                out += rec
            f.write(out)
            sent = due
            time.sleep(BURST_S)


def start_writer(path: Path, rate: float, seconds: float) -> mp.Process:
    path.write_bytes(b"")
    proc = mp.get_context("spawn").Process(target=write_log, args=(str(path), rate, seconds), daemon=True)
    proc.start()
    return proc


def load() -> str:
    return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())


def model_time(predictor, repeats: int = 20) -> float:
    from app.backend.data.csi import read_csi
    from app.backend.data.csi.window import build_model_input

    x, _ = build_model_input(read_csi(INTEL), predictor.cfg, 0)
    for _ in range(3):
        predictor.predict_csi(x)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        predictor.predict_csi(x)
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def reader_cost(log: Path, rate: float, seconds: float) -> tuple[float, int]:
    """CPU seconds per wall second the follower takes at ``rate``, and the packets it read."""
    from app.backend.live.follower import LogFollower

    writer = start_writer(log, rate, seconds + 1)
    time.sleep(0.3)
    follower = LogFollower(log)
    packets, cpu, t0 = 0, 0.0, time.monotonic()
    while time.monotonic() - t0 < seconds:
        c = time.thread_time()
        batch = follower.poll()
        cpu += time.thread_time() - c
        packets += batch.recording.num_packets if batch.recording is not None else 0
    follower.close()
    writer.join()
    return cpu / seconds, packets


def live_run(predictor, log: Path, rate: float, seconds: float) -> tuple[dict, list]:
    from app.backend.live.follower import LogFollower
    from app.backend.live.pipeline import LivePipeline

    writer = start_writer(log, rate, seconds + 2)
    time.sleep(0.3)
    pipeline = LivePipeline(LogFollower(log), predictor)
    results: list = []
    t0 = time.time()
    summary = pipeline.run(lambda r: results.append((r.ready_time - t0, r.latency_s)),
                           should_stop=lambda: time.time() - t0 > seconds)
    writer.join()
    return summary, results


def ui_run(cfg_file: str, weights: str, log: Path, rate: float, seconds: float) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from bench_ui_latency import Probe, percentiles, run_loop_for

    from app.ui.live.live_view import LiveView
    from app.ui.shell.app import make_application

    make_application()
    view = LiveView()
    view.resize(1400, 880)
    view.show()
    view.set_config_file(cfg_file)
    view.set_checkpoint(weights)
    probe = Probe()
    probe.start()
    run_loop_for(3.0)
    print(f"  Live view idle:                  {percentiles(probe.stop())}")
    writer = start_writer(log, rate, seconds + 10)
    time.sleep(0.3)
    view.set_source("follow", str(log))
    view.start()
    shown: list[int] = []
    view.resultShown.connect(shown.append)
    t0 = time.monotonic()
    while len(shown) < 3 and time.monotonic() - t0 < 120:  # model load and first draws (pyqtgraph's first
        run_loop_for(0.5)  # paints take seconds under load): not measured, as bench_ui_latency's warm run
    run_loop_for(3.0)
    probe.start()
    run_loop_for(seconds)
    stalls = probe.stop()
    pipeline = view.control.pipeline
    snap = pipeline.stats.snapshot() if pipeline is not None else None
    print(f"  Live view, {rate:.0f} packets/s: {percentiles(stalls)}  "
          f"[{snap.status_line().strip() if snap else 'no pipeline'}]")
    view.shutdown()
    view.close()
    writer.terminate()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config-file", required=True, help="config of the model (e.g. a demo_cpu run's config.yaml)")
    parser.add_argument("--weights", required=True, help="its checkpoint")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the live run")
    parser.add_argument("--rate", type=float, default=1000.0, help="packets per second written")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--ui-seconds", type=float, default=0.0, help="also measure the Live view's event loop")
    args = parser.parse_args()

    import torch

    from app.backend.config import load_config
    from app.backend.engine.predictor import Predictor
    from app.backend.live.stats import format_summary

    torch.set_num_threads(args.threads)
    from benchmarks.machine_info import describe

    print(f"{describe()}; GPU: {torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none'}")
    cfg = load_config(args.config_file)
    predictor = Predictor(cfg, args.weights)
    tmp = scratch_dir("bench-live-")
    log = tmp / "csi.dat"

    model_s = model_time(predictor)
    print(f"1. model alone: predict_csi {model_s * 1000:.0f} ms median per window "
          f"({cfg.INPUT.CSI.PACKETS_PER_SAMPLE} packets, MTN {tuple(cfg.MODEL.MTN.OUTPUT_SIZE)})")
    cpu, packets = reader_cost(log, args.rate, 10.0)
    print(f"2. reader alone: {cpu:.3f} CPU s per s following {args.rate:.0f} packets/s ({packets} packets in 10 s)")
    summary, results = live_run(predictor, log, args.rate, args.seconds)
    print(f"3. live run, {args.seconds:.0f} s at {args.rate:.0f} packets/s, hop = window:")
    for line in format_summary(summary).splitlines():
        print("   " + line)
    t = np.asarray([r[0] for r in results])
    lat = np.asarray([r[1] for r in results]) * 1000.0
    for lo in np.arange(0, args.seconds, 10.0):
        sel = (t >= lo) & (t < lo + 10.0)
        if sel.any():
            print(f"   {lo:4.0f}-{lo + 10:3.0f} s: {sel.sum():4d} windows, latency p50 {np.percentile(lat[sel], 50):5.0f} ms "
                  f"p95 {np.percentile(lat[sel], 95):5.0f} ms")
    print(f"   latency p50 / model time: {summary['latency_p50_ms'] / (model_s * 1000):.2f}; "
          f"p95 goal <= 500 ms: {'met' if summary['latency_p95_ms'] <= 500 else 'NOT met'}")
    if args.ui_seconds > 0:
        print("4. UI event-loop stalls (10 ms probe; goal p99 <= 50 ms):")
        ui_run(args.config_file, args.weights, log, args.rate, args.ui_seconds)
    print(f"after: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""UI responsiveness while training runs on a QThread, and the cost of redrawing long curves.

1. Event-loop stalls: a 10 ms QTimer probe records how late each tick arrives (stall =
   interval - 10 ms), first with the app idle, then while the real trainer runs
   ``demo_cpu`` (tiny overrides) in the training view's worker thread: a first run (the
   worker imports detectron2/model modules: dlopen and module import hold the GIL), a
   second, warm run at the app's interpreter switch interval (``sys.setswitchinterval``, set by
   ``make_application``: how long the training thread may keep the GIL while the event loop
   waits for it), a warm run at Python's default 5 ms, and the app's interval again.
   Reports p50/p99/max (goal p99 <= 50 ms).
2. Curve redraws: a LossPlot series of 100,000 points gets one more point and is
   repainted, with peak downsampling + clip-to-view (what the app uses) vs without.

Run: ``.venv/bin/python benchmarks/bench_ui_latency.py [--iters 15]`` (offscreen).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.scratch import scratch_dir

PROBE_MS = 10


def percentiles(stalls_ms: list[float]) -> str:
    a = np.asarray(stalls_ms) if stalls_ms else np.zeros(1)
    return f"p50 {np.percentile(a, 50):6.1f} ms  p99 {np.percentile(a, 99):6.1f} ms  max {a.max():6.1f} ms  (n={len(a)})"


class Probe:
    """Records the lateness of a repeating QTimer's ticks."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(PROBE_MS)
        self.timer.timeout.connect(self.tick)
        self.last = 0.0
        self.stalls: list[float] = []

    def start(self) -> None:
        self.stalls.clear()
        self.last = time.perf_counter()
        self.timer.start()

    def stop(self) -> list[float]:
        self.timer.stop()
        return list(self.stalls)

    def tick(self) -> None:
        now = time.perf_counter()
        self.stalls.append(max(0.0, (now - self.last) * 1000.0 - PROBE_MS))
        self.last = now


def run_loop_for(seconds: float) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def train_with_probe(view, provider, probe: Probe) -> tuple[list[float], dict, int, float]:
    from app.ui.shell.screenshots import wait_for

    count = [0]

    def on_metrics(_m: dict) -> None:
        count[0] += 1

    view.metricsReceived.connect(on_metrics)
    view.set_config_provider(provider)
    probe.start()
    t0 = time.perf_counter()
    view.start()
    summary = wait_for(view.runFinished, 3_600_000)[0]
    wall = time.perf_counter() - t0
    stalls = probe.stop()
    view.metricsReceived.disconnect(on_metrics)
    return stalls, summary, count[0], wall


def bench_curves(n_points: int = 100_000, repeats: int = 30) -> None:
    """One new point on each of two 100k-point series, then a synchronous repaint of the plots."""
    from PySide6.QtWidgets import QApplication

    from app.widgets.loss_plot import LossPlot

    rng = np.random.default_rng(0)
    for label, fast in (("peak downsampling + clipToView", True), ("plain (no downsampling)", False)):
        w = LossPlot(capacity=n_points + repeats + 10)
        w.resize(900, 500)
        w.show()
        x = np.arange(n_points, dtype=float)
        w.set_history({"total_loss": (x, rng.random(n_points)), "lr": (x, rng.random(n_points))})
        if not fast:
            for name in w.series_names():
                w.curve(name).setDownsampling(auto=False)
                w.curve(name).setClipToView(False)
        QApplication.processEvents()
        data_ms, paint_ms = [], []
        for i in range(repeats):
            w.append(n_points + i, {"total_loss": float(rng.random()), "lr": 0.5})
            t0 = time.perf_counter()
            w.flush()  # setData of both series
            t1 = time.perf_counter()
            w.graphics.viewport().repaint()  # downsampling, clipping and painting happen here
            t2 = time.perf_counter()
            QApplication.processEvents()
            data_ms.append((t1 - t0) * 1000.0 / 2)
            paint_ms.append((t2 - t1) * 1000.0)
        print(f"  {n_points:,} points/series, {label:31s}: setData {np.median(data_ms):5.2f} ms/series, "
              f"repaint of both plots (2 series + 4 axes) median {np.median(paint_ms):6.2f} ms, max {np.max(paint_ms):6.2f} ms")
        w.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=15, help="training iterations per phase")
    args = parser.parse_args()

    from app.ui.shell.app import make_application

    make_application()
    import torch

    from app.backend.config import builtin_config, load_config
    from app.backend.data.demo import generate_demo_dataset
    from app.ui.training.training_view import TrainingView

    tmp = scratch_dir("bench-ui-")
    generate_demo_dataset(tmp / "demo", num_train=12, num_val=6, seed=0)

    def provider_for(out: str):
        def provide():
            return load_config(builtin_config("demo_cpu"), [
                "DATASETS.DEMO.ROOT", str(tmp / "demo"), "OUTPUT_DIR", str(tmp / out),
                "SOLVER.MAX_ITER", str(args.iters), "MODEL.MTN.OUTPUT_SIZE", "[64, 64]",
                "SOLVER.IMS_PER_BATCH", "2", "UI.METRICS_PERIOD", "1", "UI.PREVIEW_PERIOD", "5",
                "SOLVER.CHECKPOINT_PERIOD", "100000", "SOLVER.MTN_PRETRAIN.ITERS", "0"])
        return provide

    print(f"torch threads: {torch.get_num_threads()}, CPU cores: {os.cpu_count()}, "
          f"switch interval: {sys.getswitchinterval() * 1000:.1f} ms")
    view = TrainingView()
    view.resize(1200, 800)
    view.show()
    probe = Probe()

    probe.start()
    run_loop_for(3.0)
    print("event-loop stalls, idle:                     " + percentiles(probe.stop()))

    app_ms = sys.getswitchinterval() * 1000
    phases = ((f"first run: cold imports, {app_ms:g} ms", "run1", None), (f"warm, the app's {app_ms:g} ms", "run2", None),
              ("warm, Python's default 5 ms", "run3", 0.005), (f"warm, the app's {app_ms:g} ms again", "run4", None))
    for label, out, switch in phases:
        old = sys.getswitchinterval()
        if switch is not None:
            sys.setswitchinterval(switch)
        stalls, summary, n, wall = train_with_probe(view, provider_for(out), probe)
        sys.setswitchinterval(old)
        print(f"event-loop stalls, training ({label:36s}): {percentiles(stalls)}  "
              f"[{summary.get('status')}, {n} metrics signals, run {wall:.1f} s]")
    view.shutdown()
    view.close()

    bench_curves()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""CSI ingestion speed on the real Intel 5300 sample, side by side with csiread alone.

Run: ``.venv/bin/python benchmarks/bench_csi.py [--repeat N] [FILE]``

Rows (median of N runs, same process, same file, warm page cache):

* csiread raw read: ``csiread.Intel(...).read()`` only (the floor);
* read_csi: our full read (content sniff, record-by-record validation, csiread,
  amplitude/phase, timestamp unwrap);
* read_csi + sanitize: plus :func:`sanitize_phase` over the whole recording;
* read_csi + model inputs: plus every non-overlapping 5-packet model input
  (repair/sanitize/resample per window), i.e. the frames the model would see.

"frames/s" counts 5-packet model inputs (packets / 5), the paper's 20 FPS unit.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DEFAULT = REPO.parent / "shared" / "data" / "csi" / "intel5300" / "sample_0x1_ap.dat"


def _median_time(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm-up (imports, page cache)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", nargs="?", default=str(DEFAULT))
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()

    import csiread

    from app.backend.data.csi import CsiInputParams, iter_windows, read_csi, sanitize_phase

    path = args.file
    rec = read_csi(path)
    packets = rec.num_packets
    params = CsiInputParams()

    def raw() -> object:
        c = csiread.Intel(path, nrxnum=3, ntxnum=3, pl_size=0, if_report=False)
        c.read()
        return c.csi

    def ours() -> object:
        return read_csi(path)

    def ours_sanitized() -> object:
        r = read_csi(path)
        return sanitize_phase(r.phase)

    def ours_inputs() -> object:
        return sum(1 for _ in iter_windows(read_csi(path), params))

    rows = [
        ("csiread raw read", raw),
        ("read_csi", ours),
        ("read_csi + sanitize", ours_sanitized),
        ("read_csi + model inputs", ours_inputs),
    ]
    print(f"file: {path}  ({packets} packets, shape {rec.shape}); median of {args.repeat} runs")
    print(f"{'step':<26}{'ms':>9}{'packets/s':>13}{'frames/s':>11}{'vs csiread':>12}")
    base = None
    for name, fn in rows:
        t = _median_time(fn, args.repeat)
        base = base or t
        print(f"{name:<26}{t * 1e3:9.2f}{packets / t:13.0f}{packets / 5 / t:11.0f}{base / t:12.3f}")
    print("vs csiread = csiread time / this row's time (1.0 = as fast as the raw read alone)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

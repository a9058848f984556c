"""CSI ingestion speed for every supported capture tool, side by side with csiread's raw read.

Run: ``.venv/bin/python benchmarks/bench_csi.py [--repeat N] [--mb M]``

Files: the real captures in ``../shared/data/csi`` (Intel 5300 ``.dat``, Atheros ``.dat``,
ESP32 ``.csv``, nexmon_csi ``.pcap``, PicoScenes ``.csi``), and the same captures with
their records repeated to about ``--mb`` megabytes (``x K`` rows, where per-file costs no
longer dominate). Rows per file (median of N runs, interleaved, same process, warm page
cache):

* ``csiread``: csiread's own reader with the arguments its documentation gives for the
  file (complex128 CSI, no validation, no conversion): the floor;
* ``+ polar``: csiread's read plus the float32 amplitude/phase conversion of all its
  values (:func:`complex_to_polar`): what producing our layout costs without validation;
* ``read_csi``: our full read (content sniff, record-by-record validation, csiread,
  data-tone selection, float32 amplitude/phase, clock unwrap, notes);
* ``vs csiread``: csiread's time / ours (goal >= 0.5).

For the Intel sample, two more rows: ``+ sanitize`` (:func:`sanitize_phase` over the whole
recording) and ``+ model inputs`` (every non-overlapping 5-packet model input), i.e. the
frames the model would see; "frames/s" counts those 5-packet inputs.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DATA = REPO.parent / "shared" / "data" / "csi"
#: name -> (file, bytes before the first record that are not repeated, csiread call returning (P, S, R, T) complex)
FILES: dict[str, tuple[Path, int, Callable[[str], object]]] = {}


def _files() -> None:
    import csiread

    def intel(p: str) -> object:
        c = csiread.Intel(p, nrxnum=3, ntxnum=3, pl_size=0, if_report=False)
        c.read()
        return c.csi

    def atheros(p: str) -> object:
        c = csiread.Atheros(p, nrxnum=3, ntxnum=3, tones=56, if_report=False)
        c.read()
        return c.csi

    def esp32(p: str) -> object:
        c = csiread.ESP32(p, if_report=False)
        c.read()
        return c.csi[:, :, None, None]

    def nexmon(p: str) -> object:
        c = csiread.Nexmon(p, chip="4358", bw=80, if_report=False)
        c.read()
        return c.csi[:, :, None, None]

    def picoscenes(p: str) -> object:
        c = csiread.Picoscenes(p, {"CSI": [30, 3, 2], "MPDU": 0}, if_report=False)
        c.read()
        return c.raw["CSI"]["CSI"]

    tools = DATA / "capture-tools"
    FILES.update(
        {
            "intel5300": (DATA / "intel5300" / "sample_0x1_ap.dat", 0, intel),
            "atheros": (tools / "ath_csi_1.dat", 0, atheros),
            "esp32": (tools / "example_csi.csv", 0, esp32),
            "nexmon": (tools / "example.pcap", 24, nexmon),
            "picoscenes": (tools / "rx_by_iwl5300.csi", 0, picoscenes),
        }
    )


def _interleaved(fns: list[Callable[[], object]], repeat: int) -> list[float]:
    """Median time of each function, runs interleaved so a busy machine slows all of them alike."""
    for fn in fns:
        fn()  # warm-up (imports, page cache)
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for k, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


def _cpu() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return platform.processor() or "unknown CPU"
    model = next((ln.split(":", 1)[1].strip() for ln in out.splitlines() if ln.startswith("Model name")), "unknown CPU")
    cpus = next((ln.split(":", 1)[1].strip() for ln in out.splitlines() if ln.startswith("CPU(s)")), "?")
    flags = [f for f in ("avx512_bf16", "amx_tile") if f in out]
    return f"{model}, {cpus} CPU(s), {'+'.join(flags) or 'no avx512_bf16/amx'}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--mb", type=float, default=8.0, help="size of the repeated copies in MB (0: skip them)")
    args = ap.parse_args()

    from app.backend.data.csi import CsiInputParams, iter_windows, read_csi, sanitize_phase
    from app.backend.data.csi.recording import complex_to_polar

    _files()
    print(f"CPU: {_cpu()}; median of {args.repeat} interleaved runs")
    print(f"{'file':<22}{'packets':>9}{'shape':>20}{'csiread ms':>12}{'+ polar ms':>12}{'read_csi ms':>13}{'vs csiread':>12}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (src, head, raw) in FILES.items():
            data = src.read_bytes()
            variants = [(name, str(src))]
            scale = int(args.mb * 1e6 // len(data))
            if scale > 1:
                big = Path(tmp) / f"{name}-x{scale}{src.suffix}"
                big.write_bytes(data[:head] + data[head:] * scale)
                variants.append((f"{name} x{scale}", str(big)))
            for label, path in variants:
                rec = read_csi(path)
                fns = [lambda p=path, r=raw: r(p), lambda p=path, r=raw: complex_to_polar(r(p)), lambda p=path: read_csi(p)]
                t_raw, t_polar, t_ours = _interleaved(fns, args.repeat)
                shape = "x".join(map(str, rec.shape))
                print(
                    f"{label:<22}{rec.num_packets:>9}{shape:>20}{t_raw * 1e3:12.2f}{t_polar * 1e3:12.2f}"
                    f"{t_ours * 1e3:13.2f}{t_raw / t_ours:12.3f}"
                )
        path = str(FILES["intel5300"][0])
        rec = read_csi(path)
        params = CsiInputParams()
        steps = [
            ("+ sanitize", lambda: sanitize_phase(read_csi(path).phase)),
            ("+ model inputs", lambda: sum(1 for _ in iter_windows(read_csi(path), params))),
        ]
        times = _interleaved([fn for _, fn in steps], args.repeat)
        for (label, _), t in zip(steps, times):
            print(f"intel5300 {label:<16} {t * 1e3:9.2f} ms, {rec.num_packets / 5 / t:8.0f} frames/s")
    print("vs csiread = csiread time / read_csi time (1.0 = as fast as csiread alone; goal >= 0.5)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

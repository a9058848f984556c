"""Counters and rates of a live run: what the status line, the Live view and the summary show.

Latency is end to end on the host: from the time the window's last packet was read (a replay: was
due) to the time its prediction was ready. The capture's own clock is not the host's, so the time
between the tool writing a packet and the reader seeing it (at most one poll, 20 ms) is not in it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import asdict, dataclass

import numpy as np

#: Latencies kept for the run's summary (a day at 10 windows/s).
MAX_LATENCIES = 1_000_000


@dataclass(frozen=True)
class LiveSnapshot:
    """The run at one moment. Rates and latencies are over the last ``horizon_s`` (or the last
    20 windows when fewer arrived in it); NaN before the first window."""

    windows_per_s: float
    latency_p50_ms: float
    latency_p95_ms: float
    windows_made: int
    processed: int
    dropped: int
    paused: int
    bad_records: int
    bad_windows: int
    restarts: int
    packets: int
    people: int

    @property
    def dropped_fraction(self) -> float:
        return self.dropped / self.windows_made if self.windows_made else 0.0

    @property
    def bad_input(self) -> int:
        return self.bad_records + self.bad_windows + self.restarts

    def status_line(self) -> str:
        def ms(v: float) -> str:
            return "-" if np.isnan(v) else f"{v:.0f}"

        return (
            f"{self.windows_per_s:5.1f} windows/s  latency p50 {ms(self.latency_p50_ms)} ms p95 "
            f"{ms(self.latency_p95_ms)} ms  dropped {self.dropped} ({100 * self.dropped_fraction:.0f} %)  "
            f"people {self.people}  bad input {self.bad_input}  packets {self.packets}"
        )

    def as_dict(self) -> dict:
        return {**asdict(self), "dropped_fraction": self.dropped_fraction}


class LiveStats:
    """Thread-safe counters of one run (the reader thread counts input, the model thread results)."""

    def __init__(self, horizon_s: float = 2.0) -> None:
        self.horizon_s = float(horizon_s)
        self._lock = threading.Lock()
        self.windows_made = self.processed = self.dropped = self.paused = 0
        self.bad_records = self.bad_windows = self.restarts = self.packets = 0
        self.people = 0
        self._recent: deque[tuple[float, float]] = deque(maxlen=10_000)  # (ready time, latency s)
        self._latencies: deque[float] = deque(maxlen=MAX_LATENCIES)
        self.started = time.time()

    def add(self, **counts: int) -> None:
        """Add to counters by name, e.g. ``add(packets=20, windows_made=4, dropped=3)``."""
        with self._lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + int(n))

    def add_result(self, ready_time: float, latency_s: float, people: int) -> None:
        with self._lock:
            self.processed += 1
            self.people = int(people)
            self._recent.append((ready_time, latency_s))
            self._latencies.append(latency_s)

    def snapshot(self, now: float | None = None) -> LiveSnapshot:
        now = time.time() if now is None else now
        with self._lock:
            recent = [(t, lat) for t, lat in self._recent if t > now - self.horizon_s]
            span = min(self.horizon_s, max(now - self.started, 1e-6))
            rate = len(recent) / span
            lat = [lat for _, lat in (recent or list(self._recent)[-20:])]
            p50, p95 = (np.percentile(lat, [50, 95]) * 1000.0).tolist() if lat else (float("nan"),) * 2
            return LiveSnapshot(rate, p50, p95, self.windows_made, self.processed, self.dropped, self.paused,
                                self.bad_records, self.bad_windows, self.restarts, self.packets, self.people)

    def summary(self, now: float | None = None) -> dict:
        """The whole run: counts, mean windows/s, latency p50/p95/max over every window (ms)."""
        now = time.time() if now is None else now
        with self._lock:
            lat = np.asarray(self._latencies, np.float64) * 1000.0
        snap = self.snapshot(now)
        elapsed = max(now - self.started, 1e-6)
        out = snap.as_dict()
        out.update(
            seconds=elapsed,
            windows_per_s=snap.processed / elapsed,
            latency_p50_ms=float(np.percentile(lat, 50)) if lat.size else float("nan"),
            latency_p95_ms=float(np.percentile(lat, 95)) if lat.size else float("nan"),
            latency_max_ms=float(lat.max()) if lat.size else float("nan"),
        )
        return out


def format_summary(summary: dict) -> str:
    """The run's summary in a few lines."""
    def ms(key: str) -> str:
        v = summary[key]
        return "-" if v != v else f"{v:.0f} ms"

    return (
        f"{summary['processed']} windows predicted in {summary['seconds']:.1f} s ({summary['windows_per_s']:.1f}/s) "
        f"from {summary['packets']} packets\n"
        f"latency p50 {ms('latency_p50_ms')}, p95 {ms('latency_p95_ms')}, max {ms('latency_max_ms')}\n"
        f"windows made {summary['windows_made']}, dropped {summary['dropped']} ({100 * summary['dropped_fraction']:.1f} %), "
        f"skipped while paused {summary['paused']}\n"
        f"bad input: {summary['bad_records']} corrupted record(s), {summary['bad_windows']} refused window(s), "
        f"{summary['restarts']} restart(s) of the file"
    )

"""Summaries of a CSI recording for ``csi-inspect`` and the UI (plain dicts, JSON-ready)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from app.backend.data.csi.recording import CsiRecording
from app.backend.data.csi.sanitize import remove_linear_phase, repair_nonfinite, sanitize_phase
from app.backend.errors import CsiFormatError


@dataclass
class ProcessedRecording:
    """A whole recording after repair and sanitization, for inspection and plots.

    Attributes:
        recording: the recording as read (raw values, possibly non-finite).
        amplitude: float32 (P, S, R, T), non-finite values repaired.
        sanitized_phase: float32 (P, S, R, T), :func:`sanitize_phase` over all packets.
        repaired: number of non-finite values replaced.
        slopes: float32 (P, R, T) linear phase slope (rad per subcarrier) that
            sanitization removed, per packet and antenna pair.
    """

    recording: CsiRecording
    amplitude: np.ndarray
    sanitized_phase: np.ndarray
    repaired: int
    slopes: np.ndarray


#: Memory ``csi-inspect`` may use for one recording (it refuses a recording that would need more).
INSPECT_BUDGET_BYTES = 1_800_000_000
#: Bytes held per CSI value while a recording is inspected (float32 raw amplitude and phase,
#: repaired amplitude, sanitized phase).
HELD_BYTES_PER_VALUE = 16
#: Bytes of working memory per value of the antenna pair being processed (float64 copies in
#: repair, unwrap, filters and statistics; measured peak 120, with margin).
PAIR_BYTES_PER_VALUE = 160


def inspect_memory(shape: tuple[int, int, int, int]) -> int:
    """Bytes :func:`process_recording` + :func:`summarize` + the plot need for a (P, S, R, T) recording."""
    p, s, r, t = (int(v) for v in shape)
    return HELD_BYTES_PER_VALUE * p * s * r * t + PAIR_BYTES_PER_VALUE * p * s


def check_inspect_memory(rec: CsiRecording) -> None:
    """CsiFormatError when inspecting ``rec`` would need more than :data:`INSPECT_BUDGET_BYTES`."""
    need = inspect_memory(rec.shape)
    if need > INSPECT_BUDGET_BYTES:
        raise CsiFormatError(
            f"{rec.path or '<in-memory CSI>'}: inspecting {rec.shape} (packets, subcarriers, rx, tx) needs about "
            f"{need / 1e9:.1f} GB, more than the {INSPECT_BUDGET_BYTES / 1e9:.1f} GB allowed; split the capture "
            "into shorter files"
        )


def _pairs(rec: CsiRecording):
    """Index tuples selecting each antenna pair as a (P, S, 1, 1) view."""
    _, _, r, t = rec.shape
    for i in range(r):
        for j in range(t):
            yield i, j, (slice(None), slice(None), slice(i, i + 1), slice(j, j + 1))


def process_recording(
    rec: CsiRecording, median_kernel: Iterable[int] = (3, 3), uniform_kernel: Iterable[int] = (3, 3)
) -> ProcessedRecording:
    """Repair non-finite values and sanitize the phase of the whole recording.

    Works one antenna pair at a time (every step is per pair, so the result is the same as
    over the whole array) to keep its float64 working copies to one pair's size.

    Raises:
        CsiFormatError: the recording needs more memory than :data:`INSPECT_BUDGET_BYTES`.
    """
    check_inspect_memory(rec)
    p, s, r, t = rec.shape
    amp = np.empty(rec.shape, np.float32)
    san = np.empty(rec.shape, np.float32)
    slopes = np.empty((p, r, t), np.float32)
    repaired = 0
    for i, j, sel in _pairs(rec):
        amp[sel], n_amp = repair_nonfinite(rec.amplitude[sel])
        pha, n_pha = repair_nonfinite(rec.phase[sel], circular=True)
        unwrapped = np.unwrap(pha.astype(np.float64), axis=1)
        slopes[:, i, j] = ((unwrapped[:, -1] - unwrapped[:, 0]) / max(s - 1, 1))[:, 0, 0]
        del unwrapped
        san[sel] = sanitize_phase(pha, median_kernel, uniform_kernel)
        repaired += n_amp + n_pha
    return ProcessedRecording(recording=rec, amplitude=amp, sanitized_phase=san, repaired=repaired, slopes=slopes)


class _Moments:
    """min, max, mean and (population) std of finite values, accumulated block by block (Chan et al.)."""

    def __init__(self) -> None:
        self.n, self.mean, self.m2 = 0, 0.0, 0.0
        self.lo, self.hi = math.inf, -math.inf
        self.abs_sum = 0.0

    def add(self, values: np.ndarray) -> None:
        v = values[np.isfinite(values)].astype(np.float64)
        if v.size == 0:
            return
        n, mean = v.size, float(v.mean())
        m2 = float(((v - mean) ** 2).sum())
        delta = mean - self.mean
        total = self.n + n
        self.mean += delta * n / total
        self.m2 += m2 + delta * delta * self.n * n / total
        self.n = total
        self.lo, self.hi = min(self.lo, float(v.min())), max(self.hi, float(v.max()))
        self.abs_sum += float(np.abs(v).sum())

    def stats(self) -> dict[str, float | None]:
        if self.n == 0:
            return {"min": None, "max": None, "mean": None, "std": None}
        return {"min": self.lo, "max": self.hi, "mean": self.mean, "std": math.sqrt(max(self.m2, 0.0) / self.n)}


def _counts(values: np.ndarray) -> dict[str, int]:
    keys, counts = np.unique(values, return_counts=True)
    return {str(int(k)): int(c) for k, c in zip(keys, counts)}


def summarize(proc: ProcessedRecording) -> dict:
    """JSON-ready summary: format, shape, antennas, timing, non-finite count, value statistics.

    Statistics cover only antenna pairs that carry data (zero-filled pairs are left out),
    accumulated one pair at a time. ``sanitized_phase.residual_linear_slope`` is the largest
    linear slope left after sanitization (should be ~0).
    """
    rec = proc.recording
    valid = rec.valid_pairs()
    amp, raw, san = _Moments(), _Moments(), _Moments()
    residual = 0.0
    for i, j, sel in _pairs(rec):
        if not valid[i, j]:
            continue
        amp.add(proc.amplitude[sel])
        raw.add(rec.phase[sel])
        pair = proc.sanitized_phase[sel]
        san.add(pair)
        residual = max(residual, float(np.abs(remove_linear_phase(pair) - pair).max()))
    p, s, r, t = rec.shape
    return {
        "file": rec.path,
        "format": rec.source_format,
        "packets": p,
        "shape": [p, s, r, t],
        "axes": "packets, subcarriers, rx, tx",
        "subcarriers": s,
        "antennas": {
            "rx": r,
            "tx": t,
            "nrx_per_packet": _counts(rec.nrx),
            "ntx_per_packet": _counts(rec.ntx),
            "pairs_with_data": [[int(i), int(j)] for i, j in zip(*np.nonzero(valid))],
        },
        "time_start_s": float(rec.timestamps[0]),
        "time_span_s": rec.duration,
        "packet_rate_hz": rec.packet_rate,
        "nonfinite_count": rec.nonfinite_count,
        "amplitude": amp.stats(),
        "raw_phase": raw.stats(),
        "sanitized_phase": {
            **san.stats(),
            "mean_abs": san.abs_sum / san.n if san.n else float("nan"),
            "removed_slope_mean_abs": float(np.abs(proc.slopes[:, valid]).mean()),
            "residual_linear_slope": residual,
        },
        "notes": list(rec.notes),
        "meta": dict(rec.meta),
    }


def format_summary(info: dict) -> str:
    """Human-readable multi-line text of :func:`summarize`'s dict."""

    def num(v: float | None, fmt: str = ".4g") -> str:
        return "n/a" if v is None else format(v, fmt)

    def stats(d: dict) -> str:
        return f"min {num(d['min'])}, max {num(d['max'])}, mean {num(d['mean'])}, std {num(d['std'])}"

    ant = info["antennas"]
    sp = info["sanitized_phase"]
    rate = info["packet_rate_hz"]
    lines = [
        f"file:            {info['file']}",
        f"format:          {info['format']}",
        f"packets:         {info['packets']}",
        f"shape:           {tuple(info['shape'])} ({info['axes']})",
        f"antennas:        {ant['rx']} RX x {ant['tx']} TX; Nrx per packet {ant['nrx_per_packet']}, "
        f"Ntx per packet {ant['ntx_per_packet']}; {len(ant['pairs_with_data'])} pair(s) with data",
        f"time span:       {info['time_span_s']:.4f} s from {info['time_start_s']:.6f} s",
        f"packet rate:     {'n/a' if rate is None else f'{rate:.2f} packets/s'}",
        f"non-finite:      {info['nonfinite_count']}",
        f"amplitude:       {stats(info['amplitude'])}",
        f"raw phase:       {stats(info['raw_phase'])}",
        f"sanitized phase: {stats(sp)}, mean |phase| {sp['mean_abs']:.4g}",
        f"                 removed slope mean |a1| {sp['removed_slope_mean_abs']:.4g} rad/subcarrier, "
        f"residual linear term {sp['residual_linear_slope']:.2g}",
    ]
    lines += _meta_lines(info.get("meta") or {})
    lines += [f"note:            {n}" for n in info["notes"]]
    return "\n".join(lines)


def _meta_lines(meta: dict) -> list[str]:
    """Capture-tool facts (tool, chip, bandwidth, channel, RSSI, clock), one line each where known."""
    out = []
    device = ", ".join(str(meta[k]) for k in ("tool", "chip", "frontend") if meta.get(k))
    if device:
        out.append(f"recorded by:     {device}")
    radio = [f"{meta[k]} {u}" for k, u in (("bandwidth_mhz", "MHz"), ("channel", "(channel)"), ("channel_mhz", "MHz"),
                                           ("center_freq_mhz", "MHz")) if meta.get(k) is not None]  # fmt: skip
    rssi = meta.get("rssi_dbm") or meta.get("rssi_db")
    if rssi:
        radio.append(f"RSSI {rssi['min']:g}..{rssi['max']:g} (median {rssi['median']:g})")
    if radio:
        out.append(f"radio:           {', '.join(radio)}")
    clock = meta.get("clock")
    if clock:
        out.append(
            f"clock:           {clock['source']} clock, {clock['wraps']} wrap(s), "
            f"{clock['backward_steps']} step(s) back in time"
        )
    return out

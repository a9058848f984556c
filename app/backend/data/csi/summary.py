"""Summaries of a CSI recording for ``csi-inspect`` and the UI (plain dicts, JSON-ready)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from app.backend.data.csi.recording import CsiRecording
from app.backend.data.csi.sanitize import remove_linear_phase, repair_nonfinite, sanitize_phase


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


def process_recording(
    rec: CsiRecording, median_kernel: Iterable[int] = (3, 3), uniform_kernel: Iterable[int] = (3, 3)
) -> ProcessedRecording:
    """Repair non-finite values and sanitize the phase of the whole recording."""
    amp, n_amp = repair_nonfinite(rec.amplitude)
    pha, n_pha = repair_nonfinite(rec.phase, circular=True)
    unwrapped = np.unwrap(pha.astype(np.float64), axis=1)
    s = rec.num_subcarriers
    slopes = (unwrapped[:, -1] - unwrapped[:, 0]) / max(s - 1, 1)
    return ProcessedRecording(
        recording=rec,
        amplitude=amp,
        sanitized_phase=sanitize_phase(pha, median_kernel, uniform_kernel),
        repaired=n_amp + n_pha,
        slopes=slopes.astype(np.float32),
    )


def _stats(values: np.ndarray) -> dict[str, float | None]:
    v = values[np.isfinite(values)].astype(np.float64)
    if v.size == 0:
        return {"min": None, "max": None, "mean": None, "std": None}
    return {"min": float(v.min()), "max": float(v.max()), "mean": float(v.mean()), "std": float(v.std())}


def _counts(values: np.ndarray) -> dict[str, int]:
    keys, counts = np.unique(values, return_counts=True)
    return {str(int(k)): int(c) for k, c in zip(keys, counts)}


def summarize(proc: ProcessedRecording) -> dict:
    """JSON-ready summary: format, shape, antennas, timing, non-finite count, value statistics.

    Statistics cover only antenna pairs that carry data (zero-filled pairs are left out).
    ``sanitized_phase.residual_linear_slope`` is the largest linear slope left after
    sanitization (should be ~0).
    """
    rec = proc.recording
    valid = rec.valid_pairs()
    sel = (slice(None), slice(None), *np.nonzero(valid))  # -> (P, S, K)
    san = proc.sanitized_phase[sel]
    residual = remove_linear_phase(proc.sanitized_phase)[sel] - san
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
        "amplitude": _stats(proc.amplitude[sel]),
        "raw_phase": _stats(rec.phase[sel]),
        "sanitized_phase": {
            **_stats(san),
            "mean_abs": float(np.abs(san).mean()),
            "removed_slope_mean_abs": float(np.abs(proc.slopes[:, valid]).mean()),
            "residual_linear_slope": float(np.abs(residual).max()),
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

"""Packet clocks: counters that wrap, told apart from packets logged out of order.

Capture tools stamp packets with an integer counter: a NIC's microsecond clock (Intel
5300, Atheros, ESP32: 32 bits, wrapping every 2**32 us = 71.6 minutes), or the host's
time (pcap, PicoScenes SDR frontends: no wrap in practice). :func:`unwrap_counter`
turns one into float64 seconds.

Wrap or reordering (serial-number arithmetic, as for TCP sequence numbers): the step
from one packet to the next is taken modulo the counter's range; a step below half the
range is forward (crossing the wrap when the raw value went down), a step above half
the range is a step *back* by ``range - step`` (a packet logged out of order, or a clock
that was reset). One late packet therefore never adds 71 minutes; a real wrap-around
does. Steps back are kept in file order and counted (``import-recording`` sorts them
back when it aligns; window inputs use the file order).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.backend.errors import CsiFormatError

WRAP_32 = 2**32


@dataclass(frozen=True)
class ClockReport:
    """What unwrapping found; ``as_meta()`` goes into ``CsiRecording.meta["clock"]``."""

    source: str  #: "device" (the NIC's own clock) or "host" (the computer's clock)
    unit_s: float  #: seconds per counter tick
    modulus: int | None  #: counter range (2**32) or None (no wrap)
    wraps: int
    backward_steps: int
    largest_backward_s: float

    def as_meta(self) -> dict:
        return {
            "source": self.source,
            "unit_s": self.unit_s,
            "wraps_at": self.modulus,
            "wraps": self.wraps,
            "backward_steps": self.backward_steps,
            "largest_backward_s": self.largest_backward_s,
        }

    def notes(self) -> list[str]:
        out = []
        if self.wraps:
            out.append(f"timestamp counter wrapped {self.wraps} time(s) at 2**{self.modulus.bit_length() - 1}: unwrapped")
        if self.backward_steps:
            out.append(
                f"{self.backward_steps} packet(s) step back in time (out of order or a clock reset; largest "
                f"{self.largest_backward_s:.6g} s): kept in file order"
            )
        return out


def unwrap_counter(
    raw: np.ndarray, *, unit_s: float, modulus: int | None, source: str, where: str = "<CSI>"
) -> tuple[np.ndarray, ClockReport]:
    """float64 seconds (P,) from integer counter values, and what was found.

    Args:
        raw: (P,) non-negative integers (any integer dtype), in file order.
        unit_s: seconds per tick (1e-6 for microseconds, 1e-9 for nanoseconds).
        modulus: the counter's range when it wraps (e.g. :data:`WRAP_32`), else None.
        source: "device" or "host", recorded in the report.

    Raises:
        CsiFormatError: values that do not fit the counter (negative, >= modulus, >= 2**62).
    """
    r = np.asarray(raw).reshape(-1)
    bad = np.flatnonzero((r < 0) | (r >= (modulus or 2**62))) if r.size else []
    if len(bad):
        raise CsiFormatError(
            f"{where}: packet {int(bad[0])} has a timestamp ({int(r[bad[0]])}) outside its clock counter's range "
            f"(0..{(modulus or 2**62) - 1}); the file is corrupt"
        )
    t = r.astype(np.int64)
    if t.size < 2:
        return t.astype(np.float64) * unit_s, ClockReport(source, unit_s, modulus, 0, 0, 0.0)
    d = np.diff(t)
    if modulus is None:
        steps, wraps = d, 0
    else:
        fwd = d % modulus
        steps = np.where(fwd < modulus // 2, fwd, fwd - modulus)
        wraps = int(np.count_nonzero((d < 0) & (steps > 0)))
    back = steps < 0
    largest = float(-steps[back].min()) * unit_s if back.any() else 0.0
    ticks = np.concatenate([[0], np.cumsum(steps)])
    seconds = t[0] * unit_s + ticks.astype(np.float64) * unit_s
    return seconds, ClockReport(source, unit_s, modulus, wraps, int(back.sum()), largest)


def counter_modulus(raw: np.ndarray) -> int | None:
    """2**32 when every value fits 32 bits (a 32-bit hardware counter that may wrap), else None."""
    r = np.asarray(raw)
    return WRAP_32 if r.size == 0 or int(r.max()) < WRAP_32 else None


def continue_counter(seconds: np.ndarray, previous_s: float | None, clock: dict | None) -> np.ndarray:
    """Seconds of a later chunk of the same log, made to continue ``previous_s`` across a wrap.

    A streaming reader unwraps each chunk of packets on its own (:func:`unwrap_counter`), so a
    counter that wraps between two chunks would jump back by the counter's range. The step from
    ``previous_s`` (the last packet of the chunk before) to the chunk's first packet is read modulo
    the range, as inside a chunk: a step below half the range is forward. ``clock`` is the chunk's
    ``meta["clock"]`` (``wraps_at``, ``unit_s``); chunks of clocks that do not wrap, and the first
    chunk (``previous_s`` None), are returned as they are.
    """
    modulus = (clock or {}).get("wraps_at")
    if previous_s is None or not modulus or not len(seconds):
        return seconds
    span = float(modulus) * float(clock["unit_s"])
    gap = (float(seconds[0]) - previous_s) % span
    step = gap if gap < span / 2 else gap - span
    return seconds + (previous_s + step - float(seconds[0]))

"""A pyqtgraph axis that labels values on a log scale at any range (the loss and lr plots)."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg


class ValueAxis(pg.AxisItem):
    """An axis whose log mode labels values, at every scale.

    pyqtgraph labels log axes at decades and, inside one decade, with one digit scaled by an
    SI prefix: a learning rate that stays within a decade got crowded or no labels at all. Here a
    range of a decade or more is labelled at decades (with unlabelled 2..9 ticks while few), and
    a narrower one at evenly spaced values (0.006, 0.008, 0.01) placed on the log scale.
    """

    def __init__(self, orientation: str = "left", **kwargs) -> None:
        super().__init__(orientation, **kwargs)
        self.enableAutoSIPrefix(False)

    def logTickValues(self, minVal, maxVal, size, stdTicks):
        if not (math.isfinite(minVal) and math.isfinite(maxVal)) or maxVal <= minVal:
            return []
        if maxVal - minVal >= 1.0:
            decades = [float(d) for d in range(math.ceil(minVal), math.floor(maxVal) + 1)]
            minor = [d + math.log10(k) for d in range(math.floor(minVal), math.ceil(maxVal)) for k in range(2, 10)]
            minor = [m for m in minor if minVal < m < maxVal] if maxVal - minVal < 4 else []
            return [(1.0, decades), (None, minor)]
        lo, hi = 10.0**minVal, 10.0**maxVal
        step = nice_step((hi - lo) / max(2.0, size / 40.0))
        first = math.ceil(lo / step) * step
        values = np.arange(first, hi + step * 1e-6, step)
        return [(None, [math.log10(v) for v in values if v > 0])]

    def logTickStrings(self, values, scale, spacing):
        return [f"{10.0**v:.3g}" for v in values]


def nice_step(raw: float) -> float:
    """The 1-2-5 step at or above ``raw`` (> 0)."""
    if not math.isfinite(raw) or raw <= 0:
        return 1.0
    base = 10.0 ** math.floor(math.log10(raw))
    for k in (1.0, 2.0, 5.0, 10.0):
        if k * base >= raw * (1 - 1e-9):
            return k * base
    return 10.0 * base

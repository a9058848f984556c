"""Notes and metadata helpers shared by the CSI readers (plain values, JSON-ready)."""

from __future__ import annotations

import numpy as np


def antenna_notes(counts: np.ndarray, label: str, full: int) -> list[str]:
    """One note per antenna count below ``full``: how many packets carry it, what is zero-filled."""
    notes = []
    for n in np.unique(counts):
        if n < full:
            k = int(np.count_nonzero(counts == n))
            notes.append(f"{k} packet(s) carry {n} of {full} {label} antennas: the missing {label} column(s) are zero-filled")
    return notes


def value_range(values: np.ndarray) -> dict | None:
    """``{"min", "median", "max"}`` of numbers (None when empty), e.g. RSSI over packets."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if v.size == 0:
        return None
    return {"min": float(v.min()), "median": float(np.median(v)), "max": float(v.max())}


def distinct(values: np.ndarray, limit: int = 8) -> list:
    """Up to ``limit`` distinct values (ints stay ints), e.g. the channels a capture used."""
    u = np.unique(np.asarray(values).reshape(-1))[:limit]
    return [int(x) if np.issubdtype(u.dtype, np.integer) else x.item() if hasattr(x, "item") else x for x in u]

"""Deterministic, even subsampling: the same picks in every process and every run.

Used where a capped sample must still cover a whole sequence (CSI statistics over the training
files, the MTN pretraining cache, DensePose points proposed on a predicted mask).
"""

from __future__ import annotations

import numpy as np


def spread_indices(length: int, count: int, start: int = 0) -> np.ndarray:
    """``min(count, length - start)`` indices spread evenly over ``range(start, length)``.

    The first and the last index are included whenever ``count >= 2``; ``count <= 0`` or an
    empty range give none. Returns int64, ascending, without repeats.
    """
    n = max(0, min(int(count), int(length) - int(start)))
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    return np.linspace(start, length - 1, n).round().astype(np.int64)

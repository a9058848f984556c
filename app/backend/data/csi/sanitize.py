"""Phase sanitization (paper, section 3.1), non-finite repair and normalisation statistics.

All functions are pure: they take arrays of shape (P, S, R, T) = (packets, subcarriers,
RX, TX) and return new arrays; nothing is modified in place.

Phase sanitization, per packet and antenna pair, over subcarriers ``f``:

1. unwrap the raw phase across subcarriers (``np.unwrap`` along S);
2. (ours, on by default) remove each packet's linear term (step 5) once already, so that
   the per-packet random offset and slope (sampling-time and carrier-frequency offsets,
   and the arbitrary 2*pi*k left by unwrapping) do not leak between packets through the
   time filter of steps 3-4. ``detrend_first=False`` gives the literal paper order;
3. median filter over (time, frequency);
4. uniform (moving-average) filter over (time, frequency). The paper filters before
   fitting the line because fitting straight after unwrapping makes jitter worse.
   At the subcarrier ends the filters see an odd (point) reflection of the data
   (``2*phi_1 - phi_k``), so a linear phase passes both filters unchanged; over time the
   end packets are repeated;
5. remove the linear fit ``phi_hat_f = phi_f - (a1 * f + a0)``.

About the paper's ``a1 = (phi_F - phi_1) / (2*pi*F)`` and ``a0 = mean(phi_f)``: that form
comes from writing the linear phase error over subcarrier *frequencies* (``2*pi*m_f/N``
per unit of timing offset) with indices symmetric around 0. With plain integer indices
``f = 1..F`` the 2*pi factor does not belong: taken literally it would leave
``(1 - 1/(2*pi))`` of the slope behind. We therefore use the slope per subcarrier step,
``a1 = (phi_F - phi_1) / (F - 1)``, and centred indices ``f - (F + 1) / 2`` so that
``a0 = mean(phi_f)`` is the intercept exactly as in the paper. With this choice an
injected ``alpha * f + beta`` (any alpha, beta, per packet) is removed exactly, and the
sanitized phase of every packet and antenna pair starts and ends at the same value and
has zero mean over subcarriers.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from app.backend.atomic_write import atomic_write_json
from app.backend.errors import CsiFormatError, DatasetError

STATS_FORMAT = "wifi-densepose-csi-stats/1"
#: Smallest std stored in :class:`CsiStats` (a constant channel would divide by zero).
MIN_STD = 1e-6


def _kernel(kernel: Iterable[int], name: str) -> tuple[int, int]:
    k = tuple(int(v) for v in kernel)
    if len(k) != 2 or min(k) < 1:
        raise ValueError(f"{name} must be two positive sizes (time, subcarrier), got {kernel!r}")
    return k[0], k[1]


def remove_linear_phase(phase: np.ndarray) -> np.ndarray:
    """Subtract the linear term ``a1 * f + a0`` over subcarriers (axis 1), per packet and antenna pair.

    Args:
        phase: float (P, S, R, T), unwrapped over subcarriers.

    Returns:
        float64 (P, S, R, T): ``phase - (a1 * (f - (S - 1) / 2) + a0)`` with
        ``a1 = (phase[:, -1] - phase[:, 0]) / (S - 1)`` and ``a0 = mean over f``
        (the module docstring explains the normalisation). One subcarrier gives zeros.
    """
    phi = np.asarray(phase, dtype=np.float64)
    s = phi.shape[1]
    a0 = phi.mean(axis=1, keepdims=True)
    if s < 2:
        return phi - a0
    a1 = (phi[:, -1:] - phi[:, :1]) / (s - 1)
    fc = (np.arange(s, dtype=np.float64) - (s - 1) / 2.0).reshape(1, s, *([1] * (phi.ndim - 2)))
    return phi - (a1 * fc + a0)


def _filter_time_freq(phi: np.ndarray, kernel: tuple[int, int], median: bool) -> np.ndarray:
    """Median or uniform filter of size ``kernel`` over axes (0, 1) of a (P, S, R, T) array."""
    kt, kf = kernel
    if kt == 1 and kf == 1:
        return phi
    pad = kf // 2
    if pad:
        widths = [(0, 0)] * phi.ndim
        widths[1] = (pad, pad)
        phi = np.pad(phi, widths, mode="reflect", reflect_type="odd")
    size = (kt, kf) + (1,) * (phi.ndim - 2)
    if median:
        out = ndimage.median_filter(phi, size=size, mode="nearest")
    else:
        out = ndimage.uniform_filter(phi, size=size, mode="nearest")
    return out[:, pad : out.shape[1] - pad] if pad else out


def sanitize_phase(
    phase: np.ndarray,
    median_kernel: Iterable[int] = (3, 3),
    uniform_kernel: Iterable[int] = (3, 3),
    *,
    detrend_first: bool = True,
) -> np.ndarray:
    """Sanitize raw CSI phase as in the paper (see the module docstring for every step).

    Args:
        phase: (P, S, R, T) raw phase in radians (wrapped or not), finite.
        median_kernel: median filter size over (packets, subcarriers); (1, 1) disables it.
        uniform_kernel: moving-average size over (packets, subcarriers); (1, 1) disables it.
        detrend_first: remove each packet's linear term before filtering (default, ours);
            False follows the paper's order literally.

    Returns:
        float32 (P, S, R, T) sanitized phase: zero mean and equal end values over the
        subcarriers of every packet and antenna pair.

    Raises:
        ValueError: wrong rank, non-finite values (repair them first with
            :func:`repair_nonfinite`) or bad kernel sizes.
    """
    phi = np.asarray(phase, dtype=np.float64)
    if phi.ndim != 4:
        raise ValueError(f"sanitize_phase expects (P, S, R, T) phase, got shape {phi.shape}")
    if not np.all(np.isfinite(phi)):
        raise ValueError("sanitize_phase needs finite phase; apply repair_nonfinite first")
    mk = _kernel(median_kernel, "median_kernel")
    uk = _kernel(uniform_kernel, "uniform_kernel")
    phi = np.unwrap(phi, axis=1)
    if detrend_first:
        phi = remove_linear_phase(phi)
    phi = _filter_time_freq(phi, mk, median=True)
    phi = _filter_time_freq(phi, uk, median=False)
    return remove_linear_phase(phi).astype(np.float32)


# -- non-finite repair --------------------------------------------------------------------
def _interp_rows(x: np.ndarray, bad: np.ndarray) -> None:
    """In place: fill bad entries of each row of 2-D ``x`` by linear interpolation along the row.

    Rows with no good entry are left as they are (still marked in ``bad``); beyond the
    first/last good entry the nearest good value is held.
    """
    idx = np.arange(x.shape[1], dtype=np.float64)
    for r in np.flatnonzero(bad.any(axis=1)):
        good = ~bad[r]
        if not good.any():
            continue
        x[r, bad[r]] = np.interp(idx[bad[r]], idx[good], x[r, good])
        bad[r] = False


def _fill(x: np.ndarray, bad: np.ndarray) -> np.ndarray:
    """Fill ``bad`` entries of a (P, S, R, T) float64 array: over subcarriers, then time, then 0."""
    p, s, r, t = x.shape
    xs = np.ascontiguousarray(np.moveaxis(x, 1, -1)).reshape(-1, s)
    bs = np.ascontiguousarray(np.moveaxis(bad, 1, -1)).reshape(-1, s)
    _interp_rows(xs, bs)
    x = np.moveaxis(xs.reshape(p, r, t, s), -1, 1)
    bad = np.moveaxis(bs.reshape(p, r, t, s), -1, 1)
    if bad.any():
        xt = np.ascontiguousarray(np.moveaxis(x, 0, -1)).reshape(-1, p)
        bt = np.ascontiguousarray(np.moveaxis(bad, 0, -1)).reshape(-1, p)
        _interp_rows(xt, bt)
        xt[bt] = 0.0
        x = np.moveaxis(xt.reshape(s, r, t, p), -1, 0)
    return np.ascontiguousarray(x)


def repair_nonfinite(values: np.ndarray, *, circular: bool = False) -> tuple[np.ndarray, int]:
    """Replace NaN/+-inf in a (P, S, R, T) array; return (float32 repaired copy, number replaced).

    Each non-finite value is linearly interpolated over the subcarriers of its packet and
    antenna pair; where a whole packet/pair is non-finite, over time at that subcarrier;
    where nothing finite remains, it becomes 0. ``circular=True`` (phase) interpolates the
    unit vector (cos, sin) and takes its angle, so values on either side of the +-pi wrap
    are bridged correctly.
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 4:
        raise ValueError(f"repair_nonfinite expects (P, S, R, T), got shape {x.shape}")
    bad = ~np.isfinite(x)
    count = int(np.count_nonzero(bad))
    if count == 0:
        return x.astype(np.float32), 0
    if circular:
        c = _fill(np.where(bad, 0.0, np.cos(np.where(bad, 0.0, x))), bad.copy())
        s = _fill(np.where(bad, 0.0, np.sin(np.where(bad, 0.0, x))), bad.copy())
        out = np.where(bad, np.arctan2(s, c), x)
    else:
        out = _fill(np.where(bad, 0.0, x), bad.copy())
    return out.astype(np.float32), count


# -- normalisation statistics -------------------------------------------------------------
@dataclass(frozen=True)
class CsiStats:
    """Mean/std of amplitude and sanitized phase over a set of model inputs.

    The model normalises its (2, P*S, R, T) input as ``(x[0] - amp_mean) / amp_std`` and
    ``(x[1] - phase_mean) / phase_std``; these values go into ``INPUT.CSI.AMP_MEAN`` etc.
    and are saved beside the training output (:meth:`save`). Zero-filled antenna pairs
    count like any other value. Stds are at least :data:`MIN_STD`.
    """

    amp_mean: float
    amp_std: float
    phase_mean: float
    phase_std: float
    num_samples: int
    num_values: int

    def to_cfg_dict(self) -> dict[str, float]:
        """``{"INPUT.CSI.AMP_MEAN": ..., "INPUT.CSI.AMP_STD": ..., "INPUT.CSI.PHASE_MEAN": ..., "INPUT.CSI.PHASE_STD": ...}``."""
        return {
            "INPUT.CSI.AMP_MEAN": self.amp_mean,
            "INPUT.CSI.AMP_STD": self.amp_std,
            "INPUT.CSI.PHASE_MEAN": self.phase_mean,
            "INPUT.CSI.PHASE_STD": self.phase_std,
        }

    def apply_to_cfg(self, cfg: Any) -> None:
        """Write the four values into an unfrozen config's ``INPUT.CSI`` node."""
        for key, value in self.to_cfg_dict().items():
            setattr(cfg.INPUT.CSI, key.rsplit(".", 1)[1], float(value))

    def save(self, path: str | os.PathLike) -> Path:
        """Write as JSON (:func:`~app.backend.atomic_write.atomic_write_json`)."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        return atomic_write_json(out, {"format": STATS_FORMAT, **asdict(self)}, indent=1, ensure_ascii=True)

    @classmethod
    def load(cls, path: str | os.PathLike) -> CsiStats:
        """Read a file written by :meth:`save`; raises CsiFormatError naming the file if it is not one."""
        p = str(path)
        try:
            with open(p, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CsiFormatError(f"{p}: cannot read CSI statistics: {exc}") from exc
        if not isinstance(data, dict) or data.get("format") != STATS_FORMAT:
            raise CsiFormatError(f"{p}: not a CSI statistics file ({STATS_FORMAT})")
        try:
            stats = cls(
                amp_mean=float(data["amp_mean"]),
                amp_std=float(data["amp_std"]),
                phase_mean=float(data["phase_mean"]),
                phase_std=float(data["phase_std"]),
                num_samples=int(data["num_samples"]),
                num_values=int(data["num_values"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CsiFormatError(f"{p}: CSI statistics field missing or not a number: {exc}") from exc
        values = (stats.amp_mean, stats.amp_std, stats.phase_mean, stats.phase_std)
        if not all(math.isfinite(v) for v in values) or stats.amp_std <= 0 or stats.phase_std <= 0:
            raise CsiFormatError(f"{p}: CSI statistics must be finite with positive stds")
        return stats


def compute_csi_stats(inputs: Iterable[np.ndarray]) -> CsiStats:
    """Mean and std of channel 0 (amplitude) and channel 1 (sanitized phase) over model inputs.

    Args:
        inputs: model inputs, each float (2, P*S, R, T) (e.g. from
            :func:`app.backend.data.csi.window.csi_model_input`); consumed once, streaming
            (Chan's parallel mean/variance update in float64).

    Raises:
        DatasetError: no inputs. ValueError: a wrong shape or non-finite values.
    """
    n = 0
    mean = np.zeros(2)
    m2 = np.zeros(2)
    samples = 0
    for x in inputs:
        a = np.asarray(x, dtype=np.float64)
        if a.ndim < 2 or a.shape[0] != 2:
            raise ValueError(f"compute_csi_stats expects (2, P*S, R, T) inputs, got shape {a.shape}")
        if not np.all(np.isfinite(a)):
            raise ValueError("compute_csi_stats got non-finite values (inputs must pass the non-finite policy)")
        flat = a.reshape(2, -1)
        k = flat.shape[1]
        if k == 0:
            continue
        b_mean = flat.mean(axis=1)
        b_m2 = ((flat - b_mean[:, None]) ** 2).sum(axis=1)
        delta = b_mean - mean
        tot = n + k
        mean = mean + delta * (k / tot)
        m2 = m2 + b_m2 + delta**2 * (n * k / tot)
        n = tot
        samples += 1
    if samples == 0:
        raise DatasetError("no CSI samples to compute amplitude/phase statistics from")
    std = np.maximum(np.sqrt(m2 / n), MIN_STD)
    return CsiStats(
        amp_mean=float(mean[0]),
        amp_std=float(std[0]),
        phase_mean=float(mean[1]),
        phase_std=float(std[1]),
        num_samples=samples,
        num_values=n,
    )

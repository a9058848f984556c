"""Phase sanitization removes linear phase errors; repair and statistics behave."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.backend.data.csi import (
    CsiStats,
    compute_csi_stats,
    read_csi,
    remove_linear_phase,
    repair_nonfinite,
    sanitize_phase,
)
from app.backend.errors import CsiFormatError, DatasetError


def _wrap(x: np.ndarray) -> np.ndarray:
    return np.angle(np.exp(1j * x))


def _smooth_phase(rng: np.random.Generator, shape: tuple[int, int, int, int]) -> np.ndarray:
    """A multipath-like phase: smooth over subcarriers and time, plus jitter, unwrappable."""
    p, s, r, t = shape
    f = np.arange(s)[None, :, None, None]
    k = np.arange(p)[:, None, None, None]
    curve = 0.8 * np.sin(2 * np.pi * f / s * rng.uniform(0.5, 1.5) + rng.uniform(0, 6, (1, 1, r, t)))
    drift = 0.2 * np.sin(2 * np.pi * k / max(p, 2) + rng.uniform(0, 6, (1, 1, r, t)))
    return curve + drift + rng.normal(0, 0.03, shape)


def test_injected_slope_and_offset_are_removed_property() -> None:
    """Over many random cases: per-packet slope + offset (wrapped) leave the sanitized phase unchanged."""
    for seed in range(40):
        rng = np.random.default_rng(seed)
        shape = (
            int(rng.integers(1, 12)),
            int(rng.choice([30, 56, 114])),
            int(rng.integers(1, 4)),
            int(rng.integers(1, 4)),
        )
        base = _smooth_phase(rng, shape)
        p = shape[0]
        slope = rng.uniform(-1.2, 1.2, (p, 1, 1, 1))  # rad per subcarrier, per packet (timing offset)
        offset = rng.uniform(-np.pi, np.pi, (p, 1, 1, 1))  # per packet (carrier phase offset)
        f = np.arange(shape[1])[None, :, None, None]
        clean_in = _wrap(base)
        dirty_in = _wrap(base + slope * f + offset)
        assert np.abs(dirty_in - clean_in).max() > 0.5  # the injection is visible before sanitization
        mk = tuple(int(v) for v in rng.integers(1, 6, 2))
        uk = tuple(int(v) for v in rng.integers(1, 6, 2))
        clean = sanitize_phase(clean_in, mk, uk)
        dirty = sanitize_phase(dirty_in, mk, uk)
        assert clean.shape == shape and clean.dtype == np.float32
        np.testing.assert_allclose(dirty, clean, atol=2e-4, err_msg=f"seed {seed}")


def test_pure_linear_phase_sanitizes_to_zero_in_both_orders() -> None:
    rng = np.random.default_rng(7)
    f = np.arange(30)[None, :, None, None]
    for _ in range(10):
        phase = _wrap(rng.uniform(-1.5, 1.5) * f + rng.uniform(-3, 3))
        phase = np.broadcast_to(phase, (6, 30, 3, 3))
        for detrend_first in (True, False):
            out = sanitize_phase(phase, (3, 3), (5, 5), detrend_first=detrend_first)
            assert np.abs(out).max() < 1e-4


def test_output_has_zero_mean_and_equal_ends_and_filters_jitter() -> None:
    rng = np.random.default_rng(11)
    base = _smooth_phase(rng, (20, 30, 3, 2))
    noisy = base + rng.normal(0, 0.3, base.shape)
    out = sanitize_phase(_wrap(noisy))
    assert np.abs(out.mean(axis=1)).max() < 1e-5
    assert np.abs(out[:, 0] - out[:, -1]).max() < 1e-5
    unfiltered = sanitize_phase(_wrap(noisy), (1, 1), (1, 1))
    target = remove_linear_phase(remove_linear_phase(base))
    assert np.abs(out - target).mean() < np.abs(unfiltered - target).mean()


def test_paper_formula_normalisation_documented_choice() -> None:
    """Endpoint slope per subcarrier step and centred indices: residual is exactly zero for a line."""
    phi = (0.37 * np.arange(30) - 2.0)[None, :, None, None]
    assert np.abs(remove_linear_phase(phi)).max() < 1e-12
    # the paper's literal (phi_F - phi_1) / (2*pi*F) with f = 1..F would leave most of the slope
    a1_literal = (phi[0, -1] - phi[0, 0]) / (2 * np.pi * 30)
    assert abs(float(a1_literal.squeeze()) - 0.37) > 0.3


def test_sanitize_rejects_nonfinite_and_bad_kernels() -> None:
    phase = np.zeros((2, 30, 1, 1))
    phase[0, 3] = np.nan
    with pytest.raises(ValueError, match="finite"):
        sanitize_phase(phase)
    with pytest.raises(ValueError, match="kernel"):
        sanitize_phase(np.zeros((2, 30, 1, 1)), (0, 3))


def test_sanitize_real_intel_capture(intel_dat: Path) -> None:
    rec = read_csi(intel_dat)
    out = sanitize_phase(rec.phase)
    assert out.shape == rec.shape and np.all(np.isfinite(out))
    assert np.all(out[:, :, :, 2] == 0)  # zero-filled TX stays zero
    assert 0.01 < float(out[:, :, :, :2].std()) < float(np.unwrap(rec.phase, axis=1).std())


def test_repair_nonfinite_interpolates_over_subcarriers_then_time() -> None:
    x = np.tile(np.arange(10, dtype=np.float64)[None, :, None, None], (4, 1, 1, 1))
    x[1, 4] = np.nan
    x[2, :] = -np.inf  # a whole packet: filled over time from packets 1 and 3
    x[0, 0] = np.inf  # edge: nearest finite value
    out, count = repair_nonfinite(x)
    assert count == 1 + 10 + 1
    assert out[1, 4, 0, 0] == pytest.approx(4.0)
    assert np.allclose(out[2, :, 0, 0], np.arange(10))
    assert out[0, 0, 0, 0] == pytest.approx(1.0)
    all_bad, n = repair_nonfinite(np.full((2, 3, 1, 1), np.nan))
    assert n == 6 and np.all(all_bad == 0)


def test_repair_phase_bridges_the_wrap() -> None:
    x = np.array([3.0, np.nan, -3.0])[None, :, None, None]
    out, _ = repair_nonfinite(x, circular=True)
    assert abs(abs(float(out[0, 1, 0, 0])) - np.pi) < 0.01  # across +-pi, not through 0


def test_stats_match_numpy_and_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    inputs = [np.stack([rng.normal(20, 4, (150, 3, 3)), rng.normal(0, 0.5, (150, 3, 3))]) for _ in range(7)]
    stats = compute_csi_stats(iter(inputs))
    all_ = np.stack(inputs)
    assert stats.amp_mean == pytest.approx(all_[:, 0].mean()) and stats.amp_std == pytest.approx(all_[:, 0].std())
    assert stats.phase_mean == pytest.approx(all_[:, 1].mean()) and stats.phase_std == pytest.approx(all_[:, 1].std())
    assert stats.num_samples == 7 and stats.num_values == 7 * 150 * 9
    path = stats.save(tmp_path / "csi_stats.json")
    assert CsiStats.load(path) == stats
    assert stats.to_cfg_dict()["INPUT.CSI.AMP_STD"] == stats.amp_std


def test_stats_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError):
        compute_csi_stats([])
    with pytest.raises(ValueError, match="non-finite"):
        compute_csi_stats([np.full((2, 4, 1, 1), np.nan)])
    bad = tmp_path / "s.json"
    bad.write_text('{"format": "wifi-densepose-csi-stats/1", "amp_mean": 1}')
    with pytest.raises(CsiFormatError, match="s.json"):
        CsiStats.load(bad)
    bad.write_text("not json")
    with pytest.raises(CsiFormatError):
        CsiStats.load(bad)

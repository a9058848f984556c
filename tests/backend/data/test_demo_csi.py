"""The demo's simulated CSI: sanitization removes the hardware phase terms, and people are recoverable from it."""

from __future__ import annotations

import numpy as np

from app.backend.config import get_cfg
from app.backend.data import demo_body as body
from app.backend.data import demo_csi_sim as sim
from app.backend.data.csi import CsiRecording, csi_model_input
from app.backend.data.demo import IMAGE_HEIGHT, IMAGE_WIDTH, _sample_people


def _scene(seed: int) -> tuple[list, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    people = _sample_people(rng)
    parts = [body.body_parts(p) for p in people]
    pos, gain = sim.scene_scatterers(parts, (IMAGE_HEIGHT, IMAGE_WIDTH))
    return parts, pos, gain


def _model_input(amp: np.ndarray, phase: np.ndarray, ts: np.ndarray) -> np.ndarray:
    rec = CsiRecording(amplitude=amp, phase=phase, timestamps=ts, source_format="npz")
    return csi_model_input(rec, get_cfg())


def test_sanitized_phase_ignores_per_packet_offsets_and_slopes() -> None:
    _, pos, gain = _scene(0)
    a = _model_input(*sim.simulate_csi(pos, gain, np.random.default_rng(1)))
    b = _model_input(*sim.simulate_csi(pos, gain, np.random.default_rng(2)))
    assert a.shape == (2, 150, 3, 3)
    # different random offsets/slopes/noise, same scene: sanitized phase nearly equal
    assert np.abs(a[1] - b[1]).mean() < 0.25 * np.abs(a[1]).mean() + 0.02
    # while the raw phase differs wildly
    ra = sim.simulate_csi(pos, gain, np.random.default_rng(1))[1]
    rb = sim.simulate_csi(pos, gain, np.random.default_rng(2))[1]
    assert np.abs(np.angle(np.exp(1j * (ra - rb)))).mean() > 1.0


def test_person_layout_is_recoverable_from_csi() -> None:
    """A linear map learned on 240 scenes predicts the 4x4 occupancy of 60 unseen scenes."""
    feats, occ = [], []
    for seed in range(300):
        parts, pos, gain = _scene(seed)
        x = _model_input(*sim.simulate_csi(pos, gain, np.random.default_rng(10_000 + seed)))
        feats.append(x.ravel())
        grid = np.zeros((4, 4))
        for pp in parts:
            x0, y0, x1, y1 = body.person_bounds(pp)
            gx = np.clip(np.array([x0, x1]) / IMAGE_WIDTH * 4, 0, 4)
            gy = np.clip(np.array([y0, y1]) / IMAGE_HEIGHT * 4, 0, 4)
            for r in range(4):
                for c in range(4):
                    grid[r, c] += max(0, min(gx[1], c + 1) - max(gx[0], c)) * max(0, min(gy[1], r + 1) - max(gy[0], r))
        occ.append(grid.ravel())
    x, y = np.array(feats), np.array(occ)
    mu, sd = x[:240].mean(0), x[:240].std(0) + 1e-6
    a, b = (x[:240] - mu) / sd, (x[240:] - mu) / sd
    w = np.linalg.solve(a.T @ a + 100 * np.eye(a.shape[1]), a.T @ (y[:240] - y[:240].mean(0)))
    pred = b @ w + y[:240].mean(0)
    r2 = 1 - ((pred - y[240:]) ** 2).sum(0) / ((y[240:] - y[240:].mean(0)) ** 2).sum(0)
    assert r2.mean() > 0.5, r2

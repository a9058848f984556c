"""The demo's simulated CSI: sanitization removes the hardware phase terms, and people are recoverable from it."""

from __future__ import annotations

import numpy as np
import pytest

from app.backend.config import get_cfg
from app.backend.data import demo_body as body
from app.backend.data import demo_csi_sim as sim
from app.backend.data.csi import CsiRecording, csi_model_input
from app.backend.data.demo import IMAGE_HEIGHT, IMAGE_WIDTH, _sample_people


def _scene(seed: int) -> tuple[list, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    people = _sample_people(rng)
    parts = [body.body_parts(p) for p in people]
    pos, gain = sim.scene_scatterers(parts, (IMAGE_HEIGHT, IMAGE_WIDTH), [p.facing for p in people])
    return parts, pos, gain


def _one_person(seed: int, facing: int | None = None) -> tuple[np.ndarray, int]:
    """Model input of a one-person scene (the person's facing replaced when given) and its facing."""
    person = _sample_people(np.random.default_rng(seed))[0]
    f = person.facing if facing is None else facing
    pos, gain = sim.scene_scatterers([body.body_parts(person)], (IMAGE_HEIGHT, IMAGE_WIDTH), [f])
    return _model_input(*sim.simulate_csi(pos, gain, np.random.default_rng(seed + 1))), f


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


def test_turning_around_changes_the_csi_beyond_noise() -> None:
    """The same silhouette facing the camera or turned away gives other CSI (FRONT_DEPTH)."""
    for seed in range(5):
        front, _ = _one_person(seed, facing=1)
        back, _ = _one_person(seed, facing=-1)
        again, _ = _one_person(seed, facing=1)
        noise = np.abs(front - again).mean()
        assert np.abs(front - back).mean() > 3 * noise, seed


def test_facing_is_recoverable_from_csi() -> None:
    """Without the front/back asymmetry the CSI of a person turned away equals a mirrored person's
    facing the camera, and every left/right and front/back label of the people turned away would be
    unlearnable; a linear map on 240 one-person scenes tells the facing of 80 unseen ones."""
    rows = [_one_person(seed) for seed in range(320)]
    x = np.array([r[0].ravel() for r in rows])
    y = np.array([r[1] for r in rows], dtype=np.float64)
    assert 0 < (y[:240] < 0).sum() < 240, "both facings must occur"
    mu, sd = x[:240].mean(0), x[:240].std(0) + 1e-6
    a, b = (x[:240] - mu) / sd, (x[240:] - mu) / sd
    w = np.linalg.solve(a.T @ a + 100 * np.eye(a.shape[1]), a.T @ (y[:240] - y[:240].mean(0)))
    acc = np.mean(np.sign(b @ w + y[:240].mean(0)) == y[240:])
    commoner = max(np.mean(y[240:] == 1), np.mean(y[240:] == -1))
    assert acc >= 0.9 and acc > commoner + 0.1, (acc, commoner)


def test_scene_scatterers_needs_one_facing_per_person() -> None:
    person = _sample_people(np.random.default_rng(0))[0]
    with pytest.raises(ValueError, match="facings"):
        sim.scene_scatterers([body.body_parts(person)], (IMAGE_HEIGHT, IMAGE_WIDTH), [])

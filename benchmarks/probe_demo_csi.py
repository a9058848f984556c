"""How much of the demo scene does the simulated CSI carry? A linear probe, no deep learning.

Generates demo frames in memory (people, IUV rendering, simulated CSI exactly as
:mod:`app.backend.data.demo` does), turns each CSI into the model input the network sees
(amplitude + sanitized phase, :func:`csi_model_input`), and fits a ridge regression from
those features to coarse body-part maps on a 32x24 grid (10x10-pixel cells of the 320x240
frame). On held-out frames it prints:

- ``occupancy R2``: how well the person-covered fraction of each cell is recovered;
- ``part acc``: over cells more than half covered by a body, % whose strongest predicted
  coarse part (14 classes) is the true majority part (chance ~ 1/14);
- ``facing acc``: over held-out frames with one person, % whose facing (towards the camera or
  turned away) a ridge classifier on the same features gets right, against always guessing
  the commoner facing;
- the same two for a probe fed by the 32x24 part maps themselves blurred (what a perfect
  but blurry translation gives; a reference, not a bound).

Usage: ``.venv/bin/python benchmarks/probe_demo_csi.py [--train 1200] [--val 300]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.backend.data import demo
from app.backend.data import demo_csi_sim as sim
from app.backend.data.csi import CsiRecording
from app.backend.data.csi.window import CsiInputParams, csi_model_input
from app.backend.structures.body import FINE_TO_COARSE

GRID_W, GRID_H = 32, 24
_F2C = np.array(FINE_TO_COARSE, dtype=np.int64)
_PARAMS = CsiInputParams()


def _frame(seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(features float64 (F,), part fractions float64 (15, GRID_H, GRID_W), facing) of one frame.

    ``facing`` is the person's +1/-1 in one-person frames and 0 otherwise.
    """
    rng = np.random.default_rng(seed)
    people = demo._sample_people(rng)
    frame = demo.render_frame(people, rng)
    pos, gain = sim.scene_scatterers(frame["parts"], (demo.IMAGE_HEIGHT, demo.IMAGE_WIDTH), [p.facing for p in people])
    amp, phase, ts = sim.simulate_csi(pos, gain, rng)
    rec = CsiRecording(amp, phase, ts, "npz")
    x = csi_model_input(rec, _PARAMS).astype(np.float64)  # (2, P*S, R, T)
    p = sim.NUM_PACKETS
    x = x.reshape(2, p, -1).mean(axis=1).ravel()  # packets carry the same scene: average them
    coarse = _F2C[frame["I"]]
    onehot = (coarse[None] == np.arange(15)[:, None, None]).astype(np.float32)
    frac = np.stack([cv2.resize(m, (GRID_W, GRID_H), interpolation=cv2.INTER_AREA) for m in onehot])
    return x, frac.astype(np.float64), people[0].facing if len(people) == 1 else 0


def _ridge(xtr: np.ndarray, ytr: np.ndarray, alpha: float) -> np.ndarray:
    a = xtr.T @ xtr + alpha * np.eye(xtr.shape[1])
    return np.linalg.solve(a, xtr.T @ ytr)


def _scores(pred: np.ndarray, frac: np.ndarray) -> tuple[float, float]:
    """(occupancy R2, part accuracy %) of predicted (N, 15, h, w) part fractions."""
    occ_t, occ_p = 1.0 - frac[:, 0], 1.0 - pred[:, 0]
    r2 = 1.0 - ((occ_p - occ_t) ** 2).sum() / ((occ_t - occ_t.mean()) ** 2).sum()
    body = occ_t > 0.5
    true_part = frac[:, 1:].argmax(axis=1)
    pred_part = pred[:, 1:].argmax(axis=1)
    acc = 100.0 * (true_part[body] == pred_part[body]).mean()
    return float(r2), float(acc)


def _probe(xtr, ytr, xva, yva, shape) -> tuple[float, float, float]:
    mu, sd = xtr.mean(0), xtr.std(0) + 1e-9
    xtr, xva = (xtr - mu) / sd, (xva - mu) / sd
    xtr = np.hstack([xtr, np.ones((len(xtr), 1))])
    xva = np.hstack([xva, np.ones((len(xva), 1))])
    best = (-np.inf, 0.0, 0.0)
    for alpha in (1e-1, 1.0, 10.0, 100.0, 1000.0):
        w = _ridge(xtr, ytr, alpha)
        r2, acc = _scores((xva @ w).reshape((-1, *shape)), yva.reshape((-1, *shape)))
        if r2 > best[0]:
            best = (r2, acc, alpha)
    return best


def _mlp_probe(xtr, ytr, xva, yva, shape, epochs: int = 300) -> tuple[float, float]:
    """A 2-layer MLP (1024 hidden units) trained with Adam on soft part fractions (cross-entropy per cell)."""
    import torch

    torch.manual_seed(0)
    mu, sd = xtr.mean(0), xtr.std(0) + 1e-9
    xt = torch.tensor((xtr - mu) / sd, dtype=torch.float32)
    xv = torch.tensor((xva - mu) / sd, dtype=torch.float32)
    c = shape[0]
    yt = torch.tensor(ytr, dtype=torch.float32).view(len(ytr), c, -1)
    net = torch.nn.Sequential(
        torch.nn.Linear(xt.shape[1], 1024), torch.nn.ReLU(), torch.nn.Dropout(0.2), torch.nn.Linear(1024, ytr.shape[1])
    )
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=1e-4)
    for _ in range(epochs):
        for idx in torch.randperm(len(xt)).split(64):
            logits = net(xt[idx]).view(len(idx), c, -1)
            loss = -(yt[idx] * torch.log_softmax(logits, 1)).sum(1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        pred = torch.softmax(net(xv).view(len(xv), c, -1), 1).numpy()
    return _scores(pred.reshape((-1, *shape)), yva.reshape((-1, *shape)))


def _facing_probe(xtr, ftr, xva, fva) -> tuple[float, float]:
    """(best val accuracy, its ridge alpha) of sign(ridge regression) predicting facing +1/-1."""
    mu, sd = xtr.mean(0), xtr.std(0) + 1e-9
    a, b, m = (xtr - mu) / sd, (xva - mu) / sd, ftr.mean()
    accs = {
        alpha: float(np.mean(np.sign(b @ _ridge(a, ftr - m, alpha) + m) == fva)) for alpha in (1.0, 10.0, 100.0, 1000.0)
    }
    best = max(accs, key=accs.get)
    return accs[best], best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=1200)
    ap.add_argument("--val", type=int, default=300)
    ap.add_argument("--mlp", type=int, default=0, help="also train a small MLP probe for this many epochs")
    ap.add_argument("--kernel", type=int, default=3, help="phase sanitization median/uniform kernel (1 = off)")
    ap.add_argument(
        "--set", nargs="*", default=[], metavar="NAME=VALUE", help="override a simulator constant (number or JSON list)"
    )
    args = ap.parse_args()
    for item in args.set:
        name, value = item.split("=", 1)
        setattr(sim, name, np.asarray(json.loads(value)) if value.startswith("[") else json.loads(value))
    global _PARAMS
    _PARAMS = CsiInputParams(median_kernel=(args.kernel, args.kernel), uniform_kernel=(args.kernel, args.kernel))
    t0 = time.perf_counter()
    rows = [_frame(10_000 + i) for i in range(args.train + args.val)]
    x = np.stack([r[0] for r in rows])
    y = np.stack([r[1] for r in rows])
    shape = y.shape[1:]
    y = y.reshape(len(y), -1)
    n = args.train
    print(f"{len(rows)} frames in {time.perf_counter() - t0:.1f} s; {x.shape[1]} CSI features")
    r2, acc, alpha = _probe(x[:n], y[:n], x[n:], y[n:], shape)
    print(f"CSI probe:     occupancy R2 {r2:.3f}, part acc {acc:.1f} % (ridge alpha {alpha:g})")
    if args.mlp:
        r2m, accm = _mlp_probe(x[:n], y[:n], x[n:], y[n:], shape, args.mlp)
        print(f"MLP probe:     occupancy R2 {r2m:.3f}, part acc {accm:.1f} % ({args.mlp} epochs)")
    face = np.array([r[2] for r in rows])
    tr, va = np.flatnonzero(face[:n] != 0), n + np.flatnonzero(face[n:] != 0)
    if len(tr) and len(va):
        acc, alpha = _facing_probe(x[tr], face[tr], x[va], face[va])
        major = max(np.mean(face[va] == 1), np.mean(face[va] == -1))
        print(
            f"facing acc:    {100 * acc:.1f} % on {len(va)} one-person frames (ridge alpha {alpha:g}); "
            f"commoner facing alone {100 * major:.1f} %"
        )
    chance = (
        100.0
        * np.bincount(y.reshape(-1, *shape)[n:, 1:].argmax(1)[y.reshape(-1, *shape)[n:, 0] < 0.5]).max()
        / (y.reshape(-1, *shape)[n:, 0] < 0.5).sum()
    )
    print(f"majority part alone: {chance:.1f} %")


if __name__ == "__main__":
    main()

"""Simulated WiFi CSI of a synthetic scene: a small multipath model with people as scatterers.

Geometry: the image plane is the sensing plane, scaled to ROOM_SIZE metres (x right, y down,
z towards the camera). Three TX and three RX antennas stand around it (:data:`TX_POS`,
:data:`RX_POS`), ANTENNA_Z metres out of the plane on the camera's side. Each body part
contributes SCATTERERS_PER_PART point scatterers along its axis, with a reflectivity
proportional to the part's area (bigger, closer people reflect more). Bodies are not
symmetric front to back: the chest, the face, the hands and the toes lie in front of the
body's midplane. The scatterers of each part therefore sit FRONT_DEPTH[chart] metres out of the
image plane on the side the person faces (towards the camera when the person faces it, away
from it when turned away). Without this the CSI could not tell a person facing the camera
from the same silhouette turned away, and every left/right and front/back label of the
people turned away (30 %) would be unlearnable. The channel of subcarrier s between TX t and
RX r is

    H[s, r, t] = sum over paths p of  g_p * exp(-j * 2 * pi * L_p / lambda_s)

with the line-of-sight path, two static wall reflections and one path TX -> scatterer -> RX
per scatterer (L_p = path length). The wavelengths are scaled (:data:`WAVELENGTHS`, 3.0 m
down to 0.8 m across the 30 subcarriers) so that the scene spans a few wavelengths: each
(subcarrier, antenna pair) then responds smoothly, and differently, to where the people are,
which is what lets the demo learn from CSI on a CPU. On top come per-packet hardware effects
that phase sanitization removes (a random phase offset per packet and RX chain and a random
linear phase slope over subcarriers per packet), a common gain jitter per packet, small body
motion between packets and complex Gaussian noise.
"""

from __future__ import annotations

import numpy as np

from app.backend.data.demo_body import Part

NUM_PACKETS, NUM_SUBCARRIERS, NUM_RX, NUM_TX = 5, 30, 3, 3
PACKET_INTERVAL_S = 0.01
ROOM_SIZE = (4.0, 3.0)  # metres spanned by the image width and height
TX_POS = np.array([[-0.6, -0.4], [1.6, -0.8], [-0.8, 1.9]])
RX_POS = np.array([[4.6, 3.4], [2.3, 3.9], [4.8, 0.9]])
WAVELENGTHS = 1.0 / np.linspace(1.0 / 3.0, 1.0 / 0.8, NUM_SUBCARRIERS)
SCATTERERS_PER_PART = 3
AMPLITUDE_SCALE = 25.0
ANTENNA_Z = 1.5  # metres between the antennas and the image plane, on the camera's side
#: metres in front of the body's midplane (towards where the person faces) per part chart
FRONT_DEPTH = {"torso": 0.10, "head": 0.06, "end": 0.12, "limb": 0.03}
BODY_GAIN = 0.6  # total reflectivity of a person of full frame height, relative to line of sight
_FULL_BODY_AREA = 0.34  # summed capsule area of a person divided by height**2
NOISE_STD = 0.01
_WALLS = ((np.array([2.0, -1.5]), 0.35), (np.array([5.5, 1.5]), 0.25))  # (mirror point, gain)


def scene_scatterers(
    people_parts: list[list[Part]], image_size: tuple[int, int], facings: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Scatterer positions (N, 3) in metres and reflectivities (N,) for all people of a frame.

    Args:
        people_parts: body parts of each person (image pixel coordinates).
        image_size: (height, width) of the frame in pixels.
        facings: per person, +1 facing the camera, -1 turned away (``Person.facing``).
    """
    if len(facings) != len(people_parts):
        raise ValueError(f"{len(facings)} facings for {len(people_parts)} people")
    h, w = image_size
    scale = np.array([ROOM_SIZE[0] / w, ROOM_SIZE[1] / h])
    pos, gain = [], []
    t = (np.arange(SCATTERERS_PER_PART) + 0.5) / SCATTERERS_PER_PART
    for parts, facing in zip(people_parts, facings):
        for pt in parts:
            pts = pt.a[None, :] + t[:, None] * (pt.b - pt.a)[None, :]
            area = (float(np.hypot(*(pt.b - pt.a))) + 2 * pt.r) * 2 * pt.r
            z = np.full((SCATTERERS_PER_PART, 1), FRONT_DEPTH[pt.chart] * float(np.sign(facing)))
            pos.append(np.concatenate([pts * scale, z], axis=1))
            gain.append(np.full(SCATTERERS_PER_PART, area / SCATTERERS_PER_PART))
    if not pos:
        return np.zeros((0, 3)), np.zeros((0,))
    gain_arr = np.concatenate(gain) / (h * h * _FULL_BODY_AREA) * BODY_GAIN
    return np.concatenate(pos), gain_arr


def simulate_csi(
    scatter_pos: np.ndarray, scatter_gain: np.ndarray, rng: np.random.Generator, t0: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSI of one frame: (amplitude, raw wrapped phase, timestamps).

    Args:
        scatter_pos: float (N, 3) scatterer positions in metres (x, y in the image plane,
            z towards the camera; the antennas stand at z = ANTENNA_Z).
        scatter_gain: float (N,) reflectivities.
        rng: source of per-packet offsets, motion and noise.
        t0: time of the first packet in seconds.

    Returns:
        amplitude float32 (P, S, R, T), phase float32 (P, S, R, T) in [-pi, pi),
        timestamps float64 (P,) with P = 5, S = 30, R = T = 3.
    """
    k = 2 * np.pi / WAVELENGTHS  # (S,)
    d_los = np.linalg.norm(RX_POS[:, None, :] - TX_POS[None, :, :], axis=-1)  # (R, T)
    static = np.exp(-1j * k[:, None, None] * d_los[None]) * 1.0
    for mirror, g in _WALLS:
        length = np.linalg.norm(mirror - TX_POS, axis=-1)[None, :] + np.linalg.norm(mirror - RX_POS, axis=-1)[:, None]
        static = static + g * np.exp(-1j * k[:, None, None] * length[None])
    n = len(scatter_gain)
    motion = rng.normal(0.0, 0.01, size=(NUM_PACKETS, n, 3))
    pos = np.asarray(scatter_pos, dtype=np.float64).reshape(n, 3)[None] + motion  # (P, N, 3)
    tx = np.concatenate([TX_POS, np.full((NUM_TX, 1), ANTENNA_Z)], axis=1)
    rx = np.concatenate([RX_POS, np.full((NUM_RX, 1), ANTENNA_Z)], axis=1)
    d_tx = np.linalg.norm(pos[:, :, None, :] - tx[None, None], axis=-1)  # (P, N, T)
    d_rx = np.linalg.norm(pos[:, :, None, :] - rx[None, None], axis=-1)  # (P, N, R)
    length = d_rx[:, :, :, None] + d_tx[:, :, None, :]  # (P, N, R, T)
    phase = -k[None, None, :, None, None] * length[:, :, None]  # (P, N, S, R, T)
    body = np.einsum("n,pnsrt->psrt", scatter_gain, np.exp(1j * phase)) if n else 0.0
    h = static[None] + body  # (P, S, R, T)
    h = h * rng.uniform(0.97, 1.03, size=(NUM_PACKETS, 1, 1, 1))
    h = h + NOISE_STD * (rng.normal(size=h.shape) + 1j * rng.normal(size=h.shape))
    offset = rng.uniform(-np.pi, np.pi, size=(NUM_PACKETS, 1, NUM_RX, 1))
    slope = rng.uniform(-0.6, 0.6, size=(NUM_PACKETS, 1, 1, 1))
    sub = np.arange(NUM_SUBCARRIERS, dtype=np.float64)[None, :, None, None]
    h = h * np.exp(1j * (offset + slope * sub))
    amplitude = (np.abs(h) * AMPLITUDE_SCALE).astype(np.float32)
    raw_phase = np.angle(h).astype(np.float32)
    timestamps = t0 + PACKET_INTERVAL_S * np.arange(NUM_PACKETS, dtype=np.float64)
    return amplitude, raw_phase, timestamps

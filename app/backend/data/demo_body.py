"""Articulated 2D people for the synthetic demo: pose sampling, body parts and IUV rendering.

A person is 17 COCO keypoints (continuous image coordinates, x right, y down) plus a few
attributes. Body parts are capsules (segment a->b with radius r) derived from the keypoints
alone, so a mirrored person (x -> W - x, left/right keypoints swapped, same facing) is again a
valid person. Each pixel is given to the covering part of highest rank (torso < legs < feet <
arms < hands < head); parts of equal rank (a left/right pair) go to the nearer axis.

DensePose charts (designed to be mirror-symmetric; see :data:`MIRROR_RULE`):
- U runs along the capsule axis from a (proximal) to b (distal): U = (s + r) / (L + 2r),
  s = projection on the axis, L = |b - a|.
- d = signed distance from the axis, positive on the side of rot90(b - a) = (-dy, dx).
  Each part has a handedness sign sigma = h * facing (h = +1 for the person's right, -1 for the
  left; the head uses -facing). Limbs: front part where d * sigma > 0, else back, V = |d| / r.
  Head: head_right where d * sigma > 0, else head_left, V = |d| / r. Torso: torso_front when the
  person faces the camera else torso_back, V = |d| / r. Hands and feet: V = 0.5 + 0.5 sigma d / r.
Mirroring negates d and h, so d * sigma is unchanged: a mirrored point keeps U and V and its
part becomes PART_FLIP[part].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.backend.structures.body import KEYPOINT_FLIP_MAP, KEYPOINT_NAMES

MIRROR_RULE = (
    "Horizontal flip with 'mirror_charts': a DensePose point (x, y, I, U, V) becomes "
    "(mirrored x in the flipped box, y, PART_FLIP[I], U, V); the coarse mask is mirrored with "
    "left/right labels swapped. Exact when the chart of part PART_FLIP[i] is the mirror image of "
    "the chart of part i, as for the synthetic demo (U along the limb, V from the axis measured "
    "with a handedness that mirrors with the part)."
)

KP = {name: k for k, name in enumerate(KEYPOINT_NAMES)}
_FLIP_INDEX = list(range(len(KEYPOINT_NAMES)))
for _a, _b in KEYPOINT_FLIP_MAP:
    _FLIP_INDEX[KP[_a]], _FLIP_INDEX[KP[_b]] = KP[_b], KP[_a]

# Part kinds: (name, fine labels (first, second), rank, chart).
# Limbs: (front, back); head: (right, left); torso: (front, back by facing); hands/feet: (label, label).
_R, _L = +1, -1


@dataclass
class Part:
    """One capsule: endpoints a, b (x, y), radius r, fine labels, rank, chart kind and handedness."""

    a: np.ndarray
    b: np.ndarray
    r: float
    labels: tuple[int, int]
    rank: int
    chart: str  # 'limb' | 'head' | 'torso' | 'end'
    sigma: int
    coarse_name: str


@dataclass
class Person:
    """A synthetic person.

    Attributes:
        kp: float64 (17, 2) keypoints, continuous image coordinates.
        height: person height in pixels (sets limb radii).
        build: width factor (~0.85..1.2).
        facing: +1 faces the camera (torso_front), -1 turned away (torso_back).
        depth: larger = closer to the camera (drawn later, occludes).
        colours: float32 (6, 3) BGR 0..255: shirt, trousers, skin, shoes, hair, sleeves.
    """

    kp: np.ndarray
    height: float
    build: float
    facing: int
    depth: float
    colours: np.ndarray

    def mirrored(self, width: int) -> Person:
        """The mirror image in an image of the given width (left/right keypoints swapped)."""
        kp = self.kp.copy()
        kp[:, 0] = width - kp[:, 0]
        return Person(kp[_FLIP_INDEX], self.height, self.build, self.facing, self.depth, self.colours)


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.hypot(v[0], v[1]))
    return v / n if n > 1e-9 else np.array([0.0, 1.0])


def body_parts(p: Person) -> list[Part]:
    """The 16 capsules of a person, derived from its keypoints only."""
    kp, s, b, f = p.kp, p.height, p.build, p.facing
    neck = 0.5 * (kp[KP["left_shoulder"]] + kp[KP["right_shoulder"]])
    pelvis = 0.5 * (kp[KP["left_hip"]] + kp[KP["right_hip"]])
    head_c = 0.5 * (kp[KP["left_ear"]] + kp[KP["right_ear"]])
    head_r = 0.5 * float(np.linalg.norm(kp[KP["left_ear"]] - kp[KP["right_ear"]])) / 0.92
    up = _unit(head_c - neck)
    parts = [
        Part(pelvis, neck, 0.1 * b * s, (2, 1) if f > 0 else (1, 1), 0, "torso", 0, "torso"),
        Part(head_c - up * 0.25 * head_r, head_c + up * 0.25 * head_r, head_r, (23, 24), 7, "head", -f, "head"),
    ]
    for side, h in (("right", _R), ("left", _L)):
        sh, el, wr = (kp[KP[f"{side}_{j}"]] for j in ("shoulder", "elbow", "wrist"))
        hip, kn, an = (kp[KP[f"{side}_{j}"]] for j in ("hip", "knee", "ankle"))
        sig = h * f
        r = side == "right"
        parts += [
            Part(sh, el, 0.036 * b * s, (16, 18) if r else (15, 17), 4, "limb", sig, f"upper_arm_{side}"),
            Part(el, wr, 0.03 * b * s, (20, 22) if r else (19, 21), 5, "limb", sig, f"lower_arm_{side}"),
            Part(
                wr, wr + _unit(wr - el) * 0.045 * s, 0.028 * s, (3, 3) if r else (4, 4), 6, "end", sig, f"{side}_hand"
            ),
            Part(hip, kn, 0.052 * b * s, (9, 7) if r else (10, 8), 1, "limb", sig, f"upper_leg_{side}"),
            Part(kn, an, 0.042 * b * s, (13, 11) if r else (14, 12), 2, "limb", sig, f"lower_leg_{side}"),
            Part(an, an + _unit(an - kn) * 0.04 * s, 0.03 * s, (6, 6) if r else (5, 5), 3, "end", sig, f"{side}_foot"),
        ]
    return parts


def person_bounds(parts: list[Part]) -> tuple[float, float, float, float]:
    """Axis-aligned extent (x0, y0, x1, y1) of all capsules, unclipped."""
    pts = np.array([q for pt in parts for q in (pt.a, pt.b)])
    rs = np.array([pt.r for pt in parts for _ in (0, 1)])
    return (
        float((pts[:, 0] - rs).min()),
        float((pts[:, 1] - rs).min()),
        float((pts[:, 0] + rs).max()),
        float((pts[:, 1] + rs).max()),
    )


def render_person(parts: list[Part], xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fine part label, U and V on a pixel grid.

    Args:
        xs, ys: float arrays (h, w) of a regular grid (as from ``np.mgrid``; x varies along
            axis 1, y along axis 0), continuous image coordinates. Each part is evaluated only
            inside its own extent.

    Returns:
        (labels uint8 0..24 with 0 = not on the body, U float32, V float32), each (h, w).
    """
    shape = xs.shape
    best = np.full(shape, -np.inf, dtype=np.float64)
    which = np.full(shape, -1, dtype=np.int16)
    x_axis, y_axis = xs[0, :], ys[:, 0]
    evaluated = []
    for j, pt in enumerate(parts):
        lo = np.minimum(pt.a, pt.b) - pt.r
        hi = np.maximum(pt.a, pt.b) + pt.r
        c0, c1 = np.searchsorted(x_axis, [lo[0], hi[0]])
        r0, r1 = np.searchsorted(y_axis, [lo[1], hi[1]])
        if c1 <= c0 or r1 <= r0:
            evaluated.append(None)
            continue
        win = (slice(r0, r1), slice(c0, c1))
        axis = pt.b - pt.a
        length = float(np.hypot(*axis))
        u = axis / length if length > 1e-9 else np.array([0.0, 1.0])
        px, py = xs[win] - pt.a[0], ys[win] - pt.a[1]
        s = px * u[0] + py * u[1]
        d = px * -u[1] + py * u[0]
        dist = np.hypot(s - np.clip(s, 0.0, length), d)
        score = np.where(dist <= pt.r, pt.rank * 10.0 - dist / pt.r, -np.inf)
        bw = best[win]
        take = score > bw
        bw[take] = score[take]
        which[win][take] = j
        evaluated.append((win, (s + pt.r) / (length + 2 * pt.r), d / pt.r))
    labels = np.zeros(shape, dtype=np.uint8)
    uu = np.zeros(shape, dtype=np.float32)
    vv = np.zeros(shape, dtype=np.float32)
    for j, pt in enumerate(parts):
        if evaluated[j] is None:
            continue
        win, s_all, d_all = evaluated[j]
        m = which[win] == j
        if not m.any():
            continue
        s, d = s_all[m], d_all[m]
        uu[win][m] = np.clip(s, 0.0, 1.0)
        if pt.chart == "end":
            vv[win][m] = np.clip(0.5 + 0.5 * pt.sigma * d, 0.0, 1.0)
            labels[win][m] = pt.labels[0]
        else:
            vv[win][m] = np.clip(np.abs(d), 0.0, 1.0)
            labels[win][m] = (
                pt.labels[0] if pt.chart == "torso" else np.where(d * pt.sigma > 0, pt.labels[0], pt.labels[1])
            )
    return labels, uu, vv


def sample_person(rng: np.random.Generator, width: int, height: int) -> Person:
    """A random person standing in a width x height frame (bigger = closer = lower feet)."""
    depth = float(rng.uniform(0.0, 1.0))
    s = height * (0.42 + 0.4 * depth) * rng.uniform(0.92, 1.08)
    foot_y = height * (0.6 + 0.36 * depth) + rng.normal(0, 3)
    build = float(rng.uniform(0.85, 1.2))
    facing = 1 if rng.random() < 0.7 else -1
    rx = -facing  # x direction of the person's right side
    kp = np.zeros((17, 2))
    neck = np.array([0.0, -0.30 * s])
    sw, hw = 0.11 * build * s, 0.075 * build * s
    for side, sgn in (("right", rx), ("left", -rx)):
        sh = neck + np.array([sgn * sw, 0.01 * s])
        alpha = rng.uniform(0.15, 2.7)
        d1 = np.array([sgn * np.sin(alpha), np.cos(alpha)])
        el = sh + 0.17 * s * d1
        a2 = alpha + rng.uniform(-1.8, 1.0)
        wr = el + 0.15 * s * np.array([sgn * np.sin(a2), np.cos(a2)])
        hip = np.array([sgn * hw, 0.0])
        g = rng.uniform(-0.05, 0.45)
        kn = hip + 0.24 * s * np.array([sgn * np.sin(g), np.cos(g)])
        g2 = g + rng.uniform(-0.35, 0.15)
        an = kn + 0.23 * s * np.array([sgn * np.sin(g2), np.cos(g2)])
        for name, pt in (("shoulder", sh), ("elbow", el), ("wrist", wr), ("hip", hip), ("knee", kn), ("ankle", an)):
            kp[KP[f"{side}_{name}"]] = pt
    head_r = 0.065 * s
    eta = rng.normal(0.0, 0.15)
    rot_h = np.array([[np.cos(eta), -np.sin(eta)], [np.sin(eta), np.cos(eta)]])
    local = {
        "nose": (0.0, 0.2 * head_r),
        "right_eye": (rx * 0.35 * head_r, -0.15 * head_r),
        "left_eye": (-rx * 0.35 * head_r, -0.15 * head_r),
        "right_ear": (rx * 0.92 * head_r, 0.0),
        "left_ear": (-rx * 0.92 * head_r, 0.0),
    }
    centre_off = np.array([0.0, -(0.045 * s + head_r)])
    for name, off in local.items():
        kp[KP[name]] = neck + rot_h @ (centre_off + np.array(off))
    tilt = rng.normal(0.0, 0.08)
    rot = np.array([[np.cos(tilt), -np.sin(tilt)], [np.sin(tilt), np.cos(tilt)]])
    kp = kp @ rot.T
    kp[:, 1] += foot_y - (kp[[KP["left_ankle"], KP["right_ankle"]], 1].max() + 0.07 * s)
    kp[:, 0] += rng.uniform(0.06, 0.94) * width
    colours = rng.uniform(30, 230, size=(6, 3)).astype(np.float32)
    colours[2] = np.array([120, 150, 200], np.float32) * rng.uniform(0.6, 1.15)  # skin (BGR)
    colours[4] = colours[4] * 0.35  # hair is dark
    if rng.random() < 0.5:
        colours[5] = colours[0]  # long sleeves
    else:
        colours[5] = colours[2]
    return Person(kp, float(s), build, facing, depth, colours)


#: Colour slot (index into Person.colours) of each coarse part name prefix.
_COLOUR_SLOT = {
    "torso": 0,
    "upper_arm": 0,
    "lower_arm": 5,
    "upper_leg": 1,
    "lower_leg": 1,
    "hand": 2,
    "foot": 3,
    "head": 2,
}


def shade_person(
    parts: list[Part], colours: np.ndarray, labels: np.ndarray, u: np.ndarray, v: np.ndarray
) -> np.ndarray:
    """BGR float32 (..., 3) body colours from the IUV maps (depends only on mirror-invariant I pairs, U, V)."""
    table = np.zeros((25, 3), dtype=np.float32)
    for pt in parts:
        key = next(k for k in _COLOUR_SLOT if k in pt.coarse_name)
        for lab in pt.labels:
            table[lab] = colours[_COLOUR_SLOT[key]]
    table[1] *= 0.7  # torso_back
    out = table[labels]
    hair = ((labels == 23) | (labels == 24)) & (u > 0.62)
    out[hair] = colours[4]
    shade = (1.0 - 0.45 * v**2) * (0.92 + 0.08 * np.sin(u * 6 * np.pi))
    return out * shade[..., None]


#: What U and V of each fine part (1..24) mean in these charts: (U from 0 to 1, V from 0 to 1).
CHART_AXES: dict[int, tuple[str, str]] = {
    1: ("hips → neck", "middle line → side"),
    2: ("hips → neck", "middle line → side"),
    **dict.fromkeys((3, 4), ("wrist → fingertips", "one edge → the other")),
    **dict.fromkeys((5, 6), ("ankle → toes", "one edge → the other")),
    **dict.fromkeys((7, 8, 9, 10), ("hip → knee", "middle line → outline")),
    **dict.fromkeys((11, 12, 13, 14), ("knee → ankle", "middle line → outline")),
    **dict.fromkeys((15, 16, 17, 18), ("shoulder → elbow", "middle line → outline")),
    **dict.fromkeys((19, 20, 21, 22), ("elbow → wrist", "middle line → outline")),
    **dict.fromkeys((23, 24), ("chin → top of the head", "middle line → side")),
}


def _standing_person(s: float, facing: int, centre_x: float, foot_y: float) -> Person:
    """A person of height ~``s`` standing upright, arms a little out, feet apart (for pictures)."""
    rx = -facing  # x direction of the person's right side (as in sample_person)
    kp = np.zeros((17, 2))
    neck = np.array([0.0, -0.30 * s])
    for side, sgn in (("right", rx), ("left", -rx)):
        sh = neck + np.array([sgn * 0.11 * s, 0.01 * s])
        el = sh + 0.17 * s * np.array([sgn * np.sin(0.3), np.cos(0.3)])
        wr = el + 0.15 * s * np.array([sgn * np.sin(0.4), np.cos(0.4)])
        hip = np.array([sgn * 0.075 * s, 0.0])
        kn = hip + 0.24 * s * np.array([sgn * np.sin(0.1), np.cos(0.1)])
        an = kn + 0.23 * s * np.array([sgn * np.sin(0.08), np.cos(0.08)])
        for name, pt in (("shoulder", sh), ("elbow", el), ("wrist", wr), ("hip", hip), ("knee", kn), ("ankle", an)):
            kp[KP[f"{side}_{name}"]] = pt
    head_r = 0.065 * s
    centre = neck + np.array([0.0, -(0.045 * s + head_r)])
    for name, (x, y) in {"nose": (0.0, 0.2), "right_eye": (0.35 * rx, -0.15), "left_eye": (-0.35 * rx, -0.15),
                         "right_ear": (0.92 * rx, 0.0), "left_ear": (-0.92 * rx, 0.0)}.items():
        kp[KP[name]] = centre + head_r * np.array([x, y])
    kp[:, 0] += centre_x
    kp[:, 1] += foot_y - (kp[[KP["left_ankle"], KP["right_ankle"]], 1].max() + 0.07 * s)
    return Person(kp, s, 1.0, facing, 0.0, np.zeros((6, 3), np.float32))


def chart_figures(height: int = 200) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """A person standing upright drawn with these charts, seen from the front and from the back:
    where on the body each part and each (U, V) lies. Every part 1..24 appears in one view or
    both (torso_front only from the front, torso_back only from the back).

    Returns:
        ``[("front", labels, U, V), ("back", labels, U, V)]``: labels uint8 0..24 (0 = not on
        the body), U and V float32, each of shape (height, width), width about 0.6 x height.
    """
    s = 0.9 * height
    width = round(0.6 * height)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64) + 0.5
    views = []
    for name, facing in (("front", 1), ("back", -1)):
        labels, u, v = render_person(body_parts(_standing_person(s, facing, width / 2, 0.97 * height)), xs, ys)
        views.append((name, labels, u, v))
    return views

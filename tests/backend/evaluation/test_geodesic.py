"""GPS and GPSm: only with a geodesic table; the code path on a small synthetic table."""

from __future__ import annotations

import numpy as np
import pytest

from app.backend.errors import DatasetError
from app.backend.evaluation import (
    GeodesicTable,
    evaluate_predictions,
    load_geodesic_table,
    prediction_from_ground_truth,
)
from app.backend.evaluation.geodesic import point_gps

GPS_KEYS = {f"{p}_{n}" for p in ("GPS", "GPSm") for n in ("AP", "AP50", "AP75", "APm", "APl")}


def synthetic_table(condensed: bool = False) -> GeodesicTable:
    """24 flat charts, 6x6 vertices each, laid side by side 1 unit apart; geodesic = 3D Euclidean."""
    g = np.linspace(0.0, 1.0, 6)
    uu, vv = np.meshgrid(g, g)
    parts, uv, xyz = [], [], []
    for p in range(1, 25):
        parts.append(np.full(uu.size, p))
        uv.append(np.stack([uu.ravel(), vv.ravel()], 1))
        xyz.append(np.stack([p + 0.5 * uu.ravel(), 0.5 * vv.ravel(), np.zeros(uu.size)], 1))
    xyz = np.concatenate(xyz)
    dist = np.linalg.norm(xyz[:, None] - xyz[None], axis=2).astype(np.float32)
    kw = {"geodesic_condensed": dist[np.triu_indices(len(dist), 1)]} if condensed else {"geodesic": dist}
    return GeodesicTable(np.concatenate(parts), np.concatenate(uv).astype(np.float32), np.arange(len(xyz)), **kw)


def test_point_gps_values():
    t = synthetic_table()
    gt_uv = np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    pred_uv = np.array([[0.0, 0.0], [0.4, 0.0], [0.0, 0.0]])
    gps = point_gps(t, [3, 3, 3], gt_uv, [3, 3, 0], pred_uv)
    assert gps[0] == pytest.approx(1.0)
    assert gps[1] == pytest.approx(np.exp(-(0.2**2) / (2 * 0.255**2)), rel=1e-5)  # 0.4 in U = 0.2 units
    assert gps[2] == 0.0, "background prediction scores 0"
    tc = synthetic_table(condensed=True)
    a, b = np.array([0, 5, 40, 7]), np.array([5, 0, 39, 7])
    np.testing.assert_allclose(tc.distances(a, b), t.distances(a, b), rtol=1e-6)


def test_no_geodesic_dir_means_no_gps(records):
    assert load_geodesic_table("") is None and load_geodesic_table(None) is None
    res = evaluate_predictions(records, {r["image_id"]: prediction_from_ground_truth(r) for r in records})
    assert not GPS_KEYS & set(res["densepose"])


def test_missing_or_foreign_table_is_a_user_error(tmp_path):
    with pytest.raises(DatasetError, match="geodesic table not found"):
        load_geodesic_table(tmp_path)
    np.savez(tmp_path / "geodesic.npz", format=np.array("something-else"))
    with pytest.raises(DatasetError, match="format"):
        load_geodesic_table(tmp_path)


def test_synthetic_table_gives_gps_keys_and_100_for_ground_truth(records, tmp_path):
    synthetic_table(condensed=True).save(tmp_path / "geodesic.npz")
    table = load_geodesic_table(tmp_path)
    perfect = {r["image_id"]: prediction_from_ground_truth(r) for r in records}
    dp = evaluate_predictions(records, perfect, table)["densepose"]
    assert set(dp) >= GPS_KEYS
    assert dp["GPS_AP"] == pytest.approx(100.0) and dp["GPSm_AP"] == pytest.approx(100.0)
    for p in perfect.values():
        for r in p.densepose:
            r.uv[:, r.labels > 0] = np.clip(r.uv[:, r.labels > 0] + 0.35, 0, 1)
    worse = evaluate_predictions(records, perfect, table)["densepose"]
    assert worse["GPS_AP"] < 50.0 and worse["GPSm_AP"] < dp["GPSm_AP"]
    assert worse["dp_mask_AP"] == pytest.approx(100.0), "UV errors do not touch the mask AP"

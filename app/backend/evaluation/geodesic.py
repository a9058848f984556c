"""Geodesic distance table for GPS, in a small documented ``.npz`` format (no pickle).

GPS (COCO-DensePose's geodesic point similarity) needs, for any two surface points given
as (part I, U, V), their geodesic distance on the body surface. DensePose derives it from
SMPL files that are not bundled; users convert them once to this format and set
``TEST.DENSEPOSE.GEODESIC_DIR`` to the folder holding ``geodesic.npz``.

``geodesic.npz`` (read with ``allow_pickle=False``):

- ``format``: the string ``"wifi-densepose-geodesic/1"``.
- ``vertex_part``: int (M,), fine part 1..24 of each chart vertex.
- ``vertex_uv``: float (M, 2), U and V (0..1) of each chart vertex in its part's chart.
- ``vertex_index``: optional int (M,), the surface vertex (row of the distance matrix) a chart
  vertex stands for (a vertex on a seam appears in several charts); default ``arange(M)``.
- exactly one of ``geodesic``: float (V, V) symmetric distances, or ``geodesic_condensed``:
  float (V * (V - 1) / 2,), the upper triangle row by row (scipy's ``squareform`` order).

Distances are in the units the GPS constant k = 0.255 assumes (SMPL metres-scale surface).
A point maps to the nearest chart vertex of its part in (U, V).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from app.backend.atomic_write import atomic_write
from app.backend.errors import DatasetError

GEODESIC_FORMAT = "wifi-densepose-geodesic/1"
GEODESIC_FILE = "geodesic.npz"
#: GPS normalising constant k of COCO-DensePose.
GPS_KAPPA = 0.255


@dataclass
class GeodesicTable:
    """Chart vertices and pairwise geodesic distances (see the module docstring for the fields)."""

    vertex_part: np.ndarray
    vertex_uv: np.ndarray
    vertex_index: np.ndarray
    geodesic: np.ndarray | None = None
    geodesic_condensed: np.ndarray | None = None
    _trees: dict[int, tuple[cKDTree, np.ndarray]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        m = len(self.vertex_part)
        if self.vertex_uv.shape != (m, 2) or self.vertex_index.shape != (m,):
            raise DatasetError(f"geodesic table: vertex arrays disagree ({m} parts, uv {self.vertex_uv.shape})")
        if (self.geodesic is None) == (self.geodesic_condensed is None):
            raise DatasetError("geodesic table needs exactly one of 'geodesic' and 'geodesic_condensed'")
        if self.geodesic is not None:
            n = self.geodesic.shape[0]
            if self.geodesic.shape != (n, n):
                raise DatasetError(f"geodesic matrix must be square, got {self.geodesic.shape}")
        else:
            c = len(self.geodesic_condensed)
            n = round((1 + np.sqrt(1 + 8 * c)) / 2)
            if n * (n - 1) // 2 != c:
                raise DatasetError(f"geodesic_condensed has {c} entries, not n*(n-1)/2 for any n")
        self.num_vertices = n
        if m and (self.vertex_index.min() < 0 or self.vertex_index.max() >= n):
            raise DatasetError("geodesic table: vertex_index out of range of the distance matrix")
        for part in np.unique(self.vertex_part):
            sel = np.nonzero(self.vertex_part == part)[0]
            self._trees[int(part)] = (cKDTree(self.vertex_uv[sel]), self.vertex_index[sel])

    @staticmethod
    def load(path: str | Path) -> GeodesicTable:
        """Read ``path`` (a ``geodesic.npz`` or the folder holding it).

        Raises:
            DatasetError: missing file, foreign format or inconsistent arrays.
        """
        p = Path(path)
        if p.is_dir():
            p = p / GEODESIC_FILE
        if not p.is_file():
            raise DatasetError(f"geodesic table not found: {p} (TEST.DENSEPOSE.GEODESIC_DIR must hold {GEODESIC_FILE})")
        try:
            with np.load(p, allow_pickle=False) as z:
                fmt = str(z["format"]) if "format" in z else ""
                if fmt != GEODESIC_FORMAT:
                    raise DatasetError(f"{p}: format is {fmt!r}, expected {GEODESIC_FORMAT!r}")
                part = np.asarray(z["vertex_part"], dtype=np.int64)
                return GeodesicTable(
                    vertex_part=part,
                    vertex_uv=np.asarray(z["vertex_uv"], dtype=np.float32),
                    vertex_index=np.asarray(z["vertex_index"], np.int64)
                    if "vertex_index" in z
                    else np.arange(len(part)),
                    geodesic=np.asarray(z["geodesic"], np.float32) if "geodesic" in z else None,
                    geodesic_condensed=np.asarray(z["geodesic_condensed"], np.float32)
                    if "geodesic_condensed" in z
                    else None,
                )
        except (OSError, ValueError, KeyError) as exc:
            raise DatasetError(f"cannot read geodesic table {p}: {exc}") from None

    def save(self, path: str | Path) -> None:
        """Write the table as ``.npz`` in the documented format."""
        arrays = {
            "format": np.array(GEODESIC_FORMAT),
            "vertex_part": self.vertex_part,
            "vertex_uv": self.vertex_uv,
            "vertex_index": self.vertex_index,
        }
        if self.geodesic is not None:
            arrays["geodesic"] = self.geodesic
        else:
            arrays["geodesic_condensed"] = self.geodesic_condensed
        atomic_write(path, lambda f: np.savez_compressed(f, **arrays))

    def vertices(self, parts: np.ndarray, uv: np.ndarray) -> np.ndarray:
        """Surface vertex of each point: int (K,), -1 where the part is 0 or has no vertex.

        Args:
            parts: int (K,) fine parts 0..24; uv: float (K, 2).
        """
        out = np.full(len(parts), -1, dtype=np.int64)
        for part in np.unique(parts):
            tree = self._trees.get(int(part))
            if tree is None:
                continue
            sel = np.nonzero(parts == part)[0]
            _, nearest = tree[0].query(uv[sel])
            out[sel] = tree[1][nearest]
        return out

    def distances(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Geodesic distance float (K,) between vertices ``a`` and ``b`` (inf where either is -1)."""
        ok = (a >= 0) & (b >= 0)
        d = np.full(len(a), np.inf, dtype=np.float64)
        i, j = a[ok], b[ok]
        if self.geodesic is not None:
            d[ok] = self.geodesic[i, j]
        else:
            lo, hi = np.minimum(i, j), np.maximum(i, j)
            n = self.num_vertices
            idx = n * lo - lo * (lo + 1) // 2 + (hi - lo - 1)
            dd = np.zeros(len(lo), dtype=np.float64)
            off = lo != hi
            dd[off] = self.geodesic_condensed[idx[off]]
            d[ok] = dd
        return d


def point_gps(table: GeodesicTable, gt_parts, gt_uv, pred_parts, pred_uv, kappa: float = GPS_KAPPA) -> np.ndarray:
    """Per-point geodesic similarity exp(-g^2 / (2 kappa^2)) in 0..1, float (K,).

    A point predicted as background (part 0) or off the predicted box scores 0.
    """
    g = table.distances(
        table.vertices(np.asarray(gt_parts), np.asarray(gt_uv)),
        table.vertices(np.asarray(pred_parts), np.asarray(pred_uv)),
    )
    return np.exp(-(g**2) / (2.0 * kappa**2))


def load_geodesic_table(geodesic_dir: str | Path | None) -> GeodesicTable | None:
    """The table from ``TEST.DENSEPOSE.GEODESIC_DIR``, or None when that is empty (no GPS)."""
    if geodesic_dir is None or str(geodesic_dir).strip() == "":
        return None
    return GeodesicTable.load(Path(str(geodesic_dir)).expanduser())

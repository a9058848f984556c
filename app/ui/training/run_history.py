"""The runs a project has left on disk and their histories (Qt-free).

A run is a folder with detectron2's ``metrics.json`` (one JSON object per line: ``iteration``
and scalars; evaluation lines carry ``dataset/task/metric`` keys). :func:`find_runs` lists the
folders of a project, newest first; :func:`read_history` turns one folder's ``metrics.json``
into curves and evaluations, read with the follower's :class:`MetricsTail` (one reader).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from app.ui.training.run_follower import MetricsTail

#: Keys of a metrics line that are bookkeeping, not curves.
NON_CURVE_KEYS = frozenset(
    {"kind", "phase", "iteration", "max_iter", "time", "data_time", "eta_seconds", "it_per_s", "rank_data_time"})
#: How deep below the project folder runs are looked for (``output/``, ``runs/lr2/``, ...).
MAX_DEPTH = 3


@dataclass
class RunHistory:
    """One run's ``metrics.json``: ``curves`` {name: (iterations, values)}, ``evaluations``
    [(iteration, {metric: value})], ``last_iteration`` (0-based, of the last training line; -1 when none)."""

    folder: Path
    curves: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)
    evaluations: list[tuple[int, dict[str, float]]] = field(default_factory=list)
    last_iteration: int = -1


def curve_values(record: dict) -> dict[str, float]:
    """The plottable scalars of one metrics line (losses, lr, ...; not timing, not evaluations)."""
    return {k: float(v) for k, v in record.items() if k not in NON_CURVE_KEYS and "/" not in k
            and isinstance(v, (int, float)) and not isinstance(v, bool)}


def eval_values(record: dict) -> dict[str, float]:
    """The evaluation results of one metrics line (``dataset/task/metric`` keys)."""
    return {k: float(v) for k, v in record.items()
            if "/" in k and isinstance(v, (int, float)) and not isinstance(v, bool)}


def find_runs(project_root: str | Path, output_dir: str | Path | None = None) -> list[Path]:
    """Folders holding a ``metrics.json``: ``output_dir`` and those under ``project_root`` (up to
    :data:`MAX_DEPTH` levels, hidden folders skipped), newest ``metrics.json`` first."""
    found: set[Path] = set()
    root = Path(project_root)
    if output_dir and (Path(output_dir) / "metrics.json").is_file():
        found.add(Path(output_dir).resolve())
    base_depth = len(root.parts)
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        if "metrics.json" in files:
            found.add(here.resolve())
        if len(here.parts) - base_depth >= MAX_DEPTH:
            dirs[:] = []
        else:
            dirs[:] = [d for d in dirs if not d.startswith(".")]

    def mtime(p: Path) -> float:
        try:
            return (p / "metrics.json").stat().st_mtime
        except OSError:
            return 0.0

    return sorted(found, key=mtime, reverse=True)


def read_history(folder: str | Path) -> RunHistory:
    """The curves and evaluations of ``folder/metrics.json`` (unreadable lines are skipped)."""
    history = RunHistory(Path(folder))
    for record in MetricsTail(Path(folder) / "metrics.json").read_new():
        it = record.get("iteration")
        if not isinstance(it, int) or isinstance(it, bool):
            continue
        curves = curve_values(record)
        for name, value in curves.items():
            xs, ys = history.curves.setdefault(name, ([], []))
            xs.append(float(it))
            ys.append(value)
        if curves:  # evaluation lines after training carry MAX_ITER, one past the last iteration
            history.last_iteration = max(history.last_iteration, it)
        evals = eval_values(record)
        if evals:
            history.evaluations.append((it, evals))
    return history

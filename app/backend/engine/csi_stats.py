"""CSI normalisation statistics over (a capped, deterministic sample of) the training set."""

from __future__ import annotations

import logging
import os

import numpy as np
from detectron2.config import CfgNode
from detectron2.data import DatasetCatalog
from detectron2.utils import comm

from app.backend.errors import DatasetError

logger = logging.getLogger(__name__)

#: At most this many training samples are read to estimate the statistics.
MAX_STATS_SAMPLES = 400


def _training_csi_files(cfg: CfgNode, max_samples: int) -> list[str]:
    """At most ``max_samples`` CSI files spread evenly over the training sets (same in every process)."""
    files = [r["csi_file"] for name in cfg.DATASETS.TRAIN for r in DatasetCatalog.get(name) if r.get("csi_file")]
    if not files:
        raise DatasetError(f"CSI modality needs 'csi_file' in the training records of {list(cfg.DATASETS.TRAIN)}")
    if len(files) > max_samples:
        files = [files[i] for i in np.linspace(0, len(files) - 1, max_samples).round().astype(int)]
    return files


def compute_csi_stats(cfg: CfgNode, max_samples: int = MAX_STATS_SAMPLES):
    """Mean/std of amplitude and sanitized phase over the ``DATASETS.TRAIN`` CSI files.

    Samples are spread evenly over the concatenated training sets (same choice in every
    process). Writes ``OUTPUT_DIR/csi_stats.json`` on the main process.

    Returns:
        :class:`app.backend.data.csi.CsiStats`.

    Raises:
        DatasetError: no training record has a ``csi_file``.
    """
    from app.backend.data.csi import compute_csi_stats as stats_over_inputs
    from app.backend.data.csi import csi_model_input

    files = _training_csi_files(cfg, max_samples)
    stats = stats_over_inputs(csi_model_input(f, cfg) for f in files)
    if comm.is_main_process() and cfg.OUTPUT_DIR:
        stats.save(os.path.join(cfg.OUTPUT_DIR, "csi_stats.json"))
    return stats


def compute_feature_stats(cfg: CfgNode, max_samples: int = MAX_STATS_SAMPLES) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std of every input value (``INPUT.CSI.NORMALIZATION 'feature'``) over the training CSI.

    Same deterministic sample as :func:`compute_csi_stats`. Each value of the (2, P*S, R, T)
    input gets its own statistics, so a link whose static path dominates its amplitude no
    longer hides the small changes people cause in it.

    Returns:
        mean, std: float32 arrays (2, P*S, R, T); stds are at least 1 % of their channel's median
            std and at least ``MIN_STD``.

    Raises:
        DatasetError: no training record has a ``csi_file``.
    """
    from app.backend.data.csi import csi_model_input
    from app.backend.data.csi.sanitize import MIN_STD

    files = _training_csi_files(cfg, max_samples)
    total = total_sq = None
    for f in files:
        x = csi_model_input(f, cfg).astype(np.float64)
        if total is None:
            total, total_sq = np.zeros_like(x), np.zeros_like(x)
        if x.shape != total.shape:
            raise DatasetError(f"{f}: CSI input shape {x.shape} differs from the first file's {total.shape}")
        total += x
        total_sq += x * x
    n = len(files)
    mean = total / n
    std = np.sqrt(np.maximum(total_sq / n - mean * mean, 0.0))
    # a value that (nearly) never changed in training must not blow up when it does at test time
    floor = 0.01 * np.median(std.reshape(2, -1), axis=1).reshape(2, *([1] * (std.ndim - 1)))
    std = np.maximum(std, floor)
    logger.info("Per-value CSI normalisation over %d training samples", n)
    return mean.astype(np.float32), np.maximum(std, MIN_STD).astype(np.float32)

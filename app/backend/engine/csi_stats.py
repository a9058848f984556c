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

    files = [r["csi_file"] for name in cfg.DATASETS.TRAIN for r in DatasetCatalog.get(name) if r.get("csi_file")]
    if not files:
        raise DatasetError(f"CSI modality needs 'csi_file' in the training records of {list(cfg.DATASETS.TRAIN)}")
    if len(files) > max_samples:
        files = [files[i] for i in np.linspace(0, len(files) - 1, max_samples).round().astype(int)]
    stats = stats_over_inputs(csi_model_input(f, cfg) for f in files)
    if comm.is_main_process() and cfg.OUTPUT_DIR:
        stats.save(os.path.join(cfg.OUTPUT_DIR, "csi_stats.json"))
    return stats

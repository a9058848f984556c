"""CSI normalisation statistics over (a capped, deterministic sample of) the training set."""

from __future__ import annotations

import logging
import os

import numpy as np
from detectron2.config import CfgNode
from detectron2.data import DatasetCatalog
from detectron2.utils import comm

from app.backend.data.csi import compute_csi_stats as stats_over_inputs
from app.backend.data.csi import csi_model_input
from app.backend.data.csi.sanitize import MIN_STD
from app.backend.data.skipped import SkippedRecords, is_bad_record
from app.backend.errors import DatasetError
from app.backend.sampling import spread_indices

logger = logging.getLogger(__name__)

#: At most this many training samples are read to estimate the statistics.
MAX_STATS_SAMPLES = 400


def _training_csi_files(cfg: CfgNode, max_samples: int) -> list[str]:
    """At most ``max_samples`` CSI files spread evenly over the training sets (same in every process)."""
    records = []
    for name in cfg.DATASETS.TRAIN:
        got = DatasetCatalog.get(name)
        if not got:
            raise DatasetError(f"dataset {name!r} has no usable record (see the problems above, or run validate-dataset)")
        records += got
    files = [r["csi_file"] for r in records if r.get("csi_file")]
    if not files:
        raise DatasetError(f"CSI modality needs 'csi_file' in the training records of {list(cfg.DATASETS.TRAIN)}")
    return [files[i] for i in spread_indices(len(files), max_samples)]


def collect_csi_stats(
    cfg: CfgNode, *, global_stats: bool = True, per_value: bool = False, max_samples: int = MAX_STATS_SAMPLES
):
    """The CSI normalisation statistics of the training set in one pass over its files.

    Reads the same capped, deterministic sample as every process of a DDP run (files spread
    evenly over the concatenated ``DATASETS.TRAIN``), each file once, and accumulates what is
    asked for:

    - ``global_stats``: mean/std of amplitude and of sanitized phase (:class:`CsiStats`,
      written to ``OUTPUT_DIR/csi_stats.json`` on the main process);
    - ``per_value``: mean and std of every value of the (2, P*S, R, T) input
      (``INPUT.CSI.NORMALIZATION 'feature'``), so a link whose static path dominates its
      amplitude no longer hides the small changes people cause in it. Stds are at least 1 % of
      their channel's median std and at least ``MIN_STD``: a value that (nearly) never changed in
      training must not blow up when it does at test time.

    Files that cannot be read are skipped, named and counted (:mod:`app.backend.data.skipped`).

    Returns:
        (CsiStats or None, (mean, std) float32 arrays or None).

    Raises:
        DatasetError: no training record has a ``csi_file``, none of the sampled files can be
            read, or the files' input shapes differ.
    """
    files = _training_csi_files(cfg, max_samples)
    sums: list[np.ndarray] = []  # [sum, sum of squares] per value, float64
    skipped = SkippedRecords("CSI normalisation")

    def inputs():
        for f in files:
            try:
                x = csi_model_input(f, cfg)
            except Exception as exc:
                if not is_bad_record(exc):
                    raise
                skipped.skip(f, exc)
                continue
            if per_value:
                x64 = x.astype(np.float64)
                if not sums:
                    sums.extend([np.zeros_like(x64), np.zeros_like(x64)])
                if x64.shape != sums[0].shape:
                    raise DatasetError(
                        f"{f}: CSI input shape {x64.shape} differs from the first file's {sums[0].shape}"
                    )
                sums[0] += x64
                sums[1] += x64 * x64
            yield x

    def checked_inputs():
        yield from inputs()
        skipped.require_some_left(len(files))
        if skipped.count:
            logger.warning("%s", skipped.summary(len(files)))

    stats = None
    if global_stats:
        stats = stats_over_inputs(checked_inputs())
        if comm.is_main_process() and cfg.OUTPUT_DIR:
            stats.save(os.path.join(cfg.OUTPUT_DIR, "csi_stats.json"))
    elif per_value:
        for _ in checked_inputs():
            pass
    feature = None
    if per_value:
        n = len(files) - skipped.count
        mean = sums[0] / n
        std = np.sqrt(np.maximum(sums[1] / n - mean * mean, 0.0))
        floor = 0.01 * np.median(std.reshape(2, -1), axis=1).reshape(2, *([1] * (std.ndim - 1)))
        std = np.maximum(np.maximum(std, floor), MIN_STD)
        feature = (mean.astype(np.float32), std.astype(np.float32))
        logger.info("Per-value CSI normalisation over %d training samples", n)
    return stats, feature


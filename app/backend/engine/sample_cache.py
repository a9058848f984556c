"""The MTN pretraining samples: mapped once per dataset version, memory-mapped by every run after.

MTN pretraining (:mod:`app.backend.engine.mtn_pretrain`) trains on model inputs and coarse label
images of up to ``SOLVER.MTN_PRETRAIN.MAX_SAMPLES`` training records, spread evenly over
``DATASETS.TRAIN`` (the same in every process). Mapping them (reading each CSI file, decoding
the people's ``dp_masks``, painting the part image) takes about 10 ms a record, close to a
minute for the demo's 5000. :func:`collect_part_samples` does it once and keeps the arrays in
the training cache (:mod:`app.backend.engine.disk_cache`), keyed by the dataset JSONs, the
picked records' CSI files and the settings that shape a sample; later runs open them as
read-only memory maps in milliseconds. Datasets registered without a JSON file are mapped on
every run, as are all samples when the cache cannot be written.

Arrays (N samples): ``csi.npy`` float32 (N, 2, P*S, R, T), ``labels.npy`` uint8 (N, H, W)
coarse labels 0..14, ``weight.npy`` uint8 (N, H, W) in {0, 1}; (H, W) = ``MODEL.MTN.OUTPUT_SIZE``.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path

import numpy as np
import torch
from detectron2.config import CfgNode
from detectron2.data import DatasetCatalog, MetadataCatalog

from app.backend.data.csi import as_params
from app.backend.data.mapper import WiFiDensePoseDatasetMapper
from app.backend.engine import disk_cache
from app.backend.engine.hooks import PhaseProgress
from app.backend.errors import DatasetError
from app.backend.modeling.mtn_target import part_labels
from app.backend.sampling import spread_indices

logger = logging.getLogger(__name__)

#: Memory the samples may take (model inputs + label and weight images).
MAX_CACHE_BYTES = 1 << 30
KIND = "mtn-samples"


class PartSamples:
    """Model inputs (N, ...) float32 with their coarse label images (N, H, W) uint8 and weights (N, H, W) uint8.

    The arrays are numpy arrays, in memory or memory-mapped from the cache (read-only).
    """

    def __init__(self, csi: np.ndarray, labels: np.ndarray, weight: np.ndarray) -> None:
        if not (len(csi) == len(labels) == len(weight)) or len(csi) == 0:
            raise ValueError("PartSamples needs the same, non-zero number of inputs, label and weight images")
        self.csi, self.labels, self.weight = csi, labels, weight

    def __len__(self) -> int:
        return len(self.csi)

    def batch(self, index: torch.Tensor, device: torch.device) -> tuple[list[dict], torch.Tensor, torch.Tensor]:
        """(batched inputs for ``translate``, labels long (B, H, W), weight float32 (B, 1, H, W)) on ``device``."""
        rows = np.asarray(index, dtype=np.int64)
        csi = torch.from_numpy(np.ascontiguousarray(self.csi[rows]))
        inputs = [{"csi": c} for c in csi]
        labels = torch.from_numpy(np.ascontiguousarray(self.labels[rows])).to(device, torch.long)
        weight = torch.from_numpy(np.ascontiguousarray(self.weight[rows])).to(device, torch.float32).unsqueeze(1)
        return inputs, labels, weight


def sample_shape(cfg: CfgNode) -> tuple[int, ...]:
    """Shape of one CSI model input, (2, P*S, R, T), from ``INPUT.CSI``."""
    c = cfg.INPUT.CSI
    return (2, int(c.PACKETS_PER_SAMPLE) * int(c.NUM_SUBCARRIERS), int(c.NUM_RX), int(c.NUM_TX))


def _key(cfg: CfgNode, records: list[dict], picks: np.ndarray) -> str | None:
    """The cache key of these picks, or None when a dataset has no JSON file to identify it by."""
    jsons = []
    for name in cfg.DATASETS.TRAIN:
        path = MetadataCatalog.get(name).get("dataset_json", None)
        if not path:
            return None
        jsons.append(path)
    csi_files = [records[i].get("csi_file") or "" for i in picks.tolist()]
    settings = {
        "datasets": list(cfg.DATASETS.TRAIN),
        "picks": picks.tolist(),
        "csi": dataclasses.asdict(as_params(cfg)),
        "output_size": [int(v) for v in cfg.MODEL.MTN.OUTPUT_SIZE],
    }
    return disk_cache.files_key(KIND, [*jsons, *csi_files], settings)


def _open(folder: Path) -> PartSamples:
    n = int(np.load(folder / "count.npy"))
    arrays = [np.load(folder / f"{name}.npy", mmap_mode="r")[:n] for name in ("csi", "labels", "weight")]
    return PartSamples(*arrays)


def collect_part_samples(
    cfg: CfgNode,
    max_samples: int,
    progress: PhaseProgress | None = None,
    max_bytes: int = MAX_CACHE_BYTES,
    use_cache: bool = True,
) -> PartSamples:
    """Up to ``max_samples`` mapped training records (evenly spread, same in every process).

    At most ``max_bytes`` of samples are kept (fewer, still spread over the whole dataset).
    Records the mapper rejects (unreadable CSI, ...) are skipped as training skips them.
    ``progress`` (phase ``"read"``) is told each record mapped, and may stop the reading
    (:class:`TrainingStopped`; nothing is cached then).

    Raises:
        DatasetError: no training record could be mapped.
    """
    records = [r for name in cfg.DATASETS.TRAIN for r in DatasetCatalog.get(name)]
    if not records:
        raise DatasetError(f"no training records in {list(cfg.DATASETS.TRAIN)}")
    h, w = (int(v) for v in cfg.MODEL.MTN.OUTPUT_SIZE)
    shape = sample_shape(cfg)
    per_sample = int(np.prod(shape)) * 4 + 2 * h * w
    limit = max(1, min(int(max_samples), max_bytes // per_sample))
    if limit < max_samples and limit < len(records):
        logger.info("MTN pretraining keeps %d samples (%.0f MiB cap)", limit, max_bytes / 2**20)
    picks = spread_indices(len(records), limit)
    key = _key(cfg, records, picks) if use_cache else None
    found = disk_cache.find(KIND, key)
    if found is not None:
        try:
            samples = _open(found)
        except (OSError, ValueError) as exc:
            logger.warning("MTN pretraining: the cached samples in %s cannot be read (%s); reading the files", found, exc)
        else:
            if progress is not None:
                progress.total = len(picks)
                progress.finish(f"{len(samples)} training samples from the cache")
            logger.info("MTN pretraining: %d training samples from the cache %s", len(samples), found)
            return samples
    samples = _map(cfg, records, picks, shape, (h, w), progress)
    disk_cache.publish(KIND, key, lambda folder: _write(folder, samples), {"samples": len(samples)})
    return samples


def _map(cfg, records, picks, shape, size, progress: PhaseProgress | None) -> PartSamples:
    """Map the picked records into memory, reporting each one."""
    mapper = WiFiDensePoseDatasetMapper(cfg, is_train=True)
    n = len(picks)
    if progress is not None:
        progress.total = n
    csi = np.zeros((n, *shape), dtype=np.float32)
    labels = np.zeros((n, *size), dtype=np.uint8)
    weight = np.zeros((n, *size), dtype=np.uint8)
    kept = 0
    t0 = time.perf_counter()
    for k, idx in enumerate(picks.tolist()):
        mapped = mapper(records[idx])
        if mapped is not None and "instances" in mapped:
            if tuple(mapped["csi"].shape) != shape:
                raise DatasetError(f"{records[idx].get('csi_file')}: CSI input shape {tuple(mapped['csi'].shape)}, expected {shape}")
            lab, wt = part_labels([mapped["instances"]], size, torch.device("cpu"))
            csi[kept] = mapped["csi"].numpy()
            labels[kept] = lab[0].numpy()
            weight[kept] = wt[0, 0].numpy()
            kept += 1
        if progress is not None:
            progress.update(k + 1, f"reading training samples {k + 1}/{n} ({time.perf_counter() - t0:.0f} s)")
    if kept == 0:
        raise DatasetError("MTN pretraining: no training sample could be read")
    if progress is not None:
        progress.finish(f"read {kept} training samples in {time.perf_counter() - t0:.0f} s")
    return PartSamples(csi[:kept], labels[:kept], weight[:kept])


def _write(folder: Path, samples: PartSamples) -> None:
    np.save(folder / "count.npy", np.int64(len(samples)))
    for name in ("csi", "labels", "weight"):
        np.save(folder / f"{name}.npy", np.ascontiguousarray(getattr(samples, name)))

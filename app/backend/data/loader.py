"""Data loaders that skip samples the mapper rejects (mapper returns None).

detectron2 0.6 retries a None from a map-style ``MapDataset`` with
``random.sample(set, k=1)``, which Python 3.11 no longer accepts (TypeError). These
builders hand detectron2 an *iterable* dataset instead (``ToIterableDataset`` over the
usual sampler), for which ``MapDataset`` simply skips None. Otherwise they match
``build_detection_train_loader(cfg)`` / ``build_detection_test_loader(cfg, name)``.
"""

from __future__ import annotations

from typing import Any

from detectron2.data import (
    DatasetFromList,
    build_detection_test_loader,
    build_detection_train_loader,
    get_detection_dataset_dicts,
)
from detectron2.data.common import ToIterableDataset
from detectron2.data.samplers import InferenceSampler, TrainingSampler

from app.backend.data.mapper import WiFiDensePoseDatasetMapper


def _mapper(cfg: Any, is_train: bool) -> Any:
    return WiFiDensePoseDatasetMapper(cfg, is_train=is_train)


def build_train_loader(cfg: Any, mapper: Any = None, dataset_names: list[str] | None = None) -> Any:
    """Infinite training loader over ``cfg.DATASETS.TRAIN`` yielding lists of mapped dicts.

    Args:
        mapper: default ``WiFiDensePoseDatasetMapper(cfg, is_train=True)``.
        dataset_names: default ``cfg.DATASETS.TRAIN``.
    """
    dicts = get_detection_dataset_dicts(
        list(dataset_names or cfg.DATASETS.TRAIN),
        filter_empty=cfg.DATALOADER.FILTER_EMPTY_ANNOTATIONS,
        min_keypoints=cfg.MODEL.ROI_KEYPOINT_HEAD.MIN_KEYPOINTS_PER_IMAGE if cfg.MODEL.KEYPOINT_ON else 0,
    )
    dataset = ToIterableDataset(
        DatasetFromList(dicts, copy=False), TrainingSampler(len(dicts), seed=cfg.SEED if cfg.SEED >= 0 else None)
    )
    return build_detection_train_loader(
        dataset,
        mapper=mapper or _mapper(cfg, True),
        total_batch_size=cfg.SOLVER.IMS_PER_BATCH,
        aspect_ratio_grouping=cfg.DATALOADER.ASPECT_RATIO_GROUPING,
        num_workers=cfg.DATALOADER.NUM_WORKERS,
    )


def build_test_loader(cfg: Any, dataset_name: str, mapper: Any = None) -> Any:
    """Loader over one test dataset, batch size 1, each sample once; rejected samples are skipped."""
    dicts = get_detection_dataset_dicts([dataset_name], filter_empty=False)
    dataset = ToIterableDataset(DatasetFromList(dicts, copy=False), InferenceSampler(len(dicts)))
    return build_detection_test_loader(
        dataset, mapper=mapper or _mapper(cfg, False), num_workers=cfg.DATALOADER.NUM_WORKERS
    )

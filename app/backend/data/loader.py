"""Data loaders that skip samples the mapper rejects (mapper returns None).

detectron2 0.6 retries a None from a map-style ``MapDataset`` with
``random.sample(set, k=1)``, which Python 3.11 no longer accepts (TypeError). These
builders hand detectron2 an *iterable* dataset instead (``ToIterableDataset`` over the
usual sampler), for which ``MapDataset`` simply skips None. Otherwise they match
``build_detection_train_loader(cfg)`` / ``build_detection_test_loader(cfg, name)``.

Two guards detectron2 lacks: a dataset left with no record after loading is a
:class:`~app.backend.errors.DatasetError` (detectron2 asserts), and a training loader whose
mapper rejects :data:`MAX_REJECTS_PER_RECORD` x (records) samples in a row, every record
many times over, stops with a DatasetError instead of looping for ever.
"""

from __future__ import annotations

from typing import Any

from detectron2.data import (
    DatasetCatalog,
    DatasetFromList,
    build_detection_test_loader,
    build_detection_train_loader,
    get_detection_dataset_dicts,
)
from detectron2.data.common import ToIterableDataset
from detectron2.data.samplers import InferenceSampler, TrainingSampler

from app.backend.data.mapper import WiFiDensePoseDatasetMapper
from app.backend.errors import DatasetError

#: Consecutive rejected samples per training record after which the training loader gives up.
MAX_REJECTS_PER_RECORD = 3


class _GiveUpMapper:
    """Wraps a mapper; after ``limit`` None results in a row raises DatasetError (all samples unusable)."""

    def __init__(self, mapper: Any, limit: int, what: str) -> None:
        self.mapper, self.limit, self.what, self.in_a_row = mapper, limit, what, 0

    def __call__(self, record: dict) -> Any:
        out = self.mapper(record)
        self.in_a_row = self.in_a_row + 1 if out is None else 0
        if self.in_a_row >= self.limit:
            skipped = getattr(self.mapper, "skipped", None)
            first = next(iter(skipped.reasons.items()), None) if skipped is not None else None
            raise DatasetError(
                f"{self.what}: {self.in_a_row} samples in a row could not be used; no record of the dataset is usable"
                + (f" (e.g. {first[0]}: {first[1]})" if first else "")
            )
        return out


def dataset_dicts(names: list[str], **kwargs: Any) -> list[dict]:
    """detectron2's ``get_detection_dataset_dicts``, with DatasetError instead of its assertion when nothing is left."""
    for name in names:
        if not DatasetCatalog.get(name):
            raise DatasetError(f"dataset {name!r} has no usable record (see the problems above, or run validate-dataset)")
    try:
        return get_detection_dataset_dicts(names, **kwargs)
    except AssertionError as exc:
        raise DatasetError(f"datasets {names}: {exc} (every record was filtered out)") from None


def _mapper(cfg: Any, is_train: bool) -> Any:
    return WiFiDensePoseDatasetMapper(cfg, is_train=is_train)


def build_train_loader(cfg: Any, mapper: Any = None, dataset_names: list[str] | None = None) -> Any:
    """Infinite training loader over ``cfg.DATASETS.TRAIN`` yielding lists of mapped dicts.

    Args:
        mapper: default ``WiFiDensePoseDatasetMapper(cfg, is_train=True)``.
        dataset_names: default ``cfg.DATASETS.TRAIN``.
    """
    names = list(dataset_names or cfg.DATASETS.TRAIN)
    dicts = dataset_dicts(
        names,
        filter_empty=cfg.DATALOADER.FILTER_EMPTY_ANNOTATIONS,
        min_keypoints=cfg.MODEL.ROI_KEYPOINT_HEAD.MIN_KEYPOINTS_PER_IMAGE if cfg.MODEL.KEYPOINT_ON else 0,
    )
    dataset = ToIterableDataset(
        DatasetFromList(dicts, copy=False), TrainingSampler(len(dicts), seed=cfg.SEED if cfg.SEED >= 0 else None)
    )
    limit = max(MAX_REJECTS_PER_RECORD * len(dicts), 20)
    return build_detection_train_loader(
        dataset,
        mapper=_GiveUpMapper(mapper or _mapper(cfg, True), limit, f"training data {names}"),
        total_batch_size=cfg.SOLVER.IMS_PER_BATCH,
        aspect_ratio_grouping=cfg.DATALOADER.ASPECT_RATIO_GROUPING,
        num_workers=cfg.DATALOADER.NUM_WORKERS,
    )


def build_test_loader(cfg: Any, dataset_name: str, mapper: Any = None) -> Any:
    """Loader over one test dataset, batch size 1, each sample once; rejected samples are skipped."""
    dicts = dataset_dicts([dataset_name], filter_empty=False)
    dataset = ToIterableDataset(DatasetFromList(dicts, copy=False), InferenceSampler(len(dicts)))
    return build_detection_test_loader(
        dataset, mapper=mapper or _mapper(cfg, False), num_workers=cfg.DATALOADER.NUM_WORKERS
    )

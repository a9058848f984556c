"""Datasets: CSI ingestion, COCO-DensePose(+CSI) loading, mapping and the synthetic demo data.

The names below are exported lazily (PEP 562): importing ``app.backend.data`` or its
numpy-only submodules (``app.backend.data.csi``) never pulls in detectron2, so widgets
may use them.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "register_datasets": "app.backend.data.dataset",
    "register_coco_densepose_json": "app.backend.data.dataset",
    "load_coco_densepose_json": "app.backend.data.dataset",
    "decode_dp_masks": "app.backend.data.dataset",
    "DEMO_DATASET_NAMES": "app.backend.data.dataset",
    "validate_dataset": "app.backend.data.validate",
    "ValidationReport": "app.backend.data.validate",
    "WiFiDensePoseDatasetMapper": "app.backend.data.mapper",
    "build_train_loader": "app.backend.data.loader",
    "build_test_loader": "app.backend.data.loader",
    "generate_demo_dataset": "app.backend.data.demo",
    "demo_dataset_ready": "app.backend.data.demo",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

"""Fixtures of the app tests: the QApplication with isolated INI settings and a small demo project."""

from __future__ import annotations

from pathlib import Path

import pytest

#: Overrides that make demo_cpu tiny: a few seconds per 10 iterations on 2 CPU cores.
TINY = {
    "MODEL.MTN.OUTPUT_SIZE": [64, 64],
    "MODEL.MTN.ENCODER_DIMS": [64],
    "MODEL.MTN.FUSION_DIMS": [128],
    "SOLVER.IMS_PER_BATCH": 2,
    "SOLVER.MAX_ITER": 10,
    "SOLVER.CHECKPOINT_PERIOD": 1000,
    "SOLVER.WARMUP_ITERS": 2,
    "SOLVER.MTN_PRETRAIN.ITERS": 0,
    "UI.METRICS_PERIOD": 1,
    "UI.PREVIEW_PERIOD": 5,
    "UI.PREVIEW_SAMPLES": 1,
    "TEST.EVAL_PERIOD": 0,
    "DATALOADER.NUM_WORKERS": 0,
    "MODEL.RPN.PRE_NMS_TOPK_TRAIN": 100,
    "MODEL.RPN.POST_NMS_TOPK_TRAIN": 50,
    "MODEL.RPN.PRE_NMS_TOPK_TEST": 50,
    "MODEL.RPN.POST_NMS_TOPK_TEST": 20,
    "MODEL.ROI_HEADS.BATCH_SIZE_PER_IMAGE": 16,
    "TEST.DETECTIONS_PER_IMAGE": 5,
}


@pytest.fixture
def qapp_settings(qapp):
    """The QApplication configured like the app (INI settings under this test's XDG_CONFIG_HOME)."""
    from app.ui.shell.app import make_application

    return make_application()


@pytest.fixture
def demo_project(tmp_path: Path, demo_dataset_dir: Path):
    """A project on the session's small demo dataset with the TINY overrides."""
    from app.backend.config import builtin_config
    from app.ui.shell.project import Project

    overrides = {**TINY, "DATASETS.DEMO.ROOT": str(demo_dataset_dir)}
    return Project.create(tmp_path / "proj", builtin_config("demo_cpu"), name="test", overrides=overrides)


@pytest.fixture
def demo_copy(tmp_path: Path, demo_dataset_dir: Path) -> Path:
    """A writable copy of the session's small demo dataset (editors save into it)."""
    import shutil

    dst = tmp_path / "demo"
    shutil.copytree(demo_dataset_dir, dst)
    return dst

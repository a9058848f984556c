"""Training engine: trainer, Qt-free hooks, MTN pretraining, predictor, DDP launch.

Public API::

    from app.backend.engine import Trainer, run_training, setup_cfg, TrainControl
    from app.backend.engine.predictor import Predictor

Checkpoints (atomic writes, code-free reads) live one layer down, in :mod:`app.backend.checkpoint`.
"""

from app.backend.engine.hooks import (
    PHASES,
    ControlHook,
    EvalResultsHook,
    MetricsHook,
    PhaseProgress,
    PreviewHook,
    TrainControl,
    TrainingStopped,
)
from app.backend.engine.trainer import Trainer, build_ui_hooks, run_training, setup_cfg

__all__ = [
    "PHASES",
    "ControlHook",
    "EvalResultsHook",
    "MetricsHook",
    "PhaseProgress",
    "PreviewHook",
    "TrainControl",
    "Trainer",
    "TrainingStopped",
    "build_ui_hooks",
    "run_training",
    "setup_cfg",
]

"""Training engine: trainer, Qt-free hooks, atomic checkpoints, predictor, DDP launch.

Public API::

    from app.backend.engine import Trainer, run_training, setup_cfg, TrainControl, Predictor
"""

from app.backend.engine.checkpoint import AtomicCheckpointer, load_checkpoint_file
from app.backend.engine.hooks import (
    ControlHook,
    EvalResultsHook,
    MetricsHook,
    PreviewHook,
    TrainControl,
    TrainingStopped,
)
from app.backend.engine.trainer import Trainer, build_ui_hooks, run_training, setup_cfg

__all__ = [
    "AtomicCheckpointer",
    "ControlHook",
    "EvalResultsHook",
    "MetricsHook",
    "PreviewHook",
    "TrainControl",
    "Trainer",
    "TrainingStopped",
    "build_ui_hooks",
    "load_checkpoint_file",
    "run_training",
    "setup_cfg",
]

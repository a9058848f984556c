"""Evaluation during training that reports its progress and obeys a stop between two images.

detectron2's ``EvalHook`` runs ``DefaultTrainer.test`` every ``TEST.EVAL_PERIOD`` iterations and
after the last one: 60 demo val frames and the COCO scoring take tens of seconds on 2 CPU cores,
with no way to stop. :func:`evaluate` is that test (detectron2's ``inference_on_dataset`` per
dataset, the same results) with a :class:`PhaseProgress` of phase ``"eval"`` told each image,
plus one last unit for the scoring; :class:`StoppableEvalHook` runs it and, when a stop comes
during an evaluation, leaves a checkpoint of the current iteration (the weights evaluation does
not change), so the run can be resumed where it stopped.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

from detectron2.config import CfgNode
from detectron2.engine.hooks import EvalHook
from detectron2.evaluation import inference_on_dataset, print_csv_format
from detectron2.utils import comm

from app.backend.engine.hooks import PhaseProgress, TrainingStopped

logger = logging.getLogger(__name__)


class _ReportingLoader:
    """A test data loader that tells ``progress`` each batch taken, and the scoring after the last."""

    def __init__(self, loader: Any, progress: PhaseProgress | None, offset: int, name: str) -> None:
        self.loader, self.progress, self.offset, self.name = loader, progress, offset, name

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[Any]:
        n = len(self.loader)
        for k, batch in enumerate(self.loader):
            if self.progress is not None:
                self.progress.update(self.offset + k, f"evaluating {self.name}: image {k + 1}/{n}")
            yield batch
        if self.progress is not None:  # inference_on_dataset scores next
            self.progress.update(self.offset + n, f"evaluating {self.name}: scoring {n} images")


def evaluate(trainer_cls: Any, cfg: CfgNode, model: Any, progress: PhaseProgress | None = None) -> dict:
    """``DefaultTrainer.test(cfg, model)`` with progress (``trainer_cls`` builds the loaders and evaluators).

    Raises:
        TrainingStopped: ``progress``'s control asked to stop (between two images).
    """
    loaders = OrderedDict((name, trainer_cls.build_test_loader(cfg, name)) for name in cfg.DATASETS.TEST)
    if progress is not None:
        progress.total = sum(len(loader) + 1 for loader in loaders.values())
        progress.check()
    results: OrderedDict[str, Any] = OrderedDict()
    offset = 0
    for name, loader in loaders.items():
        evaluator = trainer_cls.build_evaluator(cfg, name)
        results[name] = inference_on_dataset(model, _ReportingLoader(loader, progress, offset, name), evaluator)
        offset += len(loader) + 1
        if comm.is_main_process() and isinstance(results[name], dict):
            logger.info("Evaluation results for %s in csv format:", name)
            print_csv_format(results[name])
    if progress is not None:
        progress.finish(f"evaluated {', '.join(loaders)}")
    return next(iter(results.values())) if len(results) == 1 else results


class StoppableEvalHook(EvalHook):
    """detectron2's ``EvalHook`` whose evaluation can be stopped (see the module docstring).

    Args:
        eval_period: iterations between evaluations (0: only after the last).
        eval_function: ``eval_function(progress)`` returns the nested results dict.
        save: ``save(iteration) -> path`` saves a checkpoint of that iteration unless one exists.
    """

    def __init__(self, eval_period: int, eval_function: Callable[[PhaseProgress], dict], save: Callable[[int], str]) -> None:
        super().__init__(eval_period, self._run)
        self._evaluate = eval_function
        self._save = save
        #: a stop that came during the evaluation after the last iteration (the run ends normally, then reports it)
        self.stopped: TrainingStopped | None = None

    def _run(self) -> dict:
        t = self.trainer
        it = min(int(t.iter), int(t.max_iter) - 1)  # after the loop, trainer.iter is max_iter
        progress = PhaseProgress("eval", 0, getattr(t, "callback", None), getattr(t, "control", None), it)
        return self._evaluate(progress)

    def _stop_requested(self) -> bool:
        control = getattr(self.trainer, "control", None)
        return control is not None and control.stop_requested

    def after_step(self) -> None:
        try:
            super().after_step()
        except TrainingStopped as stop:
            raise TrainingStopped(stop.iteration, self._save(stop.iteration), "eval") from None

    def after_train(self) -> None:
        if self._stop_requested():  # no evaluation of a run that was stopped
            self._func = None
            return
        try:
            super().after_train()
        except TrainingStopped as stop:
            # the last iteration's checkpoint exists (model_final); the other hooks still end the run
            self.stopped = TrainingStopped(stop.iteration, self._save(stop.iteration), "eval")
            self._func = None

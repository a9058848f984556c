"""The project's trainer: detectron2's ``DefaultTrainer`` with our model, data and evaluator.

- Model: ``app.backend.modeling.build_model`` (registers CombinedModel and its parts).
- Data: ``app.backend.data.build_{train,test}_loader`` (``WiFiDensePoseDatasetMapper``).
- Evaluator: ``DensePoseCOCOEvaluator`` (box, keypoint and DensePose metrics).
- Optimizer: detectron2's SGD, or AdamW with PyTorch's fused kernel (same update; its step 3x
  faster on 2 CPU cores); ``SOLVER.CLIP_GRADIENTS`` clips each parameter as detectron2 does, in
  one multi-tensor kernel (:mod:`app.backend.engine.grad_clip`).
- ``SOLVER.AMP.ENABLED``: detectron2's ``AMPTrainer`` (float16, gradient scaler) on CUDA;
  :class:`CPUAutocastTrainer` (bfloat16 autocast) on a CPU with native bfloat16
  (``SOLVER.AMP.CPU_BF16`` or the environment variable ``WDS_CPU_BF16=0|1|auto`` force it).
- Checkpoints: :class:`AtomicCheckpointer` (atomic writes, code-free reads).
- DDP on GPUs (NCCL) and on CPUs (gloo, see :mod:`app.backend.engine.distributed`).
- CSI modality with ``INPUT.CSI.AMP_STD <= 0``: normalisation statistics are computed
  over (a capped sample of) the training set before the model is built, so they end up
  in the model's buffers, in every checkpoint and in ``OUTPUT_DIR/config.yaml``.
- ``SOLVER.MTN_PRETRAIN.ITERS`` > 0: a fresh run first trains the MTN alone on the part image
  (:mod:`app.backend.engine.mtn_pretrain`, the first hook); ``run_training`` hands it the
  callback and control so the UI sees its progress and can stop it.

The trainer knows nothing of the UI: live views attach Qt-free hooks from
:mod:`app.backend.engine.hooks` through ``extra_hooks``.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import weakref
from collections.abc import Sequence

import numpy as np
import torch
from detectron2.config import CfgNode
from detectron2.data import DatasetCatalog
from detectron2.engine import AMPTrainer, DefaultTrainer, HookBase, SimpleTrainer, create_ddp_model
from detectron2.engine.hooks import EvalHook
from detectron2.engine.train_loop import TrainerBase
from detectron2.evaluation.testing import flatten_results_dict
from detectron2.utils import comm
from detectron2.utils.env import seed_all_rng

from app.backend.atomic_write import atomic_write
from app.backend.checkpoint import AtomicCheckpointer
from app.backend.config import load_config
from app.backend.data import build_test_loader, build_train_loader, register_datasets
from app.backend.engine.csi_stats import collect_csi_stats
from app.backend.engine.eval_hook import StoppableEvalHook, evaluate
from app.backend.engine.grad_clip import with_gradient_clipping
from app.backend.engine.hooks import (
    Callback,
    ControlHook,
    EvalResultsHook,
    MetricsHook,
    PhaseProgress,
    PreviewHook,
    TrainControl,
    TrainingStopped,
)
from app.backend.engine.mtn_pretrain import MTNPretrainHook
from app.backend.errors import ConfigError, UserFacingError
from app.backend.evaluation import DensePoseCOCOEvaluator
from app.backend.modeling import build_model
from app.backend.output_lock import OutputLock

logger = logging.getLogger(__name__)


def write_config(cfg: CfgNode) -> str:
    """Write ``cfg`` to ``OUTPUT_DIR/config.yaml`` atomically (main process only); return the path."""
    path = os.path.join(cfg.OUTPUT_DIR, "config.yaml")
    if comm.is_main_process():
        os.makedirs(cfg.OUTPUT_DIR, exist_ok=True)
        atomic_write(path, cfg.dump())
    return path


def cpu_has_native_bf16() -> bool:
    """True when oneDNN runs bfloat16 natively on this CPU (AVX512-BF16 or AMX); emulated bfloat16
    is slower than float32, so mixed precision is then not worth it."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


class CPUAutocastTrainer(SimpleTrainer):
    """detectron2's ``SimpleTrainer`` step with the forward pass under bfloat16 autocast on the CPU.

    bfloat16 keeps float32's exponent range, so no gradient scaler is needed; weights, gradients
    and optimizer state stay float32 (autocast only lowers matmuls and convolutions). Losses are
    summed in float32. On 2 cores of an AVX512-BF16 CPU, demo_cpu's step is 1.43x faster (benchmarks/bench_cpu_amp.py).
    """

    def run_step(self) -> None:
        assert self.model.training, "[CPUAutocastTrainer] model was changed to eval mode!"
        start = time.perf_counter()
        data = next(self._data_loader_iter)
        data_time = time.perf_counter() - start
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss_dict = self.model(data)
        if isinstance(loss_dict, torch.Tensor):
            loss_dict = {"total_loss": loss_dict}
        losses = sum(v.float() for v in loss_dict.values())
        self.optimizer.zero_grad()
        losses.backward()
        self._write_metrics(loss_dict, data_time)
        self.optimizer.step()


#: Environment variable that overrides ``SOLVER.AMP.CPU_BF16`` (values ``0``, ``1``, ``auto``).
CPU_BF16_ENV = "WDS_CPU_BF16"
_CPU_BF16_VALUES = {"0": "off", "off": "off", "false": "off", "1": "on", "on": "on", "true": "on", "auto": "auto"}


def cpu_bf16_setting(cfg: CfgNode) -> str:
    """``'auto'``, ``'on'`` or ``'off'``: ``$WDS_CPU_BF16`` when set, else ``SOLVER.AMP.CPU_BF16``.

    Raises:
        ConfigError: a value other than 0/1/auto (or off/on).
    """
    env = os.environ.get(CPU_BF16_ENV, "").strip().lower()
    value, where = (env, CPU_BF16_ENV) if env else (str(cfg.SOLVER.AMP.CPU_BF16).strip().lower(), "SOLVER.AMP.CPU_BF16")
    if value not in _CPU_BF16_VALUES:
        raise ConfigError(f"{where} must be 0, 1 or auto (off, on), got {value!r}")
    return _CPU_BF16_VALUES[value]


def loop_class(cfg: CfgNode, on_cpu: bool) -> type[SimpleTrainer]:
    """The training loop for ``SOLVER.AMP.ENABLED`` on this device (see the module docstring).

    On a CPU, :func:`cpu_bf16_setting` decides: ``auto`` asks oneDNN whether bfloat16 is native.
    """
    if not cfg.SOLVER.AMP.ENABLED:
        return SimpleTrainer
    if not on_cpu:
        return AMPTrainer
    setting = cpu_bf16_setting(cfg)
    native = cpu_has_native_bf16()
    if setting == "on" or (setting == "auto" and native):
        if not native:
            logger.warning(
                "bfloat16 autocast forced (SOLVER.AMP.CPU_BF16 or %s) on a CPU that emulates bfloat16: slower than float32",
                CPU_BF16_ENV,
            )
        return CPUAutocastTrainer
    if setting == "off":
        logger.info("SOLVER.AMP.ENABLED: bfloat16 turned off (SOLVER.AMP.CPU_BF16 or %s); training in float32", CPU_BF16_ENV)
    else:
        logger.warning(
            "SOLVER.AMP.ENABLED: this CPU has no native bfloat16 (AVX512-BF16 or AMX), where mixed "
            "precision is slower than float32; training in float32"
        )
    return SimpleTrainer


class Trainer(DefaultTrainer):
    """``DefaultTrainer`` for WiFi DensePose (see the module docstring).

    Args:
        cfg: the full config (not modified; a copy is kept as ``self.cfg``).
        extra_hooks: hooks registered after detectron2's default ones (timer, LR
            scheduler, PreciseBN, checkpointer, evaluation, writers).
    """

    def __init__(
        self, cfg: CfgNode, extra_hooks: Sequence[HookBase] = (), callback: Callback | None = None, control: TrainControl | None = None
    ) -> None:
        TrainerBase.__init__(self)
        #: receives the run's plain-dict events (progress of every phase, pretraining metrics), or None
        self.callback = callback
        #: obeyed in every phase (pause, stop), or None
        self.control = control
        if not logging.getLogger("detectron2").isEnabledFor(logging.INFO):
            setup_logging("", comm.get_rank())
        cfg = DefaultTrainer.auto_scale_workers(cfg, comm.get_world_size())
        cfg, feature_stats = prepare_csi_stats(cfg, PhaseProgress("stats", 0, callback, control))

        model = self.build_model(cfg)
        if feature_stats is not None:
            model.set_csi_feature_stats(*feature_stats)  # a checkpoint loaded later overrides them
        optimizer = self.build_optimizer(cfg, model)
        data_loader = self.build_train_loader(cfg)
        on_cpu = next(model.parameters()).device.type == "cpu"
        model = create_ddp_model(model, broadcast_buffers=False, **({"device_ids": None} if on_cpu else {}))
        self._trainer = loop_class(cfg, on_cpu)(model, data_loader, optimizer)
        #: the loop's forward pass runs under bfloat16 autocast on the CPU (MTN pretraining matches it)
        self.cpu_bf16_autocast = isinstance(self._trainer, CPUAutocastTrainer)

        self.scheduler = self.build_lr_scheduler(cfg, optimizer)
        self.checkpointer = AtomicCheckpointer(
            model, cfg.OUTPUT_DIR, min_loaded_fraction=cfg.MODEL.MIN_LOADED_FRACTION, trainer=weakref.proxy(self)
        )
        self.start_iter = 0
        self.max_iter = cfg.SOLVER.MAX_ITER
        self.cfg = cfg
        write_config(cfg)
        self.register_hooks(self.build_hooks() + list(extra_hooks))

    def build_hooks(self) -> list[HookBase]:
        """detectron2's default hooks, preceded by MTN pretraining when ``SOLVER.MTN_PRETRAIN.ITERS`` > 0,
        with an evaluation that reports progress and can be stopped (:class:`StoppableEvalHook`)."""
        hooks = super().build_hooks()
        for k, hook in enumerate(hooks):
            if type(hook) is EvalHook:
                self.eval_hook = hooks[k] = StoppableEvalHook(self.cfg.TEST.EVAL_PERIOD, self._evaluate, self.save_unless_saved)
        pretrain = MTNPretrainHook(self.cfg)  # checks the config
        self.mtn_pretrain: MTNPretrainHook | None = pretrain if pretrain.iters > 0 else None
        if self.mtn_pretrain is not None:
            hooks.insert(0, self.mtn_pretrain)  # before the iteration timer: its time is not the loop's
        return hooks

    def _evaluate(self, progress: PhaseProgress) -> dict:
        self._last_eval_results = evaluate(type(self), self.cfg, self.model, progress)
        return self._last_eval_results

    def save_unless_saved(self, iteration: int) -> str:
        """A checkpoint of ``iteration`` (main process): the one saved already, or ``model_{iteration:07d}``."""
        if not comm.is_main_process():
            return ""
        for path, it in reversed(self.checkpointer.saved):
            if it == iteration:
                return path
        self.checkpointer.save(f"model_{iteration:07d}", iteration=iteration)
        return self.checkpointer.saved[-1][0] if self.checkpointer.saved else ""

    def resume_or_load(self, resume: bool = True) -> None:
        """As detectron2: with ``resume`` and a ``last_checkpoint`` in OUTPUT_DIR, restore
        model, optimizer, scheduler and iteration; otherwise load ``MODEL.WEIGHTS`` only."""
        if comm.is_main_process():
            self.checkpointer.remove_stale_temp_files()
        comm.synchronize()
        super().resume_or_load(resume=resume)

    def state_dict(self) -> dict:
        """Iteration, hook states (LR scheduler) and, unlike detectron2 v0.6's DefaultTrainer,
        the optimizer (momentum buffers, current LR) and AMP grad scaler: a resumed run then
        continues exactly where it stopped."""
        ret = super().state_dict()
        ret["_trainer"] = self._trainer.state_dict()
        return ret

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        if "_trainer" in state_dict:
            self._trainer.load_state_dict(state_dict["_trainer"])
        else:  # a checkpoint without optimizer state: at least set the LR the schedule prescribes
            for group, lr in zip(self.optimizer.param_groups, self.scheduler.get_lr()):
                group["lr"] = lr

    @classmethod
    def build_optimizer(cls, cfg: CfgNode, model: torch.nn.Module) -> torch.optim.Optimizer:
        """detectron2's SGD, or AdamW (SOLVER.OPTIMIZER), with detectron2's parameter groups, LR factors
        and per-parameter gradient clipping (one multi-tensor kernel, :mod:`app.backend.engine.grad_clip`)."""
        name = str(cfg.SOLVER.OPTIMIZER)
        if name not in ("SGD", "AdamW"):
            raise UserFacingError(f"SOLVER.OPTIMIZER must be 'SGD' or 'AdamW', got {name!r}")
        from detectron2.solver.build import get_default_optimizer_params

        params = get_default_optimizer_params(
            model,
            base_lr=cfg.SOLVER.BASE_LR,
            weight_decay_norm=cfg.SOLVER.WEIGHT_DECAY_NORM,
            bias_lr_factor=cfg.SOLVER.BIAS_LR_FACTOR,
            weight_decay_bias=cfg.SOLVER.WEIGHT_DECAY_BIAS,
        )
        if name == "SGD":  # detectron2's build_optimizer, with the same arguments
            return with_gradient_clipping(cfg, torch.optim.SGD)(
                params, lr=cfg.SOLVER.BASE_LR, momentum=cfg.SOLVER.MOMENTUM, nesterov=cfg.SOLVER.NESTEROV,
                weight_decay=cfg.SOLVER.WEIGHT_DECAY,
            )
        betas = tuple(float(b) for b in cfg.SOLVER.BETAS)
        # fused: one kernel for all parameters (CPU and CUDA), the same update as the per-tensor loop
        return with_gradient_clipping(cfg, torch.optim.AdamW)(
            params, lr=cfg.SOLVER.BASE_LR, betas=betas, weight_decay=cfg.SOLVER.WEIGHT_DECAY, fused=True
        )

    @classmethod
    def build_lr_scheduler(cls, cfg: CfgNode, optimizer: torch.optim.Optimizer):
        """detectron2's schedule, without LR steps at or after MAX_ITER (they change nothing, and fvcore
        refuses a step equal to MAX_ITER, e.g. demo_cpu's step 1000 with ``SOLVER.MAX_ITER 1000``)."""
        steps = tuple(int(s) for s in cfg.SOLVER.STEPS)
        kept = tuple(s for s in steps if s < cfg.SOLVER.MAX_ITER)
        if kept != steps:
            logger.info("LR steps %s at or after SOLVER.MAX_ITER %d are ignored", sorted(set(steps) - set(kept)), cfg.SOLVER.MAX_ITER)
            cfg = cfg.clone()
            cfg.defrost()
            cfg.SOLVER.STEPS = kept
            cfg.freeze()
        return super().build_lr_scheduler(cfg, optimizer)

    @classmethod
    def build_model(cls, cfg: CfgNode) -> torch.nn.Module:
        model = build_model(cfg)
        n = sum(p.numel() for p in model.parameters())
        logging.getLogger(__name__).info("Model %s with %.2fM parameters", type(model).__name__, n / 1e6)
        return model

    @classmethod
    def build_train_loader(cls, cfg: CfgNode):
        """``app.backend.data.build_train_loader``: our mapper; samples it rejects are skipped."""
        return build_train_loader(cfg)

    @classmethod
    def build_test_loader(cls, cfg: CfgNode, dataset_name: str):
        return build_test_loader(cfg, dataset_name)

    @classmethod
    def test(cls, cfg: CfgNode, model: torch.nn.Module, evaluators=None) -> dict:
        """detectron2's ``DefaultTrainer.test`` (results per ``DATASETS.TEST``; ``evaluators`` must be None)."""
        if evaluators is not None:
            return super().test(cfg, model, evaluators)
        return evaluate(cls, cfg, model)

    @classmethod
    def build_evaluator(cls, cfg: CfgNode, dataset_name: str, output_folder: str | None = None):
        output_folder = output_folder or os.path.join(cfg.OUTPUT_DIR, "inference")
        return DensePoseCOCOEvaluator(dataset_name, cfg, output_dir=output_folder)


def prepare_csi_stats(cfg: CfgNode, progress: PhaseProgress | None = None) -> tuple[CfgNode, tuple[np.ndarray, np.ndarray] | None]:
    """The CSI normalisation a training run needs, from one pass over its training CSI.

    Returns ``(cfg, feature_stats)``: ``cfg`` with INPUT.CSI's global mean/std filled in when
    ``INPUT.CSI.AMP_STD <= 0`` (otherwise unchanged), and the per-value (mean, std) when
    ``INPUT.CSI.NORMALIZATION`` is ``'feature'`` (else None). Outside CSI modality: ``(cfg, None)``.
    The statistics come from a capped, deterministic sample of the training set, so every DDP
    process computes the same values (or from the training cache, see ``collect_csi_stats``);
    ``progress`` (phase ``"stats"``) reports the pass and may stop it.
    """
    if cfg.INPUT.MODALITY != "csi":
        return cfg, None
    need_global = cfg.INPUT.CSI.AMP_STD <= 0
    per_value = cfg.INPUT.CSI.NORMALIZATION == "feature"
    if not (need_global or per_value):
        return cfg, None
    stats, feature_stats = collect_csi_stats(cfg, global_stats=need_global, per_value=per_value, progress=progress)
    if stats is not None:
        cfg = cfg.clone()
        was_frozen = cfg.is_frozen()
        cfg.defrost()
        stats.apply_to_cfg(cfg)
        if was_frozen:
            cfg.freeze()
        logger.info("CSI normalisation over %d training samples: %s", stats.num_samples, stats.to_cfg_dict())
    return cfg, feature_stats


def setup_cfg(args) -> CfgNode:
    """Load the config of a command line and prepare the run, like detectron2's ``default_setup``.

    ``args`` needs ``config_file`` and ``opts`` (``KEY VALUE`` overrides); ``eval_only``
    is optional. Creates OUTPUT_DIR, sets up the ``detectron2``/``fvcore``/``app`` loggers
    (console and ``OUTPUT_DIR/log.txt``, see :func:`setup_logging`), writes ``config.yaml`` and seeds the RNGs (``SEED`` + rank;
    random when SEED < 0). Returns the frozen config.
    """
    cfg = load_config(getattr(args, "config_file", "") or None, list(getattr(args, "opts", []) or []))
    prepare_run(cfg)
    seed_all_rng(None if cfg.SEED < 0 else cfg.SEED + comm.get_rank())
    cfg.freeze()
    return cfg


def prepare_run(cfg: CfgNode) -> None:
    """Create OUTPUT_DIR, set up loggers (idempotent per folder) and write config.yaml."""
    if comm.is_main_process():
        os.makedirs(cfg.OUTPUT_DIR, exist_ok=True)
    setup_logging(cfg.OUTPUT_DIR, comm.get_rank())
    write_config(cfg)


LOGGER_NAMES = ("detectron2", "fvcore", "app")


def setup_logging(output_dir: str, rank: int = 0) -> None:
    """Log ``detectron2``, ``fvcore`` and ``app`` to the console (rank 0) and to
    ``output_dir/log.txt`` (``log.txt.rank{R}`` for other ranks).

    Unlike detectron2's cached ``setup_logger``, calling it again (a second run in the
    same process, e.g. from the GUI) replaces the handlers it added before: the console
    handler follows the current ``sys.stdout`` and the file handler the new folder.
    """
    fmt = logging.Formatter("[%(asctime)s %(name)s]: %(message)s", datefmt="%m/%d %H:%M:%S")
    handlers: list[logging.Handler] = []
    if rank == 0:
        console = logging.StreamHandler(sys.stdout)
        console.setLevel(logging.INFO)
        handlers.append(console)
    if output_dir:
        os.makedirs(output_dir, exist_ok=True)
        name = "log.txt" if rank == 0 else f"log.txt.rank{rank}"
        handlers.append(logging.FileHandler(os.path.join(output_dir, name), encoding="utf-8"))
    for h in handlers:
        h.setFormatter(fmt)
        h._wdp_engine = True  # type: ignore[attr-defined]
    for lname in LOGGER_NAMES:
        lg = logging.getLogger(lname)
        for old in [h for h in lg.handlers if getattr(h, "_wdp_engine", False)]:
            lg.removeHandler(old)
            old.close()
        lg.setLevel(logging.DEBUG)
        lg.propagate = False
        for h in handlers:
            lg.addHandler(h)


def build_ui_hooks(cfg: CfgNode, callback, control=None) -> list[HookBase]:
    """The Qt-free hooks a live view needs: metrics, evaluation results, previews, control.

    Args:
        callback: called on the training thread with plain dicts (see
            :mod:`app.backend.engine.hooks`); None = no reporting hooks.
        control: a :class:`TrainControl` for pause/resume/stop, or None.
    """
    out: list[HookBase] = []
    if callback is not None:
        out += [MetricsHook(callback, cfg.UI.METRICS_PERIOD), EvalResultsHook(callback)]
        if cfg.UI.PREVIEW_PERIOD > 0 and cfg.UI.PREVIEW_SAMPLES > 0 and len(cfg.DATASETS.TEST):
            samples = DatasetCatalog.get(cfg.DATASETS.TEST[0])[: cfg.UI.PREVIEW_SAMPLES]
            out.append(PreviewHook(callback, cfg.UI.PREVIEW_PERIOD, samples))
    if control is not None:
        out.append(ControlHook(control, callback))  # last: it may end the loop
    return out


#: What a stop in each phase before the main loop says.
_PHASE_WORDS = {"stats": "the CSI normalisation pass", "read": "reading the training samples", "pretrain": "MTN pretraining"}


def run_training(cfg: CfgNode, resume: bool = False, callback=None, control=None, extra_hooks=()) -> dict:
    """Train in this process (the GUI's worker thread, a notebook, one DDP worker).

    OUTPUT_DIR is locked for the run (:class:`~app.backend.output_lock.OutputLock`, re-entrant:
    the CLI takes it before it writes anything; DDP workers run under their launcher's lock).

    Args:
        cfg: full config; datasets are registered from it; RNGs are seeded with
            ``SEED`` + rank (random when SEED < 0).
        resume: continue from OUTPUT_DIR/last_checkpoint when present.
        callback: receives the run's plain dicts (see :mod:`app.backend.engine.hooks`).
        control: :class:`TrainControl` for pause/resume/stop, obeyed in every phase.
        extra_hooks: more hooks, registered after the reporting hooks and before the
            control hook.

    Returns:
        ``{"status": "finished" | "stopped" | "diverged", "phase": where it ended ("" when
        finished, else one of ``PHASES``), "iteration": last completed iteration (0-based, -1 if
        none), "max_iter", "last_checkpoint": a checkpoint of this run (saved by it, or the one it
        resumed from) or "", "resumable": True when ``--resume`` (Resume) continues training from
        ``last_checkpoint``, "results": flat {metric: float} of the final evaluation (finished
        runs), "message": one line for the user, "output_dir"}``.
        A stop in the phases before the main loop (``"stats"``, ``"read"``, ``"pretrain"``) saves
        nothing, and the message says so. A non-finite loss ends with ``"diverged"``; the model at
        that point is never saved, so ``last_checkpoint`` names the last good checkpoint.

    Raises:
        UserFacingError subclasses for bad datasets/checkpoints/configs; OutputInUseError when
        another run holds OUTPUT_DIR.
    """
    if comm.get_world_size() > 1:
        return _run_training(cfg, resume, callback, control, extra_hooks)
    with OutputLock(cfg.OUTPUT_DIR) as lock:
        if lock.note:
            logger.warning("%s", lock.note)
        return _run_training(cfg, resume, callback, control, extra_hooks)


def _run_training(cfg: CfgNode, resume: bool, callback, control, extra_hooks) -> dict:
    prepare_run(cfg)
    seed_all_rng(None if cfg.SEED < 0 else cfg.SEED + comm.get_rank())
    register_datasets(cfg)
    hooks = build_ui_hooks(cfg, callback) + list(extra_hooks)
    if control is not None:
        hooks.append(ControlHook(control, callback))  # last: it may end the loop
    try:
        trainer = Trainer(cfg, extra_hooks=hooks, callback=callback, control=control)
    except TrainingStopped as stop:  # in the CSI normalisation pass: there is no model yet
        return _summary(cfg, "stopped", stop.phase, -1, int(cfg.SOLVER.MAX_ITER), "", _stop_message(stop, ""))
    trainer.resume_or_load(resume=resume)
    resumed_from = trainer.checkpointer.get_checkpoint_file() if resume and trainer.start_iter > 0 else ""
    status, phase, message = "finished", "", ""
    stop: TrainingStopped | None = None
    try:
        if trainer.start_iter >= trainer.max_iter:
            message = f"nothing to do: already at iteration {trainer.start_iter} of {trainer.max_iter}"
            trainer.iter = trainer.start_iter - 1
        else:
            trainer.train()
            message = f"finished {trainer.max_iter} iterations"
            stop = trainer.eval_hook.stopped  # during the evaluation after the last iteration
    except TrainingStopped as exc:
        stop = exc
    except FloatingPointError as exc:
        status, phase = "diverged", "train"
        detail = " ".join(str(exc).split())
        last = _own_checkpoint(trainer, resumed_from)
        message = (
            f"loss became non-finite at iteration {trainer.iter}: {detail.split('loss_dict = ', 1)[-1]}; "
            + (f"last good checkpoint: {last}" if last else "no checkpoint was saved")
            + " (lower SOLVER.BASE_LR or enable SOLVER.CLIP_GRADIENTS)"
        )
        logger.error(message)
    if stop:
        status, phase = "stopped", stop.phase
    last_checkpoint = _own_checkpoint(trainer, resumed_from)
    if stop:
        message = _stop_message(stop, last_checkpoint, trainer.max_iter)
        logger.info(message)
    results = getattr(trainer, "_last_eval_results", None) if status == "finished" else None
    flat = {k: float(v) for k, v in flatten_results_dict(results or {}).items() if isinstance(v, (int, float))}
    last_iter = trainer.max_iter - 1
    if status == "diverged":
        last_iter = trainer.iter - 1
    elif stop is not None:
        last_iter = trainer.start_iter - 1 if stop.phase in _PHASE_WORDS else stop.iteration
    return _summary(cfg, status, phase, int(last_iter), int(trainer.max_iter), last_checkpoint, message, flat)


def _own_checkpoint(trainer: Trainer, resumed_from: str) -> str:
    """The newest checkpoint this run saved, else the one it resumed from, else ""
    (a checkpoint an earlier run left in OUTPUT_DIR is not this run's state)."""
    if trainer.checkpointer.saved:
        return trainer.checkpointer.saved[-1][0]
    return resumed_from


def _stop_message(stop: TrainingStopped, checkpoint: str, max_iter: int = 0) -> str:
    if stop.phase in _PHASE_WORDS:
        return f"stopped during {_PHASE_WORDS[stop.phase]}; nothing was saved (training had not started)"
    where = f"after iteration {stop.iteration + 1}"
    if stop.phase == "eval":
        where = "during the final evaluation" if stop.iteration + 1 >= max_iter else f"during the evaluation {where}"
    return f"stopped {where}; " + (f"saved {checkpoint}" if checkpoint else "nothing was saved")


def _summary(cfg, status, phase, iteration, max_iter, last_checkpoint, message, results=None) -> dict:
    return {
        "status": status,
        "phase": phase,
        "iteration": iteration,
        "max_iter": max_iter,
        "last_checkpoint": last_checkpoint,
        "resumable": bool(last_checkpoint) and iteration + 1 < max_iter and status != "finished",
        "results": results or {},
        "message": message,
        "output_dir": cfg.OUTPUT_DIR,
    }

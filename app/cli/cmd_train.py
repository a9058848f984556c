"""``python main.py train``: detectron2-style training (and ``--eval-only``) on one or many devices.

Conventions of detectron2's ``tools/train_net.py``::

    python main.py train --config-file F [--resume] [--eval-only] [--num-gpus N]
        [--num-machines M] [--machine-rank R] [--dist-url URL] [KEY VALUE ...]

With N * M > 1 the run goes through ``launch`` (DDP: NCCL on GPUs, gloo on CPUs).
Progress and ETA are logged every 20 iterations (and metrics.json/TensorBoard written
to OUTPUT_DIR); the phases before the first iteration (CSI statistics, reading the samples,
MTN pretraining) print their progress every few seconds.

Ctrl+C (SIGINT) in a single-process run stops it within a unit of work in any phase (a sample, a
file, a step, an evaluated image): a checkpoint is saved when training had started, the command
that resumes it (or that starts again, when nothing could be saved) is printed, and the exit
status is 130. A second Ctrl+C aborts at once.
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
import time

from app.cli import UserError


def add_launch_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments of detectron2's ``default_argument_parser`` (minus the ones we do not use)."""
    p.add_argument("--config-file", default="", metavar="FILE", help="YAML config (its _BASE_ chain is followed)")
    p.add_argument("--resume", action="store_true", help="continue from OUTPUT_DIR/last_checkpoint if it exists")
    p.add_argument("--num-gpus", type=int, default=1, help="processes per machine (one per GPU; on CPU, gloo processes)")
    p.add_argument("--num-machines", type=int, default=1, help="total number of machines")
    p.add_argument("--machine-rank", type=int, default=0, help="rank of this machine (0 .. num-machines - 1)")
    p.add_argument(
        "--dist-url", default="auto", help="tcp://HOST:PORT of machine 0 for multi-machine jobs ('auto': a free local port)"
    )
    p.add_argument("opts", nargs=argparse.REMAINDER, metavar="KEY VALUE", help="config overrides")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a model (detectron2 conventions; DDP over --num-gpus/--num-machines)")
    add_launch_arguments(p)
    p.add_argument("--eval-only", action="store_true", help="only evaluate MODEL.WEIGHTS (or the last checkpoint with --resume)")
    p.set_defaults(func=run)


NOTHING_TO_EVALUATE = "nothing to evaluate: set MODEL.WEIGHTS (or use --resume with a trained OUTPUT_DIR)"


def check_args(args: argparse.Namespace):
    """Fail fast, in the launching process, on arguments and configs that cannot work; returns the config."""
    # imported when the command runs (detectron2, torch, scipy): `main.py --help` stays fast
    from app.backend.config import load_config

    if args.num_gpus < 1 or args.num_machines < 1:
        raise UserError("--num-gpus and --num-machines must be at least 1")
    if not 0 <= args.machine_rank < args.num_machines:
        raise UserError(f"--machine-rank must lie in 0..{args.num_machines - 1}")
    if args.num_machines > 1 and args.dist_url == "auto":
        raise UserError("multi-machine jobs need --dist-url tcp://HOST:PORT of machine 0")
    cfg = load_config(args.config_file or None, list(args.opts or []))  # raises ConfigError (exit 2)
    if getattr(args, "eval_only", False) and not cfg.MODEL.WEIGHTS and not getattr(args, "resume", False):
        raise UserError(NOTHING_TO_EVALUATE)  # before the demo data is made (minutes) for nothing
    ensure_demo_data(cfg)
    return cfg


def ensure_demo_data(cfg) -> None:
    """Make sure the synthetic demo dataset is there when the config uses it (:func:`ensure_demo_dataset`)."""
    # imported when the command runs (detectron2, torch, scipy): `main.py --help` stays fast
    from app.backend.data.dataset import DEMO_DATASET_NAMES
    from app.backend.data.demo import ensure_demo_dataset
    from app.backend.paths import demo_root

    if not set(DEMO_DATASET_NAMES) & {*cfg.DATASETS.TRAIN, *cfg.DATASETS.TEST}:
        return
    demo = cfg.DATASETS.DEMO
    root = demo_root(demo.ROOT)
    try:
        status = ensure_demo_dataset(root, demo.NUM_TRAIN, demo.NUM_VAL, seed=demo.SEED, log=lambda t: print(t, flush=True))
    except OSError as exc:
        raise UserError(f"cannot write the demo dataset to {root}: {exc}") from None
    if status.state == "other_sizes":  # used as it is: it may be one the user made on purpose
        print(
            f"note: the demo dataset in {status.root} does not have the {demo.NUM_TRAIN} train + {demo.NUM_VAL} val "
            "frames this config names (DATASETS.DEMO.NUM_TRAIN/NUM_VAL); training on it as it is. "
            "`python main.py demo-data` makes it again at the default sizes.",
            flush=True,
        )


def run(args: argparse.Namespace) -> int:
    # imported when the command runs (like check_args'): `main.py --help` stays fast
    from app.backend.output_lock import OutputLock

    cfg = check_args(args)
    # one run per OUTPUT_DIR, taken before config.yaml, logs or checkpoints are written there
    # (OutputInUseError / WriteError: one error line, exit 2); DDP workers run under this lock, and
    # only machine 0 writes there (other machines of a job may share the folder)
    if args.machine_rank != 0:
        return _launch(args)
    with OutputLock(cfg.OUTPUT_DIR) as lock:
        if lock.note:
            print(f"note: {lock.note}", file=sys.stderr, flush=True)
        return _launch(args)


def _launch(args: argparse.Namespace) -> int:
    if args.num_gpus * args.num_machines == 1:
        return main_worker(args)
    # imported when the command runs (detectron2, torch, scipy): `main.py --help` stays fast
    import torch.multiprocessing as mp

    from app.backend.engine.distributed import launch

    try:
        launch(main_worker, args.num_gpus, args.num_machines, args.machine_rank, args.dist_url, args=(args,))
    except mp.ProcessExitedException as exc:
        print(f"error: a training process exited with status {exc.exit_code} (see its messages above)", file=sys.stderr)
        return int(exc.exit_code) if exc.exit_code and exc.exit_code > 0 else 1
    except mp.ProcessRaisedException as exc:
        print(f"error: a training process failed:\n{exc}", file=sys.stderr)
        return 1
    return 0


def main_worker(args: argparse.Namespace) -> int:
    """Body of one process (rank). Returns the exit code; in DDP workers a failure exits non-zero."""
    # imported when the command runs (detectron2, torch, scipy): `main.py --help` stays fast
    from detectron2.utils import comm

    from app.backend.errors import is_user_error

    distributed = comm.get_world_size() > 1
    try:
        code = _train_or_eval(args)
    except Exception as exc:
        if not (distributed and is_user_error(exc)):
            raise
        print(f"error: {exc}", file=sys.stderr)
        code = 2
    if distributed and code:
        sys.exit(code)
    return code


def _train_or_eval(args: argparse.Namespace) -> int:
    # imported when the command runs (detectron2, torch, scipy): `main.py --help` stays fast
    from detectron2.utils import comm

    from app.backend.engine import TrainControl, run_training, setup_cfg

    cfg = setup_cfg(args)
    if args.eval_only:
        results = evaluate(cfg, resume=args.resume)
        if comm.is_main_process():
            print(json.dumps(results, indent=1))
        return 0
    distributed = comm.get_world_size() > 1
    control = None if distributed else TrainControl()  # Ctrl+C in DDP: each process ends as Python does
    with _stop_on_sigint(control):
        result = run_training(cfg, resume=args.resume, callback=PhasePrinter() if comm.is_main_process() else None,
                              control=control)
    if not comm.is_main_process():
        return 0
    if result["status"] == "diverged":
        print(f"error: {result['message']}", file=sys.stderr)
        return 1
    print(result["message"])
    if result["results"]:
        print(json.dumps(result["results"], indent=1))
    if result["last_checkpoint"]:
        print(f"last checkpoint: {result['last_checkpoint']}")
    if result["status"] == "stopped":
        print(next_command(result, sys.argv), flush=True)
        return 130
    return 0


def next_command(result: dict, argv: list[str]) -> str:
    """What to run after a stopped run: resume it, evaluate it, or start it again."""
    words = list(argv[1:])
    if "--resume" not in words and "train" in words:
        words.insert(words.index("train") + 1, "--resume")
    command = shlex.join([sys.executable, argv[0], *words])
    if result["resumable"]:
        return f"to resume: {command}"
    if result["last_checkpoint"]:  # training is complete; its final evaluation was stopped
        words.insert(words.index("--resume") + 1, "--eval-only")
        return f"training is complete; to evaluate it: {shlex.join([sys.executable, argv[0], *words])}"
    return f"to start again: {shlex.join([sys.executable, *argv])}"


class _stop_on_sigint:
    """While active, the first SIGINT asks ``control`` to stop; a second one raises KeyboardInterrupt."""

    def __init__(self, control) -> None:
        self.control = control
        self._previous = None

    def _handle(self, signum, frame) -> None:
        if self.control.stop_requested:
            raise KeyboardInterrupt
        print("\nstopping (Ctrl+C again to abort without saving)...", file=sys.stderr, flush=True)
        self.control.stop()

    def __enter__(self):
        if self.control is not None:
            try:
                self._previous = signal.signal(signal.SIGINT, self._handle)
            except ValueError:  # not the main thread (a notebook's worker): no handler
                self.control = None
        return self

    def __exit__(self, *exc) -> None:
        if self.control is not None:
            signal.signal(signal.SIGINT, self._previous)


class PhasePrinter:
    """The run's progress before and between iterations on stdout: each phase's line every
    :attr:`PERIOD_S` seconds and when it ends (the main loop's own log lines report iterations)."""

    PERIOD_S = 5.0

    def __init__(self) -> None:
        self._last: dict[str, float] = {}

    def __call__(self, event: dict) -> None:
        if event.get("kind") != "progress" or event.get("phase") == "train":
            return
        phase, now = event["phase"], time.monotonic()
        end = event["done"] >= event["total"]
        if end or now - self._last.get(phase, 0.0) >= self.PERIOD_S:
            self._last[phase] = now
            print(f"[{phase}] {event['text']}", flush=True)


def evaluate(cfg, resume: bool = False) -> dict:
    """Evaluate MODEL.WEIGHTS (or OUTPUT_DIR's last checkpoint with ``resume``) on DATASETS.TEST."""
    # imported when the command runs (detectron2, torch, scipy): `main.py --help` stays fast
    from detectron2.evaluation.testing import flatten_results_dict

    from app.backend.checkpoint import AtomicCheckpointer
    from app.backend.data import register_datasets
    from app.backend.engine import Trainer

    register_datasets(cfg)
    model = Trainer.build_model(cfg)
    checkpointer = AtomicCheckpointer(model, cfg.OUTPUT_DIR, min_loaded_fraction=cfg.MODEL.MIN_LOADED_FRACTION)
    if not cfg.MODEL.WEIGHTS and not (resume and checkpointer.has_checkpoint()):
        raise UserError(NOTHING_TO_EVALUATE)
    checkpointer.resume_or_load(cfg.MODEL.WEIGHTS, resume=resume)
    results = Trainer.test(cfg, model)
    return {k: float(v) for k, v in flatten_results_dict(results or {}).items() if isinstance(v, (int, float))}

"""``python main.py eval --config-file F MODEL.WEIGHTS W``: COCO box/keypoint and DensePose metrics.

Same as ``train --eval-only`` (also over several processes with ``--num-gpus``).
"""

from __future__ import annotations

import argparse

from app.cli.cmd_train import add_launch_arguments
from app.cli.cmd_train import run as run_train


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="evaluate MODEL.WEIGHTS on DATASETS.TEST (box, keypoint, DensePose metrics)")
    add_launch_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    args.eval_only = True
    return run_train(args)

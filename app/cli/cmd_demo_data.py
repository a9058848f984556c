"""``python main.py demo-data``: generate the synthetic demo dataset (RGB, DensePose, simulated CSI)."""

from __future__ import annotations

import argparse
from pathlib import Path

from app.backend.data.demo_defaults import DEFAULT_NUM_TRAIN, DEFAULT_NUM_VAL, DEFAULT_WORKERS
from app.cli import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo-data", help="generate the synthetic demo dataset (people, DensePose, simulated WiFi CSI)")
    p.add_argument("--out", default="", metavar="DIR", help="output folder (default: the user data directory)")
    p.add_argument("--train", type=int, default=DEFAULT_NUM_TRAIN, metavar="N", help=f"train frames (default {DEFAULT_NUM_TRAIN})")
    p.add_argument("--val", type=int, default=DEFAULT_NUM_VAL, metavar="M", help=f"val frames (default {DEFAULT_NUM_VAL})")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument(
        "--workers", type=int, default=DEFAULT_WORKERS, metavar="N", help=f"render frames in N processes (default {DEFAULT_WORKERS})"
    )
    p.add_argument("--if-missing", action="store_true", help="do nothing if a complete demo dataset of these sizes is already there")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    # imported when the command runs (detectron2, torch, scipy): `main.py --help` stays fast
    from app.backend.data.demo import ensure_demo_dataset
    from app.backend.paths import default_demo_root

    if args.train < 0 or args.val < 0:
        raise UserError("--train and --val must be >= 0")
    if args.workers < 1:
        raise UserError("--workers must be >= 1")
    out = Path(args.out).expanduser() if args.out else default_demo_root()
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file, not a folder")
    try:
        status = ensure_demo_dataset(
            out, args.train, args.val, seed=args.seed, workers=args.workers,
            remake="other_sizes" if args.if_missing else "always",
        )  # fmt: skip
    except OSError as exc:
        raise UserError(f"cannot write the demo dataset to {out}: {exc}") from None
    if status.state != "generated":
        print(f"demo dataset already present: {out}")
        return 0
    print(f"wrote {args.train} train + {args.val} val frames to {out} in {status.seconds:.1f} s")
    print(f"  {out / 'train.json'}\n  {out / 'val.json'}")
    return 0

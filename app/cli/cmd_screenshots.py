"""``python main.py screenshots --out DIR``: PNG of every view after a short real training run."""

from __future__ import annotations

import argparse

from app.cli import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("screenshots", help="render every view of the app to PNG (offscreen) after a short demo run")
    p.add_argument("--out", default="docs/screenshots", help="folder for the PNG files (default: docs/screenshots)")
    p.add_argument("--iterations", type=int, default=20, help="training iterations before the screenshots (default 20)")
    p.add_argument("--project-dir", default=None, help="folder for the throw-away demo project (default: a temp folder)")
    p.set_defaults(func=run_screenshots)


def run_screenshots(args: argparse.Namespace) -> int:
    if args.iterations < 1:
        raise UserError("--iterations must be at least 1")
    from app.ui.shell.screenshots import take_screenshots  # Qt loads when the command runs, not for `main.py --help`

    paths = take_screenshots(args.out, iterations=args.iterations, project_dir=args.project_dir)
    print(f"{len(paths)} screenshots in {args.out}")
    return 0

"""``python main.py gui`` (also the default without a subcommand): open the desktop app."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gui", help="open the desktop app (the default)")
    p.add_argument("--project", help="project folder or its project.wdsproj file to open")
    p.set_defaults(func=run_gui)


def run_gui(args: argparse.Namespace) -> int:
    from app.ui.shell.main_window import run_app  # Qt loads only when the app opens, not for `main.py --help`

    return run_app(project=getattr(args, "project", None))

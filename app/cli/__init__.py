"""Headless command-line interface: ``python main.py SUBCOMMAND ...``.

Each subcommand lives in its own module ``app/cli/cmd_<name>.py`` that defines
``register(subparsers) -> None``; the parser it adds sets ``func`` (a callable taking
the parsed ``argparse.Namespace`` and returning an exit code). Modules are found
automatically, so adding a command never touches this file.

User errors raise :class:`UserError`: the dispatcher prints ``error: <message>`` on
one line and exits with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from app.cli.cmd_gui import run_gui


class UserError(Exception):
    """A problem with what the user asked for (bad path, bad config, bad input file)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="main.py",
        description="WiFi DensePose Studio. Without a subcommand, opens the desktop app.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    package = sys.modules[__name__]
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("cmd_"):
            module = importlib.import_module(f"{__name__}.{info.name}")
            module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None) or run_gui
    try:
        return int(func(args) or 0)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        # Known user-facing error types from the backend carry a clear message (imported here:
        # `main.py --help` loads no backend module).
        from app.backend.errors import is_user_error

        if is_user_error(exc):
            print(f"error: {exc}", file=sys.stderr)
            return 2
        raise

"""``python main.py config {dump,diff,help}``: inspect configs from the shell."""

from __future__ import annotations

import argparse
import json

from app.cli import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="print merged configs, their non-default keys, or key help")
    csub = p.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    for name, text in (("dump", "print the merged YAML"), ("diff", "print only keys that differ from get_cfg()")):
        q = csub.add_parser(name, help=text)
        q.add_argument("--config-file", default="", metavar="FILE", help="YAML config (its _BASE_ chain is followed)")
        q.add_argument("opts", nargs=argparse.REMAINDER, metavar="KEY VALUE", help="overrides")
        q.set_defaults(func=_dump if name == "dump" else _diff)
    q = csub.add_parser("help", help="one-line help of a key (or all keys with --json)")
    q.add_argument("key", nargs="?", help="dotted key, e.g. MODEL.MTN.OUTPUT_SIZE")
    q.add_argument("--json", action="store_true", help="print the whole help table of the project's keys as JSON")
    q.set_defaults(func=_help)


def _load(args: argparse.Namespace):
    # imported when the command runs (detectron2, torch, scipy): `main.py --help` stays fast
    from app.backend.config import load_config

    return load_config(args.config_file or None, args.opts)


def _dump(args: argparse.Namespace) -> int:
    print(_load(args).dump(), end="")
    return 0


def _diff(args: argparse.Namespace) -> int:
    # imported when the command runs (detectron2, torch, scipy): `main.py --help` stays fast
    import yaml

    from app.backend.config import diff_from_default

    diff = diff_from_default(_load(args))
    print(yaml.safe_dump({k: list(v) if isinstance(v, tuple) else v for k, v in diff.items()}, sort_keys=False), end="")
    return 0


def _help(args: argparse.Namespace) -> int:
    # imported when the command runs (detectron2, torch, scipy): `main.py --help` stays fast
    from app.backend.config import CONFIG_HELP, config_help, get_cfg

    get_cfg()  # fills CONFIG_HELP
    if args.json:
        print(json.dumps(CONFIG_HELP, indent=1))
        return 0
    if not args.key:
        raise UserError("config help needs a KEY (or --json)")
    print(f"{args.key}: {config_help(args.key)}")
    return 0

"""``python main.py live``: predict people from CSI as it arrives, headless.

::

    python main.py live --config-file F --weights W (--follow FILE | --udp HOST:PORT) [--out DIR]
                        [--max-windows N] [--hop K] [--replay-rate [R]] [--png-every N]
                        [--score-threshold S] [KEY VALUE ...]

``--follow`` reads a capture-tool log while the tool writes it (from its start, then as it grows;
a truncated or replaced file is reported and followed again). ``--replay-rate`` plays a finished
recording instead (any CSI file, or a dataset JSON): R packets per second, or as recorded without
R. ``--udp`` listens for nexmon_csi's UDP packets. A status line goes to stderr every second;
predictions go out as JSON lines (:mod:`app.backend.live.output`), to ``DIR/predictions.jsonl``
with ``--out`` (plus ``window_<n>.png`` overlays of every ``--png-every``-th window), else to
stdout. Ctrl+C ends the run after the window being predicted, with a summary.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from app.cli import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("live", help="predict from a capture log as it is written, a replay, or nexmon_csi UDP packets")
    p.add_argument("--config-file", default="", metavar="F", help="config of the trained model (e.g. OUTPUT_DIR/config.yaml)")
    p.add_argument("--weights", default="", metavar="W", help="checkpoint (.pth); default MODEL.WEIGHTS")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--follow", metavar="FILE", help="capture-tool log to follow as it grows (or to replay, see --replay-rate)")
    src.add_argument("--udp", metavar="HOST:PORT", help="listen for nexmon_csi UDP packets (e.g. 0.0.0.0:5500)")
    p.add_argument("--replay-rate", nargs="?", const="recorded", default=None, metavar="R",
                   help="replay --follow FILE (any CSI file or a dataset JSON) at R packets/s; without R as recorded")
    p.add_argument("--out", metavar="DIR", help="write DIR/predictions.jsonl and overlay PNGs (default: JSON lines to stdout)")
    p.add_argument("--max-windows", type=int, default=None, metavar="N", help="stop after N predicted windows")
    p.add_argument("--hop", type=int, default=None, metavar="K",
                   help="packets between window starts (default INPUT.CSI.PACKETS_PER_SAMPLE)")
    p.add_argument("--png-every", type=int, default=10, metavar="N", help="with --out: overlay PNG of every N-th window (default 10)")
    p.add_argument("--score-threshold", type=float, default=0.5, metavar="S", help="people are detections >= S (default 0.5)")
    p.add_argument("opts", nargs=argparse.REMAINDER, metavar="KEY VALUE", help="config overrides")
    p.set_defaults(func=run)


def source_spec(args: argparse.Namespace) -> object:
    from app.backend.live.source import SourceSpec

    if args.udp:
        if args.replay_rate is not None:
            raise UserError("--replay-rate replays a file: use it with --follow FILE, not --udp")
        return SourceSpec("udp", address=args.udp)
    if args.replay_rate is None:
        return SourceSpec("follow", path=args.follow)
    rate = None
    if args.replay_rate != "recorded":
        try:
            rate = float(args.replay_rate)
        except ValueError:
            rate = -1.0
        if not rate > 0:
            raise UserError(f"--replay-rate {args.replay_rate!r}: give packets per second (> 0), or no value for as recorded")
    return SourceSpec("replay", path=args.follow, rate=rate)


def check_args(args: argparse.Namespace) -> None:
    for name in ("max_windows", "hop", "png_every"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UserError(f"--{name.replace('_', '-')} must be at least 1, got {value}")


def run(args: argparse.Namespace) -> int:
    check_args(args)
    spec = source_spec(args)
    from app.backend.live.source import open_source  # backend modules load when the command runs

    source = open_source(spec)  # type: ignore[arg-type]  # first: a wrong path or address fails at once
    try:
        predictor = _load_predictor(args)  # the model stack (torch, detectron2) loads here
        from app.backend.live.output import OverlayWriter, PredictionLog
        from app.backend.live.pipeline import LivePipeline
        from app.backend.live.stats import format_summary
        from app.backend.vis import OverlayOptions

        out = Path(args.out) if args.out else None
        if out is not None:
            try:
                out.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise UserError(f"cannot create {out}: {exc.strerror or exc}") from exc
        options = OverlayOptions(score_threshold=args.score_threshold)
        pipeline = LivePipeline(source, predictor, hop=args.hop, score_threshold=args.score_threshold, options=options)
        log = PredictionLog(out / "predictions.jsonl" if out else sys.stdout, source.name, args.score_threshold)
    except BaseException:
        source.close()  # the pipeline closes it once it runs
        raise
    pngs = OverlayWriter(out, args.png_every) if out else None
    status = _Status(pipeline)

    def on_result(result: object) -> None:
        log.write(result)  # type: ignore[arg-type]
        if pngs is not None:
            pngs.write(result)  # type: ignore[arg-type]

    stop = threading.Event()
    print(f"live: {spec.describe()} -> {out / 'predictions.jsonl' if out else 'stdout'} (Ctrl+C ends)", file=sys.stderr, flush=True)  # type: ignore[attr-defined]
    with _sigint_sets(stop), status:
        try:
            summary = pipeline.run(on_result, should_stop=stop.is_set, max_windows=args.max_windows, on_event=status.event)
        finally:
            log.close()
    if stop.is_set():
        print("interrupted", file=sys.stderr)
    print(format_summary(summary), file=sys.stderr)
    if pngs is not None:
        print(f"wrote {log.lines} prediction line(s) and {len(pngs.written)} overlay(s) to {out}", file=sys.stderr)
    return 0


def _load_predictor(args: argparse.Namespace) -> object:
    from app.backend.config import load_config
    from app.backend.engine.predictor import Predictor

    cfg = load_config(args.config_file or None, list(args.opts or []))
    if cfg.INPUT.MODALITY != "csi":
        raise UserError("live predicts from CSI: this config's INPUT.MODALITY is 'image'")
    weights = args.weights or cfg.MODEL.WEIGHTS
    if not weights:
        raise UserError("no weights: pass --weights W (or MODEL.WEIGHTS W)")
    if not os.path.isfile(weights):
        raise UserError(f"weights not found: {weights}")
    return Predictor(cfg, weights)


class _Status:
    """A status line on stderr every second (from its own thread), and each input problem as it happens."""

    def __init__(self, pipeline: object) -> None:
        self.pipeline = pipeline
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="live-status", daemon=True)

    def __enter__(self) -> _Status:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._done.wait(1.0):
            print(self.pipeline.stats.snapshot().status_line(), file=sys.stderr, flush=True)  # type: ignore[attr-defined]

    def event(self, event: object) -> None:
        print(f"{event.kind}: {event.message}", file=sys.stderr, flush=True)  # type: ignore[attr-defined]


@contextlib.contextmanager
def _sigint_sets(stop: threading.Event) -> Iterator[None]:
    """While inside: Ctrl+C (SIGINT) sets ``stop`` (a second one interrupts at once)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)

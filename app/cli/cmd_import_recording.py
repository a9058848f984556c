"""``python main.py import-recording``: video (or frames) + CSI log -> dataset folder (no labels yet)."""

from __future__ import annotations

import argparse
import json

from app.cli import UserError

HELP = """\
Extract frames, align the CSI packets to them by timestamps and write one CSI window per
frame: OUT/dataset.json (COCO images, no annotations), OUT/images/*.jpg, OUT/csi/*.npz,
OUT/import_report.json. Window rule: the packet nearest to the frame time (ties: the
earlier one) and (P-1)//2 packets before it, P in all; frames with no packet within
1.5x the median packet interval are left out. Run the same command again to resume.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import-recording",
        help="import a synchronised video + CSI log as a dataset (frames + CSI windows)",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--video", metavar="FILE", help="video file (anything OpenCV reads)")
    src.add_argument("--frames", metavar="DIR", help="folder of frame images (natural name order)")
    p.add_argument("--csi", required=True, metavar="LOG", help="CSI log: Intel 5300 or Atheros .dat, ESP32 .csv, nexmon .pcap, PicoScenes .csi, MM-Fi .mat, .npz or .npy")
    p.add_argument("--out", required=True, metavar="DIR", help="output dataset folder")
    p.add_argument("--packets-per-frame", type=int, default=5, metavar="P", help="CSI packets per frame (default 5)")
    p.add_argument(
        "--offset-ms",
        type=float,
        default=0.0,
        metavar="X",
        help="time of the first video frame after the first CSI packet, in ms (default 0)",
    )
    p.add_argument(
        "--fps", type=float, default=None, metavar="F", help="frame rate for frame times (overrides the video's)"
    )
    p.add_argument(
        "--max-offset-ms",
        type=float,
        default=None,
        metavar="MS",
        help="largest frame-to-packet distance that still matches (default 1.5x the median packet interval)",
    )
    p.add_argument("--jpeg-quality", type=int, default=95, metavar="Q", help="JPEG quality of the frames (default 95)")
    p.add_argument("--restart", action="store_true", help="redo an unfinished import made with other settings")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # imported when the command runs (detectron2, torch, scipy): `main.py --help` stays fast
    from app.backend.capture.recording_import import RecordingImportOptions, default_log_progress, import_recording

    if args.packets_per_frame < 1:
        raise UserError("--packets-per-frame must be at least 1")
    if not 1 <= args.jpeg_quality <= 100:
        raise UserError("--jpeg-quality must be in 1..100")
    opts = RecordingImportOptions(
        out_dir=args.out,
        csi=args.csi,
        video=args.video,
        frames_dir=args.frames,
        packets_per_frame=args.packets_per_frame,
        offset_ms=args.offset_ms,
        fps=args.fps,
        max_offset_ms=args.max_offset_ms,
        jpeg_quality=args.jpeg_quality,
        restart=args.restart,
    )
    report = import_recording(opts, progress=None if args.quiet else default_log_progress())
    if args.json:
        print(json.dumps(report.to_dict(), indent=1))
    else:
        print("\n".join(report.lines()))
    return 0 if report.complete else 1

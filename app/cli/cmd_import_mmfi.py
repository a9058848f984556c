"""``python main.py import-mmfi ROOT --out DIR``: MM-Fi sequences -> our dataset format."""

from __future__ import annotations

import argparse

HELP = """\
Imports MM-Fi's ROOT/E??/S??/A??/ folders: wifi-csi/frameNNN.mat (CSIamp/CSIphase, 10 packets
a frame) become csi/*.npz, rgb/frameNNN.npy 2D keypoints become COCO person annotations
(order detected per sequence: COCO or Human3.6M), rgb/frameNNN.png|jpg frames are copied
where present. ground_truth.npy (3D) is not imported. Run again to resume.
"""


def _names(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split(",") if s.strip())


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import-mmfi",
        help="import MM-Fi sequences (WiFi CSI + 2D keypoints) as a dataset",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("root", metavar="ROOT", help="MM-Fi dataset root (holds E01..E04)")
    p.add_argument("--out", required=True, metavar="DIR", help="output dataset folder")
    p.add_argument("--environments", type=_names, default=(), metavar="E01,E02", help="only these environments")
    p.add_argument("--subjects", type=_names, default=(), metavar="S01,...", help="only these subjects")
    p.add_argument("--actions", type=_names, default=(), metavar="A01,...", help="only these actions")
    p.add_argument(
        "--image-size",
        type=int,
        nargs=2,
        default=(640, 480),
        metavar=("W", "H"),
        help="frame size for sequences without RGB frames (default 640 480)",
    )
    p.add_argument(
        "--keypoint-order", choices=("auto", "coco", "h36m"), default="auto", help="order of MM-Fi keypoints"
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # imported when the command runs (detectron2, torch, scipy): `main.py --help` stays fast
    from app.backend.capture.mmfi_import import MmfiImportOptions, import_mmfi
    from app.backend.capture.recording_import import default_log_progress

    opts = MmfiImportOptions(
        root=args.root,
        out_dir=args.out,
        environments=args.environments,
        subjects=args.subjects,
        actions=args.actions,
        image_size=tuple(args.image_size),
        keypoint_order=args.keypoint_order,
    )
    report = import_mmfi(opts, progress=None if args.quiet else default_log_progress())
    print("\n".join(report.lines()))
    return 0 if report.complete else 1

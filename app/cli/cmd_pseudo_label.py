"""``python main.py pseudo-label``: label a dataset's RGB frames with image teachers.

::

    python main.py pseudo-label --config-file resources/configs/image_densepose_R50_FPN_s1x.yaml \\
        MODEL.WEIGHTS W --dataset JSON --out JSON [--keypoint-config F --keypoint-weights W] [--score-thresh T]

Writes boxes, 17 keypoints and COCO-DensePose fields (about 100 points per person, 14
``dp_masks``) marked ``"pseudo_label": {"model", "score", "keypoint_model"}``. Frames with
human labels are left alone. Resumable: run the same command again after an interruption.
"""

from __future__ import annotations

import argparse

from app.cli import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pseudo-label",
        help="label RGB frames with an image DensePose (+ keypoint) teacher",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config-file", required=True, metavar="FILE", help="image DensePose teacher config")
    p.add_argument("--dataset", required=True, metavar="JSON", help="dataset JSON with RGB frames (file_name)")
    p.add_argument("--out", required=True, metavar="JSON", help="output dataset JSON (may equal --dataset)")
    p.add_argument("--keypoint-config", metavar="FILE", help="optional keypoint teacher config (image modality)")
    p.add_argument("--keypoint-weights", metavar="W", help="weights of the keypoint teacher")
    p.add_argument(
        "--score-thresh", type=float, default=0.7, metavar="T", help="keep people scoring >= T (default 0.7)"
    )
    p.add_argument("--points", type=int, default=100, metavar="N", help="DensePose points per person (default 100)")
    p.add_argument("--restart", action="store_true", help="discard the progress of an earlier run with other settings")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument("opts", nargs="*", metavar="KEY VALUE", help="teacher config overrides, e.g. MODEL.WEIGHTS W")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # imported when the command runs (detectron2, torch, scipy): `main.py --help` stays fast
    from app.backend.capture.pseudo_label import PseudoLabelOptions, pseudo_label_dataset
    from app.backend.capture.recording_import import default_log_progress

    if len(args.opts) % 2:
        raise UserError(f"config overrides must be KEY VALUE pairs, got {' '.join(args.opts)}")
    if args.points < 1:
        raise UserError("--points must be at least 1")
    opt = PseudoLabelOptions(
        dataset=args.dataset,
        out=args.out,
        config_file=args.config_file,
        opts=list(args.opts),
        keypoint_config=args.keypoint_config,
        keypoint_weights=args.keypoint_weights,
        score_thresh=args.score_thresh,
        points_per_person=args.points,
        restart=args.restart,
    )
    report = pseudo_label_dataset(opt, progress=None if args.quiet else default_log_progress())
    print("\n".join(report.lines()))
    return 0 if report.complete else 1

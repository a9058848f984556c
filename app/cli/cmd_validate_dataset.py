"""``python main.py validate-dataset JSON``: list every problem of a COCO-DensePose(+CSI) dataset."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate-dataset",
        help="check a dataset JSON and the files it references; exit 1 if anything is wrong",
    )
    p.add_argument("json_file", metavar="JSON", help="COCO-DensePose(+CSI) annotation file")
    p.add_argument("--no-decode", action="store_true", help="only check that referenced files exist (faster)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    # imported when the command runs (detectron2, torch, scipy): `main.py --help` stays fast
    from app.backend.data.validate import validate_dataset

    report = validate_dataset(args.json_file, decode_files=not args.no_decode)
    if args.json:
        doc = {
            "path": str(report.path),
            "images": report.num_images,
            "annotations": report.num_annotations,
            "ok": report.ok,
            "problems": [{"image_id": p.image_id, "ann_id": p.ann_id, "message": p.message} for p in report.problems],
        }
        print(json.dumps(doc, indent=1))
    else:
        for problem in report.problems:
            print(problem)
        print(report.summary())
    return 0 if report.ok else 1

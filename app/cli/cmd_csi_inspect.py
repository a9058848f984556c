"""``python main.py csi-inspect FILE [--json] [--plot OUT.png]``: what is in a CSI file.

Prints format, packets, shape, antennas, time span, packet rate, non-finite count and
amplitude / raw / sanitized phase statistics. ``--plot`` writes amplitude and phase
heatmaps, raw beside repaired/sanitized. A bad file prints one ``error:`` line, exit 2.
"""

from __future__ import annotations

import argparse
import json

from app.cli import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("csi-inspect", help="summarise a CSI file (Intel 5300 or Atheros .dat, ESP32 .csv, nexmon .pcap, PicoScenes .csi, MM-Fi .mat, .npy, .npz)")
    p.add_argument("file", metavar="FILE", help="CSI file; the format is detected from its content")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--plot", metavar="OUT.png", default="", help="write amplitude/phase heatmaps (raw | sanitized) as PNG")
    p.add_argument("--median-kernel", type=int, nargs=2, default=[3, 3], metavar=("T", "F"),
                   help="median filter size over (packets, subcarriers) for sanitization")
    p.add_argument("--uniform-kernel", type=int, nargs=2, default=[3, 3], metavar=("T", "F"),
                   help="moving-average size over (packets, subcarriers) for sanitization")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    # imported when the command runs (detectron2, torch, scipy): `main.py --help` stays fast
    from app.backend.data.csi.readers import read_csi
    from app.backend.data.csi.summary import format_summary, process_recording, summarize

    if min(args.median_kernel + args.uniform_kernel) < 1:
        raise UserError("filter sizes must be >= 1")
    rec = read_csi(args.file)  # CsiFormatError -> one error line, exit 2
    proc = process_recording(rec, args.median_kernel, args.uniform_kernel)
    info = summarize(proc)
    if args.plot:
        from app.backend.data.csi.plot import render_csi_heatmaps, write_png

        info["plot"] = str(write_png(args.plot, render_csi_heatmaps(proc)))  # WriteError: one error line
    if args.json:
        print(json.dumps(info, indent=1))
    else:
        print(format_summary(info))
        if args.plot:
            print(f"plot:            {info['plot']}")
    return 0

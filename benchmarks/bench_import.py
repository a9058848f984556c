"""Recording import throughput (frames/s) on a synthetic recording, side by side with its parts.

Run: ``.venv/bin/python benchmarks/bench_import.py [--frames N] [--size W H] [--repeat R]``

The recording: an MJPG video of N frames at 20 FPS and an Intel 5300 ``.dat`` log at
100 packets/s (3x2 antennas) that wraps its µs counter, with a dropped stretch. Rows
(median of R runs, same process, same files, warm page cache):

* decode + JPEG only: read every frame with OpenCV and encode it as JPEG (the floor any
  import pays for its images);
* align only: read_csi + cleaning + matching of all frames (no per-frame output);
* full import: ``import_recording`` into a fresh folder (frames, CSI windows, JSON, report);
* resume of a finished import: nothing left to write (the cost of re-running).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _median(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    import cv2

    from app.backend.capture.align import align_frames
    from app.backend.capture.frames import VideoFrames
    from app.backend.capture.recording_import import RecordingImportOptions, import_recording
    from app.backend.capture.synthetic import make_synthetic_recording
    from app.backend.data.csi import read_csi

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=600, help="video frames (default 600 = 30 s at 20 FPS)")
    ap.add_argument("--size", type=int, nargs=2, default=(640, 480), metavar=("W", "H"), help="frame size")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-import-"))
    try:
        t0 = time.perf_counter()
        rec = make_synthetic_recording(
            work / "src",
            num_frames=args.frames,
            image_size=(args.size[1], args.size[0]),
            dropped=tuple(range(300, 320)),
            duplicated=(50,),
        )
        print(f"synthetic recording: {args.frames} frames {args.size[0]}x{args.size[1]}, "
              f"{rec.packet_ids.size} packets, made in {time.perf_counter() - t0:.1f} s")  # fmt: skip

        def decode_encode() -> None:
            cap = cv2.VideoCapture(str(rec.video))
            while True:
                ok, img = cap.read()
                if not ok:
                    break
                cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 95])
            cap.release()

        def align_only() -> None:
            r = read_csi(rec.csi)
            align_frames(VideoFrames(rec.video).times, r.timestamps, 5, rec.offset_s)

        runs = iter(range(10**6))

        def full() -> None:
            out = work / f"out{next(runs)}"
            report = import_recording(
                RecordingImportOptions(out, rec.csi, video=rec.video, offset_ms=rec.offset_s * 1e3)
            )
            assert report.complete

        done = work / "done"
        opts = RecordingImportOptions(done, rec.csi, video=rec.video, offset_ms=rec.offset_s * 1e3)
        import_recording(opts)

        def resume() -> None:
            assert import_recording(opts).frames_written_this_run == 0

        decode_encode()  # warm-up (imports, page cache)
        rows = [
            ("decode + JPEG only", _median(decode_encode, args.repeat)),
            ("align only", _median(align_only, args.repeat)),
            ("full import", _median(full, args.repeat)),
            ("resume of a finished import", _median(resume, args.repeat)),
        ]
        floor = rows[0][1]
        print(f"{'row':32s} {'seconds':>9s} {'frames/s':>10s} {'x floor':>8s}")
        for name, sec in rows:
            print(f"{name:32s} {sec:9.3f} {args.frames / sec:10.1f} {sec / floor:8.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Import a synchronised video (or frame folder) + CSI log into our dataset format.

Output layout (``out_dir``)::

    dataset.json          COCO JSON: images only (file_name, csi_file, height, width), no annotations
    images/NNNNNN.jpg     frame NNNNNN of the source (index in the video / folder order)
    csi/NNNNNN.npz        its CSI window (our ``wifi-densepose-csi/1`` format, P packets)
    import_report.json    the alignment report (stream statistics, drift, unmatched frames)
    .import_state.json    resume state (settings fingerprint + finished frames)

Alignment: :mod:`app.backend.capture.align` (the exact window rule is documented there).
Frames with no packet within the tolerance are left out and counted.

Resuming: every per-frame file is written atomically, so a frame is either complete or
absent; the state file lists finished frames and is rewritten atomically every couple of
seconds and on stop. Running the same import again skips finished frames (a video's
skipped frames are grabbed, not decoded). Different settings on a folder that holds an
unfinished import are refused unless ``restart=True``. ``dataset.json`` is written
atomically once every frame is done.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.backend.atomic_write import atomic_write, atomic_write_json, ensure_dir
from app.backend.capture.align import Alignment, align_frames
from app.backend.capture.coco_json import empty_dataset, read_json_or_none
from app.backend.capture.frames import open_frames
from app.backend.errors import DatasetError

logger = logging.getLogger(__name__)

STATE_NAME = ".import_state.json"
STATE_FORMAT = "wifi-densepose-import-state/1"
DATASET_NAME = "dataset.json"
REPORT_NAME = "import_report.json"
STATE_SAVE_INTERVAL_S = 2.0


@dataclass
class RecordingImportOptions:
    """What to import and how (the CLI flags of ``import-recording``)."""

    out_dir: Path
    csi: Path
    video: Path | None = None
    frames_dir: Path | None = None
    packets_per_frame: int = 5
    offset_ms: float = 0.0
    fps: float | None = None
    max_offset_ms: float | None = None  #: default 1.5x the median packet interval
    jpeg_quality: int = 95
    restart: bool = False

    def __post_init__(self) -> None:
        for name in ("out_dir", "csi", "video", "frames_dir"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, Path(value))
        if not self.csi.is_file():
            raise FileNotFoundError(f"CSI log not found: {self.csi}")
        if self.video is not None and not self.video.is_file():
            raise FileNotFoundError(f"video not found: {self.video}")
        if self.frames_dir is not None and not self.frames_dir.is_dir():
            raise FileNotFoundError(f"frame folder not found: {self.frames_dir}")
        if self.packets_per_frame < 1:
            raise DatasetError(f"packets per frame must be at least 1, got {self.packets_per_frame}")
        for name, value, low in (("fps", self.fps, 0.0), ("offset_ms", self.offset_ms, None),
                                 ("max_offset_ms", self.max_offset_ms, 0.0)):
            if value is not None and not (math.isfinite(value) and (low is None or value > low)):
                raise DatasetError(f"{name} must be a finite number{'' if low is None else ' > 0'}, got {value}")


@dataclass
class ImportProgress:
    """One progress update (plain values, safe to hand to another thread)."""

    done: int
    total: int
    elapsed_s: float
    eta_s: float | None
    stage: str

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    def format(self) -> str:
        eta = f", ETA {self.eta_s:.0f} s" if self.eta_s is not None else ""
        return (
            f"{self.stage}: {self.done}/{self.total} frames ({100 * self.fraction:.0f}%), {self.elapsed_s:.1f} s{eta}"
        )


ProgressCallback = Callable[[ImportProgress], None]
StopCheck = Callable[[], bool]


@dataclass
class RecordingImportReport:
    """Outcome of :func:`import_recording`."""

    out_dir: Path
    complete: bool
    cancelled: bool
    frames_total: int
    frames_matched: int
    frames_done: int
    frames_written_this_run: int
    elapsed_s: float
    alignment: dict
    time_source: str
    json_path: Path | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["out_dir"] = str(self.out_dir)
        d["json_path"] = str(self.json_path) if self.json_path else None
        return d

    def lines(self) -> list[str]:
        """Human-readable summary (CLI output)."""
        a, s = self.alignment, self.alignment["csi"]
        seq = s["dropped_from_sequence"]
        rate = self.frames_written_this_run / self.elapsed_s if self.elapsed_s > 0 else 0.0
        drift, drift_err = a["clock_drift_ppm"], a["clock_drift_stderr_ppm"]
        out = [
            f"CSI: {s['num_packets']} packets over {s['duration_s']:.3f} s, {s['packet_rate_hz']:.2f} packets/s "
            f"(median interval {s['median_interval_s'] * 1e3:.2f} ms)",
            f"CSI: {s['duplicates']} duplicated, {s['out_of_order']} out of order, {s['gaps']} gaps "
            f"(largest {s['largest_gap_s'] * 1e3:.1f} ms), about {s['dropped_from_gaps']} dropped from gaps"
            + (f", {seq} from sequence numbers" if seq is not None else "")
            + (f", {s['wraps']} timestamp wrap-arounds" if s.get("wraps") else ""),
            f"video: {self.frames_total} frames ({self.time_source}); spans {a['video_span_s'][0]:.3f} .. "
            f"{a['video_span_s'][1]:.3f} s vs CSI {a['csi_span_s'][0]:.3f} .. {a['csi_span_s'][1]:.3f} s",
            f"matched {self.frames_matched}/{self.frames_total} frames ({a['frames_unmatched']} without a packet within "
            f"{a['max_offset_s'] * 1e3:.1f} ms); mean |match error| {a['mean_abs_match_error_ms'] or 0:.2f} ms; "
            "clock drift "
            + (f"{drift:+.1f} ± {drift_err:.1f} ppm" if drift is not None else "n/a (fewer than 3 matches)"),
            f"wrote {self.frames_written_this_run} frames in {self.elapsed_s:.2f} s ({rate:.1f} frames/s); "
            f"{self.frames_done}/{self.frames_matched} done",
        ]
        out += self.notes
        if self.complete and self.json_path:
            out.append(f"dataset: {self.json_path}")
        elif not self.complete:
            out.append("import interrupted: run the same command again to resume")
        return out


def _fingerprint(path: Path | None) -> list | None:
    if path is None:
        return None
    st = path.stat()
    return [str(path.resolve()), st.st_size, st.st_mtime_ns] if path.is_file() else [str(path.resolve())]


def _settings(opt: RecordingImportOptions) -> dict:
    return {
        "csi": _fingerprint(opt.csi),
        "video": _fingerprint(opt.video),
        "frames_dir": _fingerprint(opt.frames_dir),
        "packets_per_frame": opt.packets_per_frame,
        "offset_ms": opt.offset_ms,
        "fps": opt.fps,
        "max_offset_ms": opt.max_offset_ms,
        "jpeg_quality": opt.jpeg_quality,
    }


def _load_state(out: Path, settings: dict, restart: bool) -> dict:
    state_path = out / STATE_NAME
    state = read_json_or_none(state_path)
    fresh = {"format": STATE_FORMAT, "settings": settings, "done": {}}
    if state is None or restart:
        if state is None and (out / DATASET_NAME).exists():
            raise DatasetError(
                f"{out} already holds a dataset.json that this importer did not write; choose another --out"
            )
        return fresh
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT or not isinstance(state.get("done"), dict):
        raise DatasetError(f"{state_path} is not an import state file; remove it or choose another --out")
    if state.get("settings") != settings:
        raise DatasetError(
            f"{out} holds an import made with other inputs or settings; use another --out, or --restart to redo it"
        )
    return state


def _intel_counters(rec) -> tuple[np.ndarray | None, int]:
    """Sequence numbers (Intel 5300 ``bfee_count``) and timestamp wrap-arounds of a CSI log.

    Wrap-arounds come from the reader (``rec.meta["clock"]``, every capture tool); only
    Intel logs carry usable sequence numbers (None otherwise). ``read_csi`` has validated
    the file already.
    """
    wraps = int(rec.meta.get("clock", {}).get("wraps", 0))
    if rec.source_format != "intel5300" or not rec.path:
        return None, wraps
    import csiread

    parsed = csiread.Intel(rec.path, nrxnum=3, ntxnum=3, pl_size=0, if_report=False)
    parsed.read()
    bfee = np.asarray(parsed.bfee_count)
    return (bfee if bfee.shape == (rec.num_packets,) else None), wraps


def _clock_note(rec) -> list[str]:
    """Which clock the CSI timestamps come from (the sync only uses times relative to the first packet)."""
    clock = rec.meta.get("clock")
    if not clock:
        return []
    where = "the capture device's own clock" if clock["source"] == "device" else "the capture host's clock"
    return [f"CSI timestamps: {where} ({rec.meta.get('tool', rec.source_format)}); aligned relative to the first packet"]


def import_recording(
    opt: RecordingImportOptions,
    progress: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
) -> RecordingImportReport:
    """Import a recording (see the module doc); safe to call again to resume.

    Args:
        opt: inputs and settings.
        progress: called with an :class:`ImportProgress` after every frame (from the calling
            thread; throttle in the UI).
        should_stop: polled once per frame; when it returns True the state is saved and the
            report comes back with ``complete=False, cancelled=True``.

    Raises:
        StreamsDoNotOverlapError, AlignmentError, CsiFormatError, FrameSourceError, DatasetError
        (all UserFacingError).
    """
    # on first use: the annotation editor imports this module (through pseudo_label), and the
    # CSI package pulls in scipy (~0.3 s)
    import cv2

    from app.backend.data.csi import read_csi, write_csi_npz

    t0 = time.perf_counter()
    out = Path(opt.out_dir)
    ensure_dir(out / "images")  # WriteError: read-only, not permitted, a file in the way
    settings = _settings(opt)
    state = _load_state(out, settings, opt.restart)

    rec = read_csi(opt.csi)
    sequence, wraps = _intel_counters(rec)
    source = open_frames(opt.video, opt.frames_dir, opt.fps)
    align: Alignment = align_frames(
        source.times,
        rec.timestamps,
        packets_per_frame=opt.packets_per_frame,
        offset_s=opt.offset_ms * 1e-3,
        sequence=sequence,
        max_offset_s=None if opt.max_offset_ms is None else opt.max_offset_ms * 1e-3,
    )
    align.stream.wraps = wraps
    summary = align.summary()
    notes = list(rec.notes) + _clock_note(rec)
    done: dict = state["done"]
    done = {k: v for k, v in done.items() if (out / v["file_name"]).is_file() and (out / v["csi_file"]).is_file()}
    state["done"] = done
    wanted = align.matched.copy()
    for k in done:
        wanted[int(k)] = False
    total = align.num_matched
    written = 0
    last_save = time.perf_counter()
    cancelled = False
    params = [cv2.IMWRITE_JPEG_QUALITY, int(opt.jpeg_quality)]
    try:
        for i, img in source.iterate(wanted):
            if should_stop is not None and should_stop():
                cancelled = True
                break
            name = f"{i:06d}"
            ok, buf = cv2.imencode(".jpg", img, params)
            if not ok:
                raise DatasetError(f"frame {i} could not be encoded as JPEG")
            atomic_write(out / "images" / f"{name}.jpg", buf.tobytes(), durable=False)  # bulk: see atomic_write
            idx = align.windows[i]
            write_csi_npz(
                out / "csi" / f"{name}.npz",
                rec.amplitude[idx],
                rec.phase[idx],
                rec.timestamps[idx],
                nrx=rec.nrx[idx],
                ntx=rec.ntx[idx],
            )
            h, w = img.shape[:2]
            done[str(i)] = {"file_name": f"images/{name}.jpg", "csi_file": f"csi/{name}.npz", "height": h, "width": w}
            written += 1
            now = time.perf_counter()
            if now - last_save > STATE_SAVE_INTERVAL_S:
                atomic_write_json(out / STATE_NAME, state)
                last_save = now
            if progress is not None:
                elapsed = now - t0
                n_done = len(done)
                eta = elapsed / written * (total - n_done) if written else None
                progress(ImportProgress(n_done, total, elapsed, eta, "importing"))
    finally:
        atomic_write_json(out / STATE_NAME, state)

    complete = not cancelled and all(str(i) in done for i in np.nonzero(align.matched)[0])
    report = RecordingImportReport(
        out_dir=out,
        complete=complete,
        cancelled=cancelled,
        frames_total=len(source),
        frames_matched=total,
        frames_done=len(done),
        frames_written_this_run=written,
        elapsed_s=time.perf_counter() - t0,
        alignment=summary,
        time_source=source.time_source,
        notes=notes,
    )
    if complete:
        report.json_path = _write_dataset(out, opt, align, done, report)
    return report


def _write_dataset(out: Path, opt: RecordingImportOptions, align: Alignment, done: dict, report) -> Path:
    info = {
        "description": "imported recording (frames + CSI windows, no annotations yet)",
        "csi_log": str(Path(opt.csi).resolve()),
        "video": str(Path(opt.video).resolve()) if opt.video else None,
        "frames_dir": str(Path(opt.frames_dir).resolve()) if opt.frames_dir else None,
        "packets_per_frame": opt.packets_per_frame,
        "offset_ms": opt.offset_ms,
    }
    data = empty_dataset(info)
    for i in np.nonzero(align.matched)[0]:
        entry = done[str(i)]
        win = align.windows[i]
        data["images"].append(
            {
                "id": int(i),
                **entry,
                "frame_time_s": float(align.frame_times_s[i]),
                "csi_packets": [int(win[0]), int(win[-1])],
            }
        )
    atomic_write_json(out / REPORT_NAME, report.to_dict(), indent=1)
    path = atomic_write_json(out / DATASET_NAME, data)
    logger.info("wrote %s (%d images)", path, len(data["images"]))
    return path


def default_log_progress(every_s: float = 2.0) -> ProgressCallback:
    """A progress callback that logs a line at most every ``every_s`` seconds (and at the end)."""
    last = [0.0]

    def _cb(p: ImportProgress) -> None:
        now = time.perf_counter()
        if now - last[0] >= every_s or p.done == p.total:
            last[0] = now
            print(p.format(), flush=True)

    return _cb


__all__ = [
    "ImportProgress",
    "RecordingImportOptions",
    "RecordingImportReport",
    "default_log_progress",
    "import_recording",
]

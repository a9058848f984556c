"""Align a CSI packet stream to video frames by timestamps (numpy only).

Clocks
------
* CSI packet times are seconds on the logger's clock. Intel 5300 ``timestamp_low`` is a
  32-bit microsecond counter that wraps at 2**32 (about 71.6 minutes): :func:`unwrap_timestamps_us`
  turns it into monotonic float64 seconds. Other logs (npz, MM-Fi) carry seconds already.
* Frame times are seconds on the video clock, 0 at the first frame.
* Both are put on one axis: the *CSI-relative* clock, 0 at the first (kept) packet.
  Frame ``f`` sits at ``frame_times[f] + offset_s`` on that axis, so ``offset_s`` (the CLI's
  ``--offset-ms``) is how long after the first packet the first frame was taken.

Cleaning (before matching)
--------------------------
* out-of-order packets (time going backwards after unwrapping) are sorted back (stable);
* duplicates (same timestamp, or same sequence number as the previous packet) are dropped,
  the first copy is kept;
* a *gap* is an interval longer than 1.5x the median interval; it is counted as
  ``round(interval / median) - 1`` dropped packets. Sequence numbers (Intel ``bfee_count``,
  16 bit) give a second drop count from their jumps when available.

The window rule (exact)
-----------------------
For frame ``f`` at CSI-relative time ``c``:

1. ``k`` = the kept packet nearest to ``c`` (on a tie, the earlier one);
2. the frame is *matched* when ``|t[k] - c| <= max_offset_s`` (default 1.5x the median
   packet interval), otherwise it is skipped and counted as unmatched;
3. its window is the ``P`` consecutive kept packets ``k - (P-1)//2 .. k - (P-1)//2 + P - 1``
   (centred on ``k``; for odd ``P`` exactly ``(P-1)/2`` on each side), shifted (not cut)
   to lie inside the recording when ``k`` is within ``P//2`` packets of either end.

Windows are reported as indices into the *original* packet order of the log.

Clock drift is the slope of a least-squares line through (frame time, matched packet time)
over all matched frames: ``drift_ppm = (slope - 1) * 1e6``, reported with its standard
error. It shows a systematic lag building up between the streams (e.g. a video whose real
frame rate differs from the one its frame times assume). Because matching picks the
nearest packet, the lag it can show is bounded by the tolerance over the recording's
length; a drift well inside its error is no drift at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.backend.errors import UserFacingError

WRAP_US = 2**32
SEQ_MODULO = 2**16
GAP_FACTOR = 1.5


class StreamsDoNotOverlapError(UserFacingError):
    """The video and the CSI log cover disjoint time spans (the message has both spans)."""


class AlignmentError(UserFacingError):
    """The CSI stream cannot be aligned (too few packets, nothing matched)."""


def unwrap_timestamps_us(raw_us: np.ndarray) -> tuple[np.ndarray, int]:
    """Turn a 32-bit microsecond counter that wraps at 2**32 into monotonic seconds.

    Args:
        raw_us: (P,) integer counter values (e.g. Intel 5300 ``timestamp_low``, uint32).

    Returns:
        ``(seconds, wraps)``: float64 (P,) seconds since counter zero, continued past every
        wrap, and the number of wrap-arounds found. A backwards step of more than half the
        counter range counts as a wrap; a smaller one is left as is (an out-of-order packet).
    """
    from app.backend.data.csi.clock import unwrap_counter

    seconds, report = unwrap_counter(raw_us, unit_s=1e-6, modulus=WRAP_US, source="device")
    return seconds, report.wraps


@dataclass
class StreamReport:
    """What the cleaning of a packet stream found (all times in seconds)."""

    num_packets: int  #: packets in the log
    num_kept: int  #: packets left after removing duplicates
    span_s: tuple[float, float]  #: first and last packet time on the log's own clock
    duration_s: float
    median_interval_s: float
    packet_rate_hz: float  #: (kept packets - 1) / duration
    duplicates: int
    out_of_order: int
    gaps: int  #: intervals longer than 1.5x the median
    dropped_from_gaps: int  #: packets missing inside those gaps (estimated from their length)
    largest_gap_s: float
    dropped_from_sequence: int | None  #: from sequence-number jumps, None without sequence numbers
    wraps: int = 0  #: counter wrap-arounds found while unwrapping (set by the caller)
    gap_list: list[tuple[int, float, float]] = field(default_factory=list)  #: (packet index, start s, length s)

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["span_s"] = list(self.span_s)
        d["gap_list"] = [list(g) for g in self.gap_list[:50]]
        return d


@dataclass
class CleanStream:
    """Packet times after cleaning; ``index`` maps kept packets to the original log order."""

    times: np.ndarray  #: float64 (K,) seconds, strictly increasing
    index: np.ndarray  #: int64 (K,) original packet index of each kept packet
    report: StreamReport


def clean_stream(times_s: np.ndarray, sequence: np.ndarray | None = None) -> CleanStream:
    """Sort out-of-order packets, drop duplicates and measure gaps.

    Args:
        times_s: float64 (P,) packet times in seconds (already unwrapped).
        sequence: optional (P,) integer sequence numbers (16-bit counter, e.g. ``bfee_count``).
    """
    t = np.asarray(times_s, dtype=np.float64).reshape(-1)
    n = t.size
    if n < 2:
        raise AlignmentError(f"the CSI log has {n} packet(s); at least 2 are needed to align")
    if not np.all(np.isfinite(t)):
        raise AlignmentError("the CSI log has non-finite timestamps")
    out_of_order = int(np.sum(np.diff(t) < 0))
    order = np.argsort(t, kind="stable")
    ts = t[order]
    dup = np.concatenate([[False], np.diff(ts) == 0])
    seq_dropped = None
    if sequence is not None:
        seq = np.asarray(sequence, dtype=np.int64).reshape(-1)[order]
        step = np.diff(seq) % SEQ_MODULO
        dup[1:] |= step == 0
        keep_seq = seq[~dup]
        seq_step = np.diff(keep_seq) % SEQ_MODULO
        seq_dropped = int(np.sum(np.maximum(seq_step - 1, 0)))
    kept_t, kept_idx = ts[~dup], order[~dup]
    if kept_t.size < 2:
        raise AlignmentError("every packet of the CSI log has the same timestamp")
    intervals = np.diff(kept_t)
    median = float(np.median(intervals))
    gap_at = np.nonzero(intervals > GAP_FACTOR * median)[0]
    missing = np.maximum(np.rint(intervals[gap_at] / median).astype(np.int64) - 1, 0)
    duration = float(kept_t[-1] - kept_t[0])
    report = StreamReport(
        num_packets=n,
        num_kept=int(kept_t.size),
        span_s=(float(kept_t[0]), float(kept_t[-1])),
        duration_s=duration,
        median_interval_s=median,
        packet_rate_hz=(kept_t.size - 1) / duration if duration > 0 else 0.0,
        duplicates=int(dup.sum()),
        out_of_order=out_of_order,
        gaps=int(gap_at.size),
        dropped_from_gaps=int(missing.sum()),
        largest_gap_s=float(intervals[gap_at].max()) if gap_at.size else 0.0,
        dropped_from_sequence=seq_dropped,
        gap_list=[(int(kept_idx[i]), float(kept_t[i]), float(intervals[i])) for i in gap_at],
    )
    return CleanStream(times=kept_t, index=kept_idx.astype(np.int64), report=report)


@dataclass
class Alignment:
    """Result of matching frames to packet windows.

    ``windows[f]`` holds the original packet indices of frame ``f``'s window (``-1`` rows for
    unmatched frames); ``matched[f]`` says whether frame ``f`` got one.
    """

    frame_times_s: np.ndarray  #: float64 (F,) on the video clock
    frame_times_csi_s: np.ndarray  #: float64 (F,) on the CSI-relative clock
    matched: np.ndarray  #: bool (F,)
    nearest_offset_s: np.ndarray  #: float64 (F,) matched packet time - frame time (nan when unmatched)
    windows: np.ndarray  #: int64 (F, P) original packet indices, -1 for unmatched frames
    stream: StreamReport
    offset_s: float
    max_offset_s: float
    drift_ppm: float | None
    drift_stderr_ppm: float | None  #: standard error of the slope (timestamp jitter limits it)
    video_span_s: tuple[float, float]  #: on the CSI-relative clock
    csi_span_s: tuple[float, float]  #: on the CSI-relative clock

    @property
    def num_matched(self) -> int:
        return int(self.matched.sum())

    def summary(self) -> dict:
        """JSON-ready numbers for reports and logs."""
        off = self.nearest_offset_s[self.matched]
        return {
            "frames": int(self.matched.size),
            "frames_matched": self.num_matched,
            "frames_unmatched": int(self.matched.size - self.num_matched),
            "packets_per_frame": int(self.windows.shape[1]),
            "offset_s": self.offset_s,
            "max_offset_s": self.max_offset_s,
            "mean_abs_match_error_ms": float(np.mean(np.abs(off)) * 1e3) if off.size else None,
            "clock_drift_ppm": self.drift_ppm,
            "clock_drift_stderr_ppm": self.drift_stderr_ppm,
            "video_span_s": list(self.video_span_s),
            "csi_span_s": list(self.csi_span_s),
            "csi": self.stream.to_dict(),
        }


def align_frames(
    frame_times_s: np.ndarray,
    packet_times_s: np.ndarray,
    packets_per_frame: int = 5,
    offset_s: float = 0.0,
    sequence: np.ndarray | None = None,
    max_offset_s: float | None = None,
) -> Alignment:
    """Match every frame to a window of ``packets_per_frame`` packets (rule in the module doc).

    Args:
        frame_times_s: (F,) frame times in seconds on the video clock (first frame usually 0).
        packet_times_s: (P,) packet times in seconds on the CSI clock (unwrapped).
        packets_per_frame: window length ``P``.
        offset_s: time of video second 0 after the first CSI packet.
        sequence: optional per-packet sequence numbers for drop/duplicate detection.
        max_offset_s: largest allowed distance from a frame to its nearest packet
            (default 1.5x the median packet interval).

    Raises:
        StreamsDoNotOverlapError: the two time spans do not overlap (message gives both).
        AlignmentError: too few packets, or no frame matched.
    """
    if packets_per_frame < 1:
        raise AlignmentError("packets per frame must be at least 1")
    frames = np.asarray(frame_times_s, dtype=np.float64).reshape(-1)
    if frames.size == 0:
        raise AlignmentError("there are no frames to align")
    stream = clean_stream(packet_times_s, sequence)
    t = stream.times - stream.times[0]
    csi_span = (0.0, float(t[-1]))
    c = frames + float(offset_s)
    video_span = (float(c.min()), float(c.max()))
    if video_span[1] < csi_span[0] or video_span[0] > csi_span[1]:
        raise StreamsDoNotOverlapError(
            "the video and the CSI log do not overlap: video frames span "
            f"{video_span[0]:.3f} .. {video_span[1]:.3f} s and CSI packets span "
            f"{csi_span[0]:.3f} .. {csi_span[1]:.3f} s (seconds after the first packet, "
            f"offset {offset_s * 1e3:.1f} ms); adjust --offset-ms"
        )
    if t.size < packets_per_frame:
        raise AlignmentError(f"the CSI log has {t.size} usable packets, fewer than {packets_per_frame} per frame")
    tol = GAP_FACTOR * stream.report.median_interval_s if max_offset_s is None else float(max_offset_s)
    right = np.clip(np.searchsorted(t, c, side="left"), 1, t.size - 1)
    left = right - 1
    nearest = np.where(np.abs(c - t[left]) <= np.abs(t[right] - c), left, right)
    err = t[nearest] - c
    matched = np.abs(err) <= tol
    start = np.clip(nearest - (packets_per_frame - 1) // 2, 0, t.size - packets_per_frame)
    kept_windows = start[:, None] + np.arange(packets_per_frame)[None, :]
    windows = np.where(matched[:, None], stream.index[kept_windows], -1)
    if not matched.any():
        raise AlignmentError(
            f"no frame is within {tol * 1e3:.1f} ms of a CSI packet (video {video_span[0]:.3f} .. "
            f"{video_span[1]:.3f} s, CSI {csi_span[0]:.3f} .. {csi_span[1]:.3f} s)"
        )
    drift, drift_err = _drift(c[matched], t[nearest[matched]])
    return Alignment(
        frame_times_s=frames,
        frame_times_csi_s=c,
        matched=matched,
        nearest_offset_s=np.where(matched, err, np.nan),
        windows=windows.astype(np.int64),
        stream=stream.report,
        offset_s=float(offset_s),
        max_offset_s=tol,
        drift_ppm=drift,
        drift_stderr_ppm=drift_err,
        video_span_s=video_span,
        csi_span_s=csi_span,
    )


def _drift(x: np.ndarray, y: np.ndarray) -> tuple[float | None, float | None]:
    """Least-squares slope of y on x as ppm away from 1, and its standard error (ppm)."""
    if x.size < 3 or np.ptp(x) <= 0:
        return None, None
    xc = x - x.mean()
    sxx = float(np.sum(xc * xc))
    slope = float(np.sum(xc * (y - y.mean())) / sxx)
    resid = y - y.mean() - slope * xc
    stderr = float(np.sqrt(np.sum(resid * resid) / (x.size - 2) / sxx))
    return (slope - 1.0) * 1e6, stderr * 1e6

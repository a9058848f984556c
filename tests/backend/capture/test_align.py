"""Alignment of CSI packets to frames: wrap-around, drops, duplicates, exact windows."""

from __future__ import annotations

import numpy as np
import pytest

from app.backend.capture.align import (
    AlignmentError,
    StreamsDoNotOverlapError,
    align_frames,
    clean_stream,
    unwrap_timestamps_us,
)
from app.backend.errors import UserFacingError


def test_unwrap_handles_wrap_and_keeps_small_backsteps():
    # 14_000 -> 2**32 - 1 is a packet logged 14 ms late across the wrap (not a 71-minute jump
    # forward): steps are read modulo 2**32, the shorter way round wins
    raw = np.array([2**32 - 20_000, 2**32 - 10_000, 5_000, 15_000, 14_000, 2**32 - 1, 3], dtype=np.uint64)
    sec, wraps = unwrap_timestamps_us(raw.astype(np.uint32))
    assert wraps == 2
    expected_us = np.array([2**32 - 20_000, 2**32 - 10_000, 2**32 + 5_000, 2**32 + 15_000, 2**32 + 14_000,
                            2**32 - 1, 2**32 + 3])  # fmt: skip
    np.testing.assert_allclose(sec, expected_us * 1e-6, rtol=0, atol=1e-9)


def _synthetic_log(seed: int = 0):
    """A 100 Hz raw-µs log that wraps at 2**32, with drops, a duplicate and a swapped pair.

    Returns (raw_us uint32, nominal id per logged packet, sequence numbers).
    """
    rng = np.random.default_rng(seed)
    n = 400
    ids = np.arange(n)
    dropped = {100, 101} | set(range(200, 210))
    ids = np.array([m for m in ids if m not in dropped])
    ids = np.insert(ids, np.nonzero(ids == 50)[0][0] + 1, 50)  # duplicate of packet 50
    i300 = np.nonzero(ids == 300)[0][0]
    ids[[i300, i300 + 1]] = ids[[i300 + 1, i300]]  # 301 logged before 300
    start = 2**32 - 1_000_000  # wraps 1 s in
    jitter = rng.integers(-2000, 2001, size=n)  # ±2 ms, fixed per nominal packet
    raw = (start + ids * 10_000 + jitter[ids]) % 2**32
    seq = (65_530 + ids) % 2**16  # wraps too
    return raw.astype(np.uint32), ids, seq


def test_window_indices_are_exact_with_wrap_drops_duplicates():
    raw, ids, seq = _synthetic_log()
    sec, wraps = unwrap_timestamps_us(raw)
    assert wraps == 1
    frames = np.arange(76) * 0.05  # 20 fps, 3.75 s
    # First frame at nominal packet 25; the first packet's own jitter shifts the CSI-relative clock.
    first_jitter = sec[0] - (2**32 - 1_000_000) * 1e-6
    al = align_frames(frames, sec, packets_per_frame=5, offset_s=0.25 - first_jitter, sequence=seq)

    rep = al.stream
    assert rep.num_packets == ids.size and rep.duplicates == 1 and rep.out_of_order == 1
    assert rep.gaps == 2 and rep.dropped_from_gaps == 12 and rep.dropped_from_sequence == 12
    assert rep.median_interval_s == pytest.approx(0.010, abs=5e-4)

    def nominal(f):
        w = al.windows[f]
        return ids[w].tolist()

    for f in range(76):
        m = 25 + 5 * f
        if f == 15:  # nominal packet 100 and 101 dropped: nearest is 99
            assert nominal(f) == [97, 98, 99, 102, 103]
        elif f == 35:  # 200..209 dropped: nearest is 199
            assert nominal(f) == [197, 198, 199, 210, 211]
        elif f == 36:  # frame at 205 is 60 ms from any packet: unmatched
            assert not al.matched[f] and (al.windows[f] == -1).all()
        elif f == 37:
            assert nominal(f) == [198, 199, 210, 211, 212]
        elif m == 400:  # nearest is the last packet: the window is shifted inside the log
            assert nominal(f) == list(range(395, 400))
        else:
            assert al.matched[f]
            assert nominal(f) == list(range(m - 2, m + 3)), f
    # the duplicate of packet 50 is never used, the first copy is
    dup_positions = np.nonzero(ids == 50)[0]
    used = set(al.windows[al.matched].ravel().tolist())
    assert dup_positions[0] in used and dup_positions[1] not in used
    assert al.num_matched == 75
    assert abs(al.drift_ppm) < 500


def test_even_window_and_start_edge():
    t = np.arange(50) * 0.01
    al = align_frames(np.array([0.0, 0.1, 0.2]), t, packets_per_frame=4)
    assert al.windows.tolist() == [[0, 1, 2, 3], [9, 10, 11, 12], [19, 20, 21, 22]]


def test_tie_goes_to_the_earlier_packet():
    t = np.arange(20) * 0.01
    al = align_frames(np.array([0.055]), t, packets_per_frame=1)
    assert al.windows.tolist() == [[5]]


def test_non_overlapping_streams_are_refused_with_both_spans():
    t = np.arange(100) * 0.01  # 0 .. 0.99 s
    frames = np.arange(10) * 0.05  # 0 .. 0.45 s
    with pytest.raises(StreamsDoNotOverlapError) as exc:
        align_frames(frames, t, offset_s=5.0)
    msg = str(exc.value)
    assert "5.000 .. 5.450 s" in msg and "0.000 .. 0.990 s" in msg
    assert isinstance(exc.value, UserFacingError)


def test_too_few_packets_and_constant_timestamps():
    with pytest.raises(AlignmentError):
        align_frames(np.zeros(3), np.array([0.0]))
    with pytest.raises(AlignmentError):
        clean_stream(np.zeros(5))
    with pytest.raises(AlignmentError):
        align_frames(np.zeros(3), np.arange(3) * 0.01, packets_per_frame=5)

"""Shared reader helpers: record framing, counter unwrapping (wrap vs. reordering), 802.11 tone tables."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from app.backend.data.csi.clock import WRAP_32, unwrap_counter
from app.backend.data.csi.framing import walk_records
from app.backend.data.csi.tones import data_tones, fft_order, occupied_tones, pilot_tones, select_tones
from app.backend.errors import CsiFormatError


def _records(lengths: list[int]) -> bytes:
    return b"".join(struct.pack(">H", n) + bytes([n % 251]) * n for n in lengths)


@pytest.mark.parametrize("lengths", [[10] * 50, [10] * 50 + [3, 7], [4, 9, 1, 30, 2], [0, 0, 5]])
def test_walk_records_finds_every_complete_record(lengths: list[int]) -> None:
    buf = _records(lengths)
    fr = walk_records(buf, 0, len_at=0, len_dtype=">u2", overhead=2)
    assert fr.lengths.tolist() == [n + 2 for n in lengths] and fr.tail == 0 and fr.end == len(buf)
    assert fr.offsets.tolist() == np.concatenate([[0], np.cumsum(fr.lengths)[:-1]]).tolist()
    cut = walk_records(buf[:-1], 0, len_at=0, len_dtype=">u2", overhead=2)  # a streaming reader waits for the rest
    assert cut.count == len(lengths) - 1 and cut.tail == lengths[-1] + 1


def test_wrap_is_told_from_a_late_packet() -> None:
    raw = np.array([WRAP_32 - 3000, WRAP_32 - 1000, 1000, 500, 3000])  # wrap, then one packet 0.5 ms late
    seconds, rep = unwrap_counter(raw, unit_s=1e-6, modulus=WRAP_32, source="device")
    np.testing.assert_allclose(seconds - seconds[0], [0, 2e-3, 4e-3, 3.5e-3, 6e-3], atol=1e-12)
    assert (rep.wraps, rep.backward_steps, rep.largest_backward_s) == (1, 1, pytest.approx(5e-4))
    late_across_wrap = np.array([1000, WRAP_32 - 500, 2000])  # the old rule added 71.6 minutes here
    seconds, rep = unwrap_counter(late_across_wrap, unit_s=1e-6, modulus=WRAP_32, source="device")
    assert seconds.max() - seconds.min() < 0.01 and rep.backward_steps == 1
    seconds, rep = unwrap_counter(np.array([10**18, 10**18 + 5, 10**18 - 7]), unit_s=1e-9, modulus=None, source="host")
    assert rep.wraps == 0 and rep.backward_steps == 1 and seconds[1] - seconds[0] == pytest.approx(5e-9, abs=1e-6)
    with pytest.raises(CsiFormatError, match="packet 1 has a timestamp"):
        unwrap_counter(np.array([5, WRAP_32 + 1]), unit_s=1e-6, modulus=WRAP_32, source="device", where="x")


def test_tone_tables() -> None:
    counts = {(bw, kind): (occupied_tones(bw, kind).size, data_tones(bw, kind).size)
              for bw, kind in [(20, "legacy"), (20, "ht"), (40, "ht"), (80, "vht")]}  # fmt: skip
    assert counts == {(20, "legacy"): (52, 48), (20, "ht"): (56, 52), (40, "ht"): (114, 108), (80, "vht"): (242, 234)}
    assert not np.isin(pilot_tones(80), data_tones(80, "vht")).any() and 0 not in data_tones(40, "ht")
    cols = select_tones(fft_order(64), data_tones(20, "ht"))
    assert cols[:2].tolist() == [36, 37] and cols[-1] == 28  # tone -28 is FFT bin 36, +28 is bin 28
    with pytest.raises(ValueError):
        select_tones(fft_order(64), np.array([40]))

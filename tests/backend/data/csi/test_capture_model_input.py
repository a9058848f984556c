"""Every capture tool's layout reaches a model configured for another one, with notes on what changed."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from app.backend.data.csi import CsiInputParams, CsiRecording, build_model_input, read_csi
from app.backend.data.csi.tones import data_tones
from app.backend.data.csi.window import resample_subcarriers
from app.backend.errors import CsiFormatError


def test_resampling_bridges_dropped_tones_at_their_frequency() -> None:
    tones = data_tones(80, "vht")  # gaps at DC and at 8 pilots
    values = (tones.astype(np.float64) + 300.0).reshape(1, -1, 1, 1)  # linear in frequency
    out = resample_subcarriers(values, 30, tones)
    np.testing.assert_allclose(out[0, :, 0, 0], np.linspace(-122, 122, 30) + 300.0, atol=1e-9)
    even = resample_subcarriers(values, 30)  # treating them as evenly spaced bends the frequency axis
    assert np.abs(even[0, :, 0, 0] - out[0, :, 0, 0]).max() > 1.0
    np.testing.assert_array_equal(resample_subcarriers(values[:, :30], 30, tones[:30]), values[:, :30])


def _long_nexmon(src: Path, dst: Path, frames: int = 8) -> Path:
    data = src.read_bytes()
    recs = [data[24 + k * 1100 : 24 + (k + 1) * 1100] for k in range(4)]
    out = bytearray(data[:24])
    for f in range(frames):
        for r in recs:
            r = bytearray(r)
            struct.pack_into("<II", r, 0, 1507213439, f * 10_000)
            struct.pack_into("<H", r, 16 + 42 + 10, f)
            out += r
    dst.write_bytes(bytes(out))
    return dst


@pytest.mark.parametrize(
    ("name", "native", "notes"),
    [
        ("atheros", (52, 3, 3), ["52 subcarriers (tones -28..28", "INPUT.CSI.NUM_SUBCARRIERS 52"]),
        ("esp32", (48, 1, 1), ["48 subcarriers (tones -26..26", "2 more zero-filled", "INPUT.CSI.NUM_RX 1 fits"]),
        ("nexmon", (234, 2, 2), ["234 subcarriers (tones -122..122", "INPUT.CSI.NUM_TX 2 fits"]),
        ("picoscenes", (30, 3, 3), []),
    ],
)
def test_each_format_into_the_paper_layout_and_its_own(
    name: str, native: tuple[int, int, int], notes: list[str], capture_tools: dict[str, Path], tmp_path: Path
) -> None:
    path = capture_tools[name] if name != "nexmon" else _long_nexmon(capture_tools["nexmon"], tmp_path / "n.pcap")
    rec = read_csi(path)
    x, got = build_model_input(rec, CsiInputParams())  # the paper's 5 x 30 x 3 x 3
    assert x.shape == (2, 150, 3, 3) and x.dtype == np.float32 and np.isfinite(x).all()
    for word in notes:
        assert any(word in n for n in got), (word, got)
    if name == "picoscenes":
        assert not any("resampled" in n for n in got)
    s, r, t = native
    y, own = build_model_input(rec, CsiInputParams(num_subcarriers=s, num_rx=r, num_tx=t))
    assert y.shape == (2, 5 * s, r, t) and not any("resampled" in n or "first" in n for n in own)
    np.testing.assert_allclose(y[0].reshape(5, s, r, t), rec.amplitude[(rec.num_packets - 5) // 2 :][:5], rtol=1e-6)


def test_a_capture_shorter_than_a_window_is_refused_clearly(capture_tools: dict[str, Path]) -> None:
    with pytest.raises(CsiFormatError, match=r"1 packet\(s\), a model input needs 5"):
        build_model_input(capture_tools["nexmon"], CsiInputParams())


def test_tone_positions_are_ignored_when_they_do_not_fit() -> None:
    amp = np.ones((5, 10, 1, 1), np.float32)
    rec = CsiRecording(amp, amp * 0, np.arange(5) * 0.01, "npz", meta={"subcarrier_index": [3, 2, 1]})
    x, notes = build_model_input(rec, CsiInputParams(num_subcarriers=4, num_rx=1, num_tx=1))
    assert x.shape == (2, 20, 1, 1) and any("10 subcarriers linearly resampled to 4" in n for n in notes)

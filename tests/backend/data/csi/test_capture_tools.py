"""Reading one real capture per CSI tool: exact shapes, values against csiread's raw output, clocks."""

from __future__ import annotations

from pathlib import Path

import csiread
import numpy as np
import pytest

from app.backend.data.csi import read_csi, sniff_format
from app.backend.data.csi.tones import centred_order, data_tones, fft_order, occupied_tones, select_tones


def _same(rec, expected: np.ndarray) -> None:
    """Our amplitude/phase equal |csiread| / angle(csiread) of the same complex values (float32)."""
    exp = np.asarray(expected).astype(np.complex64)
    np.testing.assert_allclose(rec.amplitude, np.abs(exp), rtol=1e-6)
    np.testing.assert_allclose(rec.complex_csi(), exp, rtol=1e-5, atol=1e-4)


def test_atheros_capture(capture_tools: dict[str, Path]) -> None:
    path = capture_tools["atheros"]
    rec = read_csi(path)
    raw = csiread.Atheros(str(path), nrxnum=3, ntxnum=3, tones=56, if_report=False)
    raw.read()
    assert rec.source_format == "atheros" and rec.shape == (401, 52, 3, 3)
    cols = select_tones(occupied_tones(20, "ht"), data_tones(20, "ht"))
    assert cols.tolist() == [*range(0, 7), *range(8, 21), *range(22, 34), *range(35, 48), *range(49, 56)]
    _same(rec, raw.csi[:, cols])
    assert set(rec.nrx.tolist()) == {3} and set(rec.ntx.tolist()) == {2}
    assert np.all(rec.amplitude[..., 2] == 0) and rec.valid_pairs()[:, :2].all()
    # device clock in microseconds, strictly increasing, ~459 packets/s
    np.testing.assert_allclose(rec.timestamps, raw.timestamp * 1e-6, rtol=0, atol=1e-9)
    assert np.all(np.diff(rec.timestamps) > 0) and rec.packet_rate == pytest.approx(459.0, abs=0.5)
    meta = rec.meta
    assert meta["bandwidth_mhz"] == 20 and meta["channel_mhz"] == [2437] and meta["byte_order"] == "little"
    assert meta["clock"]["source"] == "device" and meta["subcarrier_index"][:2] == [-28, -27] and 7 not in meta["subcarrier_index"]
    assert any("52 data subcarriers of the 56" in n for n in rec.notes)


def test_esp32_capture(capture_tools: dict[str, Path]) -> None:
    path = capture_tools["esp32"]
    rec = read_csi(path)
    raw = csiread.ESP32(str(path), if_report=False)
    raw.read()
    assert rec.source_format == "esp32" and rec.shape == (13, 48, 1, 1)
    # secondary channel "above" in every line: entries are tones -32..31, so tone -26 is entry 6
    assert set(raw.secondary_channel.tolist()) == {1}
    cols = select_tones(centred_order(64), data_tones(20, "legacy"))
    assert cols[0] == 6 and cols[-1] == 58
    _same(rec, raw.csi[:, cols, None, None])
    assert rec.amplitude[0, 0, 0, 0] == pytest.approx(np.hypot(23, 12), rel=1e-6)  # "23 12" of the first line: imag, real
    np.testing.assert_allclose(rec.timestamps, raw.local_timestamp * 1e-6, rtol=0, atol=1e-9)
    assert np.all(np.diff(rec.timestamps) > 0)
    assert rec.meta["rssi_dbm"] == {"min": -73.0, "median": -73.0, "max": -69.0} and rec.meta["channel"] == [1]


def test_nexmon_capture_groups_cores_and_streams(capture_tools: dict[str, Path]) -> None:
    path = capture_tools["nexmon"]
    rec = read_csi(path)
    raw = csiread.Nexmon(str(path), chip="4358", bw=80, if_report=False)
    raw.read()
    assert raw.count == 4 and raw.core.tolist() == [0, 0, 1, 1] and raw.spatial.tolist() == [0, 1, 0, 1]
    assert rec.source_format == "nexmon" and rec.shape == (1, 234, 2, 2)
    cols = select_tones(fft_order(256), data_tones(80, "vht"))
    expected = np.zeros((1, 234, 2, 2), complex)
    for k in range(4):
        expected[0, :, raw.core[k], raw.spatial[k]] = raw.csi[k][cols]
    _same(rec, expected)
    # pilots (tone 39 is entry 39 of the FFT buffer) are scaled differently and are dropped
    assert np.abs(raw.csi[0][39]) > 2 * np.abs(raw.csi[0][[38, 40]]).max() and 39 not in rec.meta["subcarrier_index"]
    assert rec.nrx.tolist() == [2] and rec.ntx.tolist() == [2]
    assert rec.timestamps[0] == pytest.approx(raw.sec[0] + raw.usec[0] * 1e-6, abs=1e-6)
    assert rec.meta["clock"]["source"] == "host" and rec.meta["channel"] == [155] and rec.meta["bandwidth_mhz"] == 80


def test_picoscenes_intel_frontend_capture(capture_tools: dict[str, Path]) -> None:
    path = capture_tools["picoscenes"]
    rec = read_csi(path)
    raw = csiread.Picoscenes(str(path), {"CSI": [30, 3, 2], "MPDU": 0}, if_report=False)
    raw.read()
    assert rec.source_format == "picoscenes" and rec.shape == (383, 30, 3, 3)
    expected = np.zeros((383, 30, 3, 3), complex)
    expected[..., :2] = raw.raw["CSI"]["CSI"]
    _same(rec, expected)
    assert {int(n): int((rec.nrx == n).sum()) for n in (1, 2, 3)} == {1: 3, 2: 368, 3: 12}
    assert {int(n): int((rec.ntx == n).sum()) for n in (1, 2)} == {1: 382, 2: 1}
    np.testing.assert_allclose(rec.timestamps, raw.raw["RxSBasic"]["Timestamp"] * 1e-6, rtol=0, atol=1e-9)
    assert np.all(np.diff(rec.timestamps) > 0) and 40 < rec.duration < 41
    assert rec.meta["frontend"] == "IWL5300" and rec.meta["subcarrier_index"][:3] == [-28, -26, -24]
    assert any("zero-filled" in n and "RX" in n for n in rec.notes)


@pytest.mark.parametrize("name", ["atheros", "esp32", "nexmon", "picoscenes"])
def test_format_comes_from_content(name: str, capture_tools: dict[str, Path], tmp_path: Path) -> None:
    disguised = tmp_path / "capture.bin"
    disguised.write_bytes(capture_tools[name].read_bytes())
    assert read_csi(disguised).source_format == name
    assert sniff_format(capture_tools[name].read_bytes()[:1024]) == {"nexmon": "pcap"}.get(name, name)

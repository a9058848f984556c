"""Variants of each tool's log made from the real captures: byte orders, extra lines and packets, clocks, refusals."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from app.backend.data.csi import read_csi
from tests.backend.data.csi.csi_errors import expect_csi_error

ATH_RECORD = 1907  # every record of ath_csi_1.dat: 2 + 25 status + 840 CSI + 1040 payload


# -- Atheros ---------------------------------------------------------------------------------
def _big_endian(data: bytes) -> bytes:
    """The same log as a big-endian router writes it (status fields swapped; CSI bits are not)."""
    out = bytearray(data)
    for o in range(0, len(data), ATH_RECORD):
        for at, width in ((0, 2), (2, 8), (10, 2), (12, 2), (25, 2)):
            out[o + at : o + at + width] = data[o + at : o + at + width][::-1]
    return bytes(out)


def test_atheros_byte_orders_and_pull10_flag_read_the_same(capture_tools: dict[str, Path], tmp_path: Path) -> None:
    data = capture_tools["atheros"].read_bytes()
    ref = read_csi(capture_tools["atheros"])
    variants = {"be.dat": _big_endian(data), "pull10-le.dat": b"\x00" + data, "pull10-be.dat": b"\xff" + _big_endian(data)}
    for name, content in variants.items():
        (tmp_path / name).write_bytes(content)
        rec = read_csi(tmp_path / name)
        assert np.array_equal(rec.amplitude, ref.amplitude) and np.array_equal(rec.timestamps, ref.timestamps), name
        assert rec.meta["byte_order"] == ("big" if "be" in name else "little")


def test_atheros_mixed_bandwidths_and_empty_records(capture_tools: dict[str, Path], tmp_path: Path) -> None:
    data = capture_tools["atheros"].read_bytes()
    status = bytearray(data[2:27])
    status[8:10] = (285).to_bytes(2, "little")  # csi_len of 114 tones x 1 x 1 x 20 bits
    status[15:19] = bytes([1, 114, 1, 1])  # 40 MHz, 114 tones, nr 1, nc 1
    status[23:25] = (0).to_bytes(2, "little")
    forty = (25 + 285).to_bytes(2, "little") + bytes(status) + bytes(range(256)) + bytes(29)
    mixed = tmp_path / "mixed.dat"
    mixed.write_bytes(data + forty)
    expect_csi_error(mixed, "mixes 20 and 40 MHz", "{56: 401, 114: 1}")
    no_csi = bytearray(data[:27])
    no_csi[0:2] = (25).to_bytes(2, "little")
    no_csi[10:12] = no_csi[25:27] = b"\x00\x00"  # csi_len 0, payload 0
    empty = tmp_path / "empty-record.dat"
    empty.write_bytes(data[: 3 * ATH_RECORD] + bytes(no_csi) + data[3 * ATH_RECORD :])
    rec = read_csi(empty)
    assert rec.num_packets == 401 and any("1 record(s) without CSI" in n for n in rec.notes)


# -- ESP32 -----------------------------------------------------------------------------------
def _lines(path: Path) -> list[list[str]]:
    return [line.split(",", 25) for line in path.read_text().splitlines()]


def _write(path: Path, rows: list[list[str]], end: str = "\n", prefix: str = "") -> Path:
    path.write_text(prefix + end.join(",".join(r) for r in rows) + end, newline="")
    return path


def test_esp32_header_serial_noise_crlf_and_ht_ltf(capture_tools: dict[str, Path], tmp_path: Path) -> None:
    ref = read_csi(capture_tools["esp32"])
    rows = _lines(capture_tools["esp32"])
    header = "type,role,mac,rssi,rate,sig_mode,mcs,bandwidth,smoothing,not_sounding,aggregation,stbc,fec_coding,sgi,noise_floor,ampdu_cnt,channel,secondary_channel,local_timestamp,ant,sig_len,rx_state,real_time_set,real_timestamp,len,CSI_DATA\r\n"
    noisy = _write(tmp_path / "noisy.csv", rows, "\r\n", header + "I (2045) wifi:mode : softAP (3c:71:bf:6d:2a:78)\r\n")
    rec = read_csi(noisy)
    assert np.array_equal(rec.amplitude, ref.amplitude) and np.array_equal(rec.timestamps, ref.timestamps)
    assert any("2 line(s) that are not CSI_DATA lines" in n for n in rec.notes)
    boot = "".join(f"\x1b[0;32mI ({k}) boot: loading segment {k} of the ESP-IDF image\x1b[0m\n" for k in range(60))
    rec = read_csi(_write(tmp_path / "boot.csv", rows, prefix=boot))  # its first CSI line is 4 KB in
    assert np.array_equal(rec.amplitude, ref.amplitude) and any("60 line(s)" in n for n in rec.notes)
    long_rows = [[*r[:25], r[25].replace(" ]", " " + " ".join(["3"] * 256) + " ]")] for r in rows]
    rec = read_csi(_write(tmp_path / "htltf.csv", long_rows))
    assert np.array_equal(rec.amplitude, ref.amplitude) and any("HT-LTF" in n for n in rec.notes)


def test_esp32_without_secondary_channel_uses_fft_order(capture_tools: dict[str, Path], tmp_path: Path) -> None:
    import csiread

    rows = _lines(capture_tools["esp32"])
    for r in rows:
        r[17] = "0"
    path = _write(tmp_path / "none.csv", rows)
    raw = csiread.ESP32(str(path), if_report=False)
    raw.read()
    rec = read_csi(path)
    # tone -26 is entry 64 - 26 = 38 of an FFT-ordered buffer, tone +26 entry 26
    assert rec.complex_csi()[3, 0, 0, 0] == pytest.approx(raw.csi[3, 38], rel=1e-6)
    assert rec.complex_csi()[3, -1, 0, 0] == pytest.approx(raw.csi[3, 26], rel=1e-6)


def test_esp32_clock_wrap_is_not_a_reordering(capture_tools: dict[str, Path], tmp_path: Path) -> None:
    rows = _lines(capture_tools["esp32"])
    stamps = [2**32 - 6_000 + 1_000 * k for k in range(13)]
    stamps[9], stamps[10] = stamps[10], stamps[9]  # one packet logged late
    for r, t in zip(rows, stamps):
        r[18] = str(t % 2**32)
    rec = read_csi(_write(tmp_path / "wrap.csv", rows))
    clock = rec.meta["clock"]
    assert clock["wraps"] == 1 and clock["backward_steps"] == 1 and clock["largest_backward_s"] == pytest.approx(1e-3)
    np.testing.assert_allclose(rec.timestamps, np.asarray(stamps) * 1e-6, atol=1e-9)
    assert rec.duration == pytest.approx(0.012) and any("step back" in n for n in rec.notes)


def test_esp32_malformed_lines(capture_tools: dict[str, Path], tmp_path: Path) -> None:
    rows = _lines(capture_tools["esp32"])
    bad = [list(r) for r in rows]
    bad[4][3] = "-7x3"
    expect_csi_error(_write(tmp_path / "field.csv", bad), "line 5", "number")
    short = [list(r) for r in rows]
    short[2] = short[2][:10]
    expect_csi_error(_write(tmp_path / "short.csv", short), "line 3", "fields")
    few = [list(r) for r in rows]
    few[7][25] = "[1 2 3 4 ]"
    expect_csi_error(_write(tmp_path / "few.csv", few), "line 8", "4 csi numbers")
    (tmp_path / "log.csv").write_text("type,role,mac,rssi\nI (12) boot: ESP-IDF v4.3\n")
    expect_csi_error(tmp_path / "log.csv", "no csi_data lines")


# -- nexmon_csi --------------------------------------------------------------------------------
def _records(data: bytes) -> list[bytes]:
    out, pos = [], 24
    while pos < len(data):
        n = 16 + struct.unpack_from("<I", data, pos + 8)[0]
        out.append(data[pos : pos + n])
        pos += n
    return out


def _udp(payload_len: int, src: bytes = b"\x02\x00\x00\x00\x00\x01") -> bytes:
    frame = b"\xff" * 6 + src + b"\x08\x00" + b"\x45" + bytes(8) + b"\x11" + bytes(18) + bytes(payload_len)
    return struct.pack("<IIII", 1507213439, 296500, len(frame), len(frame)) + frame


def test_nexmon_other_packets_are_skipped_and_counted(capture_tools: dict[str, Path], tmp_path: Path) -> None:
    data = capture_tools["nexmon"].read_bytes()
    recs = _records(data)
    mixed = tmp_path / "mixed.pcap"
    mixed.write_bytes(data[:24] + recs[0] + _udp(30) + b"".join(recs[1:]) + _udp(100))  # one after the last CSI packet
    rec = read_csi(mixed)
    assert rec.shape == (1, 234, 2, 2) and any("2 other packet(s)" in n for n in rec.notes)
    assert np.array_equal(rec.amplitude, read_csi(capture_tools["nexmon"]).amplitude)


def test_nexmon_frames_times_and_nanosecond_pcap(capture_tools: dict[str, Path], tmp_path: Path) -> None:
    data = capture_tools["nexmon"].read_bytes()
    recs = _records(data)
    frames = []
    for f in range(12):  # 12 frames 10 ms apart, each the capture's 4 core/stream packets
        for r in recs:
            r = bytearray(r)
            struct.pack_into("<II", r, 0, 1507213439 + f // 100, (f % 100) * 10_000)
            struct.pack_into("<H", r, 16 + 42 + 10, 200 + f)  # sequence number
            frames.append(bytes(r))
    long = tmp_path / "long.pcap"
    long.write_bytes(data[:24] + b"".join(frames))
    rec = read_csi(long)
    assert rec.shape == (12, 234, 2, 2) and rec.packet_rate == pytest.approx(100.0)
    nano = bytearray(long.read_bytes())
    nano[0:4] = b"\x4d\x3c\xb2\xa1"
    for k in range(len(frames)):
        at = 24 + k * 1100 + 4
        struct.pack_into("<I", nano, at, struct.unpack_from("<I", nano, at)[0] * 1000)
    (tmp_path / "nano.pcap").write_bytes(bytes(nano))
    np.testing.assert_allclose(read_csi(tmp_path / "nano.pcap").timestamps, rec.timestamps, atol=1e-9)


def test_nexmon_refusals(capture_tools: dict[str, Path], tmp_path: Path) -> None:
    data = bytearray(capture_tools["nexmon"].read_bytes())
    ng = tmp_path / "capture.pcapng"
    ng.write_bytes(b"\x0a\x0d\x0d\x0a" + bytes(data[4:]))
    expect_csi_error(ng, "pcapng", "editcap")
    cooked = bytearray(data)
    struct.pack_into("<I", cooked, 20, 113)
    (tmp_path / "cooked.pcap").write_bytes(bytes(cooked))
    expect_csi_error(tmp_path / "cooked.pcap", "link type 113")
    chip = bytearray(data)
    for k in range(4):
        struct.pack_into("<H", chip, 24 + k * 1100 + 16 + 42 + 16, 0x1234)
    (tmp_path / "chip.pcap").write_bytes(bytes(chip))
    expect_csi_error(tmp_path / "chip.pcap", "chip version 0x1234")
    other = tmp_path / "other.pcap"
    other.write_bytes(bytes(data[:24]) + _udp(100))
    expect_csi_error(other, "no nexmon_csi packets", "1 packet")


# -- Intel 5300: a late packet is not a clock wrap (issue 22, item 6) ---------------------------
def test_intel_out_of_order_packet_is_not_a_wrap(intel_dat: Path, tmp_path: Path) -> None:
    data = intel_dat.read_bytes()
    recs, pos = [], 0
    while pos < len(data):
        n = 2 + int.from_bytes(data[pos : pos + 2], "big")
        recs.append(data[pos : pos + n])
        pos += n
    bfee = [i for i, r in enumerate(recs) if r[2] == 0xBB]
    a, b = bfee[100], bfee[101]
    recs[a], recs[b] = recs[b], recs[a]
    swapped = tmp_path / "late.dat"
    swapped.write_bytes(b"".join(recs))
    rec = read_csi(swapped)
    ref = read_csi(intel_dat)
    assert rec.duration == pytest.approx(ref.duration) and rec.meta["clock"]["wraps"] == 0
    assert rec.meta["clock"]["backward_steps"] == 1 and np.sum(np.diff(rec.timestamps) < 0) == 1

"""PicoScenes files of other frontends and mixed layouts, made by rewriting the real Intel-frontend capture."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from app.backend.data.csi import read_csi
from app.backend.data.csi.tones import data_tones, occupied_tones
from tests.backend.data.csi.csi_errors import expect_csi_error

Segment = tuple[bytes, int, bytes]  # name, version, payload


def _frames(data: bytes) -> list[tuple[bytes, list[Segment], bytes]]:
    """Each frame as (header fields after the length, RX segments, the rest)."""
    out, pos = [], 0
    while pos < len(data):
        end = pos + 4 + struct.unpack_from("<I", data, pos)[0]
        cur, segs = pos + 11, []
        for _ in range(data[pos + 10]):
            seg_len, name_len = struct.unpack_from("<IB", data, cur)
            name = data[cur + 5 : cur + 5 + name_len]
            version = struct.unpack_from("<H", data, cur + 5 + name_len)[0]
            segs.append((name, version, data[cur + 7 + name_len : cur + 4 + seg_len]))
            cur += 4 + seg_len
        out.append((data[pos + 4 : pos + 10], segs, data[cur:end]))
        pos = end
    return out


def _build(frames: list[tuple[bytes, list[Segment], bytes]]) -> bytes:
    out = []
    for head, segs, rest in frames:
        body = b"".join(
            struct.pack("<IB", 1 + len(n) + 2 + len(p), len(n)) + n + struct.pack("<H", v) + p for n, v, p in segs
        )
        frame = head + bytes([len(segs)]) + body + rest
        out.append(struct.pack("<I", len(frame)) + frame)
    return b"".join(out)


def _rewrite(src: Path, dst: Path, edit: Callable[[int, list[Segment]], list[Segment]]) -> Path:
    frames = _frames(src.read_bytes())
    dst.write_bytes(_build([(h, edit(k, segs), rest) for k, (h, segs, rest) in enumerate(frames)]))
    return dst


def _patch_csi(segs: list[Segment], at: int, value: bytes) -> list[Segment]:
    return [(n, v, p[:at] + value + p[at + len(value) :] if n == b"CSI" else p) for n, v, p in segs]


def test_rebuilding_frames_is_lossless(capture_tools: dict[str, Path], tmp_path: Path) -> None:
    src = capture_tools["picoscenes"]
    assert _rewrite(src, tmp_path / "same.csi", lambda k, s: s).read_bytes() == src.read_bytes()


@pytest.mark.parametrize(
    ("device", "words"),
    [
        (0x0802, ("mac80211-compatible", "does not decode")),
        (0x1000, ("VirtualSDR", "does not decode")),
        (0x2100, ("AX210", "wrong tones")),
        (0x7777, ("0x7777", "readable frontends")),
    ],
)
def test_other_frontends_are_refused_with_the_reason(
    device: int, words: tuple[str, ...], capture_tools: dict[str, Path], tmp_path: Path
) -> None:
    path = _rewrite(capture_tools["picoscenes"], tmp_path / "f.csi", lambda k, s: _patch_csi(s, 0, struct.pack("<H", device)))
    expect_csi_error(path, *words)


def test_mixed_bandwidths_and_newer_segments_are_refused(capture_tools: dict[str, Path], tmp_path: Path) -> None:
    src = capture_tools["picoscenes"]
    mixed = _rewrite(src, tmp_path / "mixed.csi", lambda k, s: _patch_csi(s, 3, struct.pack("<H", 40)) if k % 3 else s)
    expect_csi_error(mixed, "mixes frame layouts", "HT 20 MHz, 30 tones: 128 frames", "HT 40 MHz, 30 tones: 255 frames")
    newer = _rewrite(src, tmp_path / "v7.csi", lambda k, s: [(n, 7 if n == b"CSI" else v, p) for n, v, p in s])
    expect_csi_error(newer, "CSI segment version 7", "1-4")
    basic = _rewrite(src, tmp_path / "rx9.csi", lambda k, s: [(n, 9 if n == b"RxSBasic" else v, p) for n, v, p in s])
    expect_csi_error(basic, "RxSBasic version 9")


def test_unsafe_segments_never_reach_csiread(capture_tools: dict[str, Path], tmp_path: Path) -> None:
    src = capture_tools["picoscenes"]
    confusing = _rewrite(src, tmp_path / "name.csi", lambda k, s: [(b"CS" if n == b"CSI" else n, v, p) for n, v, p in s])
    expect_csi_error(confusing, "segment name", "confuse")
    matrix = b"BBv1" + bytes([4]) + struct.pack("<4I", 2, 2, 2, 2) + b"CD@C" + bytes(16 * 16)
    deep = _rewrite(src, tmp_path / "deep.csi", lambda k, s: [*s, (b"BasebandSignal", 1, matrix)] if k == 5 else s)
    expect_csi_error(deep, "frame 5", "4-dimensional")
    short = _rewrite(src, tmp_path / "short.csi", lambda k, s: _patch_csi(s, 33, struct.pack("<I", 10_000)) if k == 2 else s)
    expect_csi_error(short, "frame 2", "CSI buffer of 10000 bytes")


def test_frames_without_csi_are_skipped_and_counted(capture_tools: dict[str, Path], tmp_path: Path) -> None:
    path = _rewrite(capture_tools["picoscenes"], tmp_path / "gaps.csi", lambda k, s: [x for x in s if x[0] != b"CSI" or k % 100])
    rec = read_csi(path)
    assert rec.num_packets == 383 - 4 and any("4 frame(s) without a CSI segment" in n for n in rec.notes)


def _pack_qca9300(values: np.ndarray) -> bytes:
    """QCA9300 CSI buffer: signed 10-bit (imag, real) per value, values in (tone, tx, rx) order, rx fastest."""
    flat = values.transpose(0, 2, 1).reshape(-1)  # (tone, rx, tx) -> tone-major, tx, then rx fastest
    fields = np.stack([flat.imag, flat.real], axis=1).reshape(-1).astype(np.int64) & 0x3FF
    out = bytearray()
    for i in range(0, fields.size, 4):
        group = sum(int(f) << (10 * j) for j, f in enumerate(fields[i : i + 4]))
        out += group.to_bytes(5, "little")
    return bytes(out)


def test_qca9300_frontend_reads_its_data_tones(capture_tools: dict[str, Path], tmp_path: Path) -> None:
    rng = np.random.default_rng(9300)
    n_frames = 383
    values = rng.integers(-512, 512, (n_frames, 56, 2, 1)) + 1j * rng.integers(-512, 512, (n_frames, 56, 2, 1))

    def qca(k: int, segs: list[Segment]) -> list[Segment]:
        out = []
        for name, version, p in segs:
            if name == b"CSI":  # CSI v2: device, format, cbw, freqs, 56 tones, 1 TX, 2 RX, 0 ESS, antsel, offset, length
                head = struct.pack("<HbH", 0x9300, 1, 20) + p[5:25] + struct.pack("<HBBBBhI", 56, 1, 2, 0, 0, 0, 280)
                p = head + _pack_qca9300(values[k])
            out.append((name, version, p))
        return out

    rec = read_csi(_rewrite(capture_tools["picoscenes"], tmp_path / "qca.csi", qca))
    assert rec.shape == (n_frames, 52, 3, 3) and rec.meta["frontend"] == "QCA9300"
    keep = np.isin(occupied_tones(20, "ht"), data_tones(20, "ht"))
    np.testing.assert_allclose(rec.complex_csi()[:, :, :2, :1], values[:, keep], rtol=1e-6)
    assert np.all(rec.amplitude[:, :, 2] == 0) and set(rec.nrx.tolist()) == {2} and set(rec.ntx.tolist()) == {1}
    assert rec.meta["subcarrier_index"] == data_tones(20, "ht").tolist()

"""Reading real CSI captures and refusing malformed files with a clear CsiFormatError."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from app.backend.data.csi import CSI_NPZ_FORMAT, read_csi, sniff_format, write_csi_npz
from app.backend.data.csi.intel5300 import unwrap_timestamp_low
from app.backend.errors import CsiFormatError


def test_intel5300_sample_shapes_and_antennas(intel_dat: Path) -> None:
    rec = read_csi(intel_dat)
    assert rec.source_format == "intel5300"
    assert rec.shape == (540, 30, 3, 3)
    assert rec.amplitude.dtype == np.float32 and rec.phase.dtype == np.float32
    assert set(rec.nrx.tolist()) == {3} and set(rec.ntx.tolist()) == {2}
    # the third TX column is absent in this capture: zero-filled and reported
    assert np.all(rec.amplitude[:, :, :, 2] == 0)
    assert np.all(rec.amplitude[:, :, :, :2] > 0)
    assert rec.valid_pairs().tolist() == [[True, True, False]] * 3
    assert any("TX" in n and "zero-filled" in n for n in rec.notes)
    assert rec.nonfinite_count == 0
    assert np.all(np.abs(rec.phase) <= np.pi + 1e-6)
    # timestamps: microsecond clock -> seconds, increasing, about 9 packets/s over ~60 s
    assert rec.timestamps.dtype == np.float64
    assert np.all(np.diff(rec.timestamps) > 0)
    assert 59 < rec.duration < 61 and 8 < rec.packet_rate < 10


def test_timestamp_low_unwraps_at_2_pow_32() -> None:
    ts = np.array([2**32 - 2_000_000, 2**32 - 1_000_000, 500_000, 1_500_000], dtype=np.uint32)
    sec = unwrap_timestamp_low(ts)
    assert np.allclose(np.diff(sec), [1.0, 1.5, 1.0])


def test_mmfi_frames_map_to_packets_subcarriers_rx_tx(mmfi_frames: list[Path]) -> None:
    assert len(mmfi_frames) == 48
    for path in mmfi_frames[:3]:
        rec = read_csi(path)
        raw = scipy.io.loadmat(path)
        assert rec.source_format == "mmfi-mat"
        assert rec.shape == (10, 114, 3, 1)
        # (R, S, P) -> (P, S, R, T): packet 7, subcarrier 50, RX 2
        assert rec.amplitude[7, 50, 2, 0] == pytest.approx(raw["CSIamp"][2, 50, 7], rel=1e-6)
        assert rec.phase[7, 50, 2, 0] == pytest.approx(raw["CSIphase"][2, 50, 7], rel=1e-6, abs=1e-6)
        assert np.allclose(np.diff(rec.timestamps), 0.01)
        assert any("synthetic" in n for n in rec.notes)


def test_format_sniffed_from_content_not_extension(tmp_path: Path, intel_dat: Path, mmfi_frames: list[Path]) -> None:
    disguised_dat = tmp_path / "capture.bin"
    disguised_dat.write_bytes(intel_dat.read_bytes())
    disguised_mat = tmp_path / "frame.dat"
    disguised_mat.write_bytes(mmfi_frames[0].read_bytes())
    assert read_csi(disguised_dat).source_format == "intel5300"
    assert read_csi(disguised_mat).source_format == "mmfi-mat"
    assert sniff_format(b"\x93NUMPY\x01\x00") == "npy"
    assert sniff_format(b"MATLAB 7.3 MAT-file") == "mat73"
    assert sniff_format(b"hello world") == "unknown"


def test_our_npz_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    amp = rng.uniform(0, 30, (5, 30, 3, 3)).astype(np.float32)
    pha = rng.uniform(-np.pi, np.pi, (5, 30, 3, 3)).astype(np.float32)
    ts = np.arange(5) * 0.01 + 12.0
    out = write_csi_npz(tmp_path / "sub" / "000001.npz", amp, pha, ts, nrx=[3] * 5, ntx=[2] * 5)
    assert out.exists() and not list(out.parent.glob("*.tmp"))
    rec = read_csi(out)
    assert rec.source_format == CSI_NPZ_FORMAT
    assert np.array_equal(rec.amplitude, amp) and np.array_equal(rec.phase, pha)
    assert np.array_equal(rec.timestamps, ts) and rec.ntx.tolist() == [2] * 5
    with np.load(out, allow_pickle=False) as npz:
        assert str(npz["format"]) == CSI_NPZ_FORMAT


def test_complex_npy_and_npz(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    csi = (rng.normal(size=(7, 30, 2)) + 1j * rng.normal(size=(7, 30, 2))).astype(np.complex64)
    np.save(tmp_path / "a.npy", csi)
    rec = read_csi(tmp_path / "a.npy")
    assert rec.shape == (7, 30, 2, 1) and rec.source_format == "npy"
    assert np.allclose(rec.complex_csi()[..., 0], csi, atol=1e-5)
    np.savez(tmp_path / "b.npz", csi=csi[..., None], timestamps=np.linspace(0, 1, 7))
    rec = read_csi(tmp_path / "b.npz")
    assert rec.shape == (7, 30, 2, 1) and rec.duration == pytest.approx(1.0)


# -- malformed inputs ---------------------------------------------------------------------
def _expect_error(path: Path, *words: str) -> str:
    with pytest.raises(CsiFormatError) as info:
        read_csi(path)
    msg = str(info.value)
    assert str(path) in msg and "\n" not in msg
    for w in words:
        assert w in msg.lower(), msg
    return msg


@pytest.mark.parametrize("keep", [1000, 106_651, -100, -1])
def test_truncated_dat(tmp_path: Path, intel_dat: Path, keep: int) -> None:
    data = intel_dat.read_bytes()
    bad = tmp_path / "cut.dat"
    bad.write_bytes(data[:keep])
    msg = _expect_error(bad, "truncated")
    assert "complete csi packet" in msg.lower()


def test_dat_with_corrupt_lengths_never_reaches_csiread(tmp_path: Path, intel_dat: Path) -> None:
    data = bytearray(intel_dat.read_bytes())
    first_len = int.from_bytes(data[0:2], "big")
    second = 2 + first_len
    data[second + 3 + 8] = 7  # Nrx = 7 in the second record
    bad = tmp_path / "nrx.dat"
    bad.write_bytes(bytes(data))
    _expect_error(bad, "nrx=7")
    data = bytearray(intel_dat.read_bytes())
    data[second * 5 + 3 + 15] = 0b00_01_01  # antenna permutation (1, 1, 0) in the sixth record
    bad.write_bytes(bytes(data))
    _expect_error(bad, "permutation", "record 5")
    data = bytearray(intel_dat.read_bytes())
    data[second : second + 2] = (4000).to_bytes(2, "big")  # overlong record (buffer overflow in C)
    bad.write_bytes(bytes(data))
    _expect_error(bad)


def test_mat_without_csiamp(tmp_path: Path) -> None:
    bad = tmp_path / "other.mat"
    scipy.io.savemat(bad, {"CSIphase": np.zeros((3, 114, 10)), "foo": np.ones(3)})
    _expect_error(bad, "csiamp")


def test_mat_with_wrong_rank(tmp_path: Path) -> None:
    bad = tmp_path / "flat.mat"
    scipy.io.savemat(bad, {"CSIamp": np.zeros((3, 114)), "CSIphase": np.zeros((3, 114))})
    _expect_error(bad, "shape")


def test_npz_with_wrong_shape(tmp_path: Path) -> None:
    bad = tmp_path / "wrong.npz"
    np.savez(bad, amplitude=np.zeros((5, 30), np.float32), phase=np.zeros((5, 30), np.float32), timestamps=np.zeros(5))
    _expect_error(bad, "shape")
    np.savez(bad, amplitude=np.zeros((5, 30, 3, 3)), phase=np.zeros((5, 30, 3, 2)), timestamps=np.zeros(5))
    _expect_error(bad, "shape")
    np.savez(bad, amplitude=np.zeros((5, 30, 3, 3)), phase=np.zeros((5, 30, 3, 3)), timestamps=np.zeros(4))
    _expect_error(bad, "timestamps")
    np.savez(bad, something=np.zeros(3))
    _expect_error(bad, "expected")


def test_npz_of_another_format_version(tmp_path: Path) -> None:
    bad = tmp_path / "v2.npz"
    z = np.zeros((5, 30, 3, 3), np.float32)
    np.savez(bad, amplitude=z, phase=z, timestamps=np.zeros(5), format=np.array("wifi-densepose-csi/2"))
    _expect_error(bad, "unsupported")


def test_random_bytes_and_empty_file(tmp_path: Path) -> None:
    rnd = tmp_path / "noise.dat"
    rnd.write_bytes(np.random.default_rng(3).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    _expect_error(rnd, "intel 5300")
    rnd2 = tmp_path / "noise.xyz"
    rnd2.write_bytes(b"\x00\x01garbage" * 50)
    _expect_error(rnd2, "unrecognised")
    empty = tmp_path / "empty.mat"
    empty.write_bytes(b"")
    _expect_error(empty, "empty")
    _expect_error(tmp_path / "missing.npz", "no such")


def test_pickled_objects_are_refused_without_running_them(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Boom:
        def __reduce__(self):
            return (Path.touch, (marker,))

    obj = np.empty(2, dtype=object)
    obj[0] = Boom()
    np.save(tmp_path / "obj.npy", obj, allow_pickle=True)
    _expect_error(tmp_path / "obj.npy", "pickle")
    np.savez(tmp_path / "obj.npz", csi=obj)
    _expect_error(tmp_path / "obj.npz", "pickle")
    raw = tmp_path / "raw.npz"  # a zip whose member is a bare pickle, not a .npy
    with zipfile.ZipFile(raw, "w") as zf:
        zf.writestr("csi.npy", pickle.dumps(Boom()))
    _expect_error(raw)
    assert not marker.exists()


def test_matlab_v73_gets_a_resave_hint(tmp_path: Path) -> None:
    bad = tmp_path / "v73.mat"
    bad.write_bytes(b"MATLAB 7.3 MAT-file, Platform: GLNXA64".ljust(512, b" ") + b"\x89HDF\r\n\x1a\n" + bytes(100))
    _expect_error(bad, "-v7")


def test_corrupt_mat_body(tmp_path: Path, mmfi_frames: list[Path]) -> None:
    data = mmfi_frames[0].read_bytes()
    bad = tmp_path / "cut.mat"
    bad.write_bytes(data[: len(data) // 3])
    _expect_error(bad)


def test_mutated_real_files_give_a_recording_or_csi_format_error(
    tmp_path: Path, intel_dat: Path, mmfi_frames: list[Path]
) -> None:
    """Seeded fuzzing: flipped bytes, cuts and garbage blocks never raise anything else."""
    from app.backend.data.csi import CsiInputParams, csi_model_input

    z = np.ones((5, 30, 3, 3), np.float32)
    sources = [intel_dat, mmfi_frames[0], write_csi_npz(tmp_path / "ok.npz", z, z, np.arange(5) * 0.01)]
    rng = np.random.default_rng(2024)
    outcomes = {"ok": 0, "error": 0}
    for i in range(90):
        data = bytearray(sources[i % 3].read_bytes())
        how = i // 3 % 3
        if how == 0:
            for _ in range(int(rng.integers(1, 20))):
                data[int(rng.integers(0, len(data)))] = int(rng.integers(0, 256))
        elif how == 1:
            data = data[: int(rng.integers(1, len(data)))]
        else:
            at = int(rng.integers(0, len(data)))
            data[at : at + 64] = rng.integers(0, 256, 64, dtype=np.uint8).tobytes()
        path = tmp_path / f"m{i}"
        path.write_bytes(bytes(data))
        try:
            x = csi_model_input(read_csi(path), CsiInputParams())
        except CsiFormatError as exc:
            assert str(path) in str(exc)
            outcomes["error"] += 1
        else:
            assert x.shape == (2, 150, 3, 3) and np.all(np.isfinite(x))
            outcomes["ok"] += 1
    assert outcomes["error"] > 10

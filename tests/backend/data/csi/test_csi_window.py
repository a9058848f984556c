"""Windowing to model inputs, the MM-Fi mapping, and the bad-CSI policy on real frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io

from app.backend.data.csi import (
    CsiInputParams,
    CsiRecording,
    build_model_input,
    csi_model_input,
    iter_windows,
    num_windows,
    read_csi,
    sanitize_phase,
    write_csi_npz,
)
from app.backend.errors import CsiFormatError

MMFI = CsiInputParams(packets_per_sample=10, num_subcarriers=114, num_rx=3, num_tx=1)


def test_params_from_project_config() -> None:
    from app.backend.config import get_cfg

    cfg = get_cfg()
    cfg.merge_from_list(["INPUT.CSI.PACKETS_PER_SAMPLE", 10, "INPUT.CSI.NONFINITE_POLICY", "reject"])
    params = CsiInputParams.from_cfg(cfg)
    assert params.packets_per_sample == 10 and params.nonfinite_policy == "reject"
    assert params.median_kernel == (3, 3) and params.input_shape == (2, 300, 3, 3)
    with pytest.raises(ValueError, match="nonfinite_policy"):
        CsiInputParams(nonfinite_policy="ignore")


def test_intel_window_is_paper_shape(intel_dat: Path) -> None:
    rec = read_csi(intel_dat)
    x, notes = build_model_input(rec, CsiInputParams(), start=100)
    assert x.shape == (2, 150, 3, 3) and x.dtype == np.float32 and np.all(np.isfinite(x))
    # channel 0: amplitude of packets 100..104, packet-major rows (p * 30 + s)
    assert np.array_equal(x[0].reshape(5, 30, 3, 3), rec.amplitude[100:105])
    assert np.allclose(x[1].reshape(5, 30, 3, 3), sanitize_phase(rec.phase[100:105]), atol=1e-6)
    assert np.all(x[:, :, :, 2] == 0)  # the TX the capture lacks stays zero
    assert any("fewer antennas" in n for n in notes)


def test_mmfi_mapping_native_and_paper_defaults(mmfi_frames: list[Path]) -> None:
    rec = read_csi(mmfi_frames[0])
    x, notes = build_model_input(rec, MMFI)
    assert x.shape == (2, 1140, 3, 1) and notes == []
    assert np.array_equal(x[0].reshape(10, 114, 3, 1), rec.amplitude)
    y, notes = build_model_input(mmfi_frames[0], None)  # paper defaults 5 x 30, 3 x 3
    assert y.shape == (2, 150, 3, 3)
    amp = y[0].reshape(5, 30, 3, 3)
    assert np.allclose(amp[:, 0, :, 0], rec.amplitude[2:7, 0, :, 0])  # centre packets 2..6, band ends aligned
    assert np.allclose(amp[:, -1, :, 0], rec.amplitude[2:7, -1, :, 0])
    assert np.all(amp[:, :, :, 1:] == 0)
    assert any("resampled" in n for n in notes) and any("zero-filled" in n for n in notes)


def _laced_frame(src: Path, dst: Path) -> int:
    """A copy of a real MM-Fi frame with -inf, NaN and +inf in amplitude and phase; returns how many."""
    mat = scipy.io.loadmat(src)
    amp, pha = mat["CSIamp"].copy(), mat["CSIphase"].copy()
    amp[0, 5, 3] = -np.inf  # a subcarrier that read zero
    amp[1, 40:43, 6] = np.nan
    amp[2, :, 8] = np.nan  # a whole packet of one antenna: repaired over time
    pha[2, 0, 0] = np.inf
    scipy.io.savemat(dst, {"CSIamp": amp, "CSIphase": pha})
    return 1 + 3 + 114 + 1


def test_nonfinite_frame_repair_policy(tmp_path: Path, mmfi_frames: list[Path]) -> None:
    laced = tmp_path / "laced.mat"
    n_bad = _laced_frame(mmfi_frames[0], laced)
    rec = read_csi(laced)
    assert rec.nonfinite_count == n_bad
    clean = read_csi(mmfi_frames[0])
    x, notes = build_model_input(rec, MMFI)
    assert np.all(np.isfinite(x))
    assert any(f"repaired {n_bad}" in n for n in notes)
    amp = x[0].reshape(10, 114, 3, 1)
    a = clean.amplitude
    assert amp[3, 5, 0, 0] == pytest.approx((a[3, 4, 0, 0] + a[3, 6, 0, 0]) / 2, rel=1e-5)
    assert amp[8, 60, 2, 0] == pytest.approx((a[7, 60, 2, 0] + a[9, 60, 2, 0]) / 2, rel=1e-5)
    untouched = np.ones(a.shape, bool)
    untouched[3, 5, 0], untouched[6, 40:43, 1], untouched[8, :, 2] = False, False, False
    assert np.array_equal(amp[untouched], a[untouched])
    # the paper-default window (centre packets 2..6) also comes out finite
    assert np.all(np.isfinite(csi_model_input(laced, CsiInputParams())))


def test_nonfinite_frame_reject_policy(tmp_path: Path, mmfi_frames: list[Path]) -> None:
    laced = tmp_path / "laced.mat"
    _laced_frame(mmfi_frames[0], laced)
    reject = CsiInputParams(10, 114, 3, 1, nonfinite_policy="reject")
    with pytest.raises(CsiFormatError, match=r"laced\.mat: 119 non-finite"):
        csi_model_input(laced, reject)
    # a window that holds no bad packet is fine even under 'reject'
    with pytest.raises(CsiFormatError):
        list(iter_windows(read_csi(laced), CsiInputParams(2, 114, 3, 1, nonfinite_policy="reject")))
    ok = CsiInputParams(1, 114, 3, 1, nonfinite_policy="reject")
    assert csi_model_input(laced, ok, start=1).shape == (2, 114, 3, 1)


def test_too_few_packets_rejected_with_file_name(tmp_path: Path) -> None:
    z = np.ones((3, 30, 3, 3), np.float32)
    path = write_csi_npz(tmp_path / "short.npz", z, z * 0, np.arange(3) * 0.01)
    with pytest.raises(CsiFormatError, match=r"short\.npz: 3 packet\(s\), a model input needs 5"):
        csi_model_input(path, CsiInputParams())
    with pytest.raises(CsiFormatError, match="needs 5"):
        list(iter_windows(read_csi(path), CsiInputParams()))


def test_missing_antennas_zero_filled_or_rejected() -> None:
    rng = np.random.default_rng(0)
    amp = rng.uniform(1, 2, (5, 30, 2, 1)).astype(np.float32)
    rec = CsiRecording(amp, rng.uniform(-3, 3, amp.shape), np.arange(5) * 0.01, "npz")
    x, notes = build_model_input(rec, CsiInputParams())
    assert x.shape == (2, 150, 3, 3) and np.all(x[:, :, 2, :] == 0) and np.all(x[:, :, :, 1:] == 0)
    assert any("RX" in n for n in notes) and any("TX" in n for n in notes)
    dead = CsiRecording(amp, amp * 0, np.arange(5) * 0.01, "npz", nrx=[2, 2, 0, 2, 2])
    with pytest.raises(CsiFormatError, match="no receive antenna"):
        csi_model_input(dead, CsiInputParams())


def test_iter_windows_scrubs_the_intel_capture(intel_dat: Path) -> None:
    rec = read_csi(intel_dat)
    params = CsiInputParams()
    starts = [s for s, x in iter_windows(rec, params, stride=50) if x.shape == (2, 150, 3, 3)]
    assert starts == list(range(0, 536, 50)) and len(starts) == num_windows(540, 5, 50)
    assert num_windows(540, 5) == 108 and num_windows(4, 5) == 0

"""Synthetic recordings with known ground truth, for tests, benchmarks and demos.

:func:`write_intel5300_dat` writes a Linux 802.11n CSI Tool log (``.dat``) byte for byte in
the tool's record layout, so the real reader path (validation + csiread) is exercised:

* each record: 2-byte big-endian length (code byte + body), 1-byte code ``0xBB`` (beamforming
  feedback), then the body;
* body header (little-endian): ``timestamp_low`` u32 (µs, wraps at 2**32), ``bfee_count`` u16,
  2 reserved bytes, ``Nrx`` u8, ``Ntx`` u8, ``rssi_a/b/c`` u8, ``noise`` i8, ``agc`` u8,
  ``antenna_sel`` u8 (2 bits per RX chain), ``len`` u16 (CSI payload bytes),
  ``fake_rate_n_flags`` u16;
* CSI payload: for each of 30 subcarriers, 3 padding bits, then ``Nrx*Ntx`` (real, imag)
  int8 pairs (TX index fastest), packed LSB-first; ``len = (30 * (16 * Nrx * Ntx + 3) + 7) // 8``.

:func:`make_synthetic_recording` writes a video (MJPG ``.avi``) and a CSI log whose packet
``m`` is sent at true time ``m / packet_rate`` and frame ``f`` at ``offset_s + f / fps``.
The CSI values encode the nominal packet number (subcarriers 0 and 1 of RX 0 / TX 0 hold
``m % 120 + 1`` and ``m // 120 + 1`` as real numbers), and frame ``f`` is a flat grey image of
level ``10 + 3 * (f % 80)``, so tests can check which packets and which frame ended up in
every imported sample.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.backend.atomic_write import atomic_write
from app.backend.data.csi import write_csi_npz

NUM_SUBCARRIERS = 30
IDENTITY_ANTENNA_SEL = 0b100100  # RX chains 0, 1, 2 in order


def _payload(csi: np.ndarray) -> bytes:
    """One packet's CSI (30, Nrx, Ntx) complex with int8 parts -> the bit-packed payload."""
    _, nrx, ntx = csi.shape
    n = nrx * ntx
    length = (NUM_SUBCARRIERS * (16 * n + 3) + 7) // 8
    flat = csi.reshape(NUM_SUBCARRIERS, n)  # TX fastest within each RX
    values = np.stack([flat.real, flat.imag], axis=-1).round().astype(np.int8).view(np.uint8)  # (30, n, 2)
    bits = np.zeros(length * 8 + 16, dtype=np.uint8)
    sub = np.arange(NUM_SUBCARRIERS)[:, None, None]
    ent = np.arange(n)[None, :, None]
    part = np.arange(2)[None, None, :]
    start = 3 * (sub + 1) + 16 * (sub * n + ent) + 8 * part  # (30, n, 2) first bit of each int8
    value_bits = np.unpackbits(values[..., None], axis=-1, bitorder="little")  # (30, n, 2, 8)
    bits[start[..., None] + np.arange(8)] = value_bits
    return np.packbits(bits[: length * 8], bitorder="little").tobytes()


def write_intel5300_dat(
    path: str | Path,
    timestamp_low: np.ndarray,
    csi: np.ndarray,
    bfee_count: np.ndarray | None = None,
) -> Path:
    """Write an Intel 5300 CSI Tool log.

    Args:
        path: destination ``.dat``.
        timestamp_low: (P,) uint32 microsecond counter values (wrap them yourself).
        csi: (P, 30, Nrx, Ntx) complex; real and imaginary parts are rounded to int8.
        bfee_count: (P,) 16-bit sequence numbers (default 0, 1, 2, ...).
    """
    p, s, nrx, ntx = csi.shape
    if s != NUM_SUBCARRIERS or not (1 <= nrx <= 3 and 1 <= ntx <= 3):
        raise ValueError(f"csi must be (P, 30, Nrx<=3, Ntx<=3), got {csi.shape}")
    ts = np.asarray(timestamp_low, dtype=np.uint64).reshape(-1) % 2**32
    seq = np.arange(p) if bfee_count is None else np.asarray(bfee_count)
    chunks = []
    for k in range(p):
        payload = _payload(csi[k])
        header = struct.pack(
            "<IHHBBBBBbBBHH",
            int(ts[k]), int(seq[k]) % 2**16, 0, nrx, ntx, 40, 38, 36, -92, 30,
            IDENTITY_ANTENNA_SEL, len(payload), 0x4101,
        )  # fmt: skip
        body = header + payload
        chunks.append(struct.pack(">HB", len(body) + 1, 0xBB) + body)
    return atomic_write(path, b"".join(chunks))


def encode_packet_ids(ids: np.ndarray, nrx: int = 3, ntx: int = 2, seed: int = 0) -> np.ndarray:
    """(P,) nominal packet numbers -> (P, 30, nrx, ntx) complex CSI that carries them (see module doc)."""
    rng = np.random.default_rng(seed)
    ids = np.asarray(ids, dtype=np.int64)
    csi = rng.integers(-20, 21, size=(ids.size, NUM_SUBCARRIERS, nrx, ntx, 2)).astype(np.float64)
    csi = csi[..., 0] + 1j * csi[..., 1]
    csi[:, 0, 0, 0] = ids % 120 + 1
    csi[:, 1, 0, 0] = ids // 120 + 1
    return csi


def decode_packet_ids(amplitude: np.ndarray) -> np.ndarray:
    """(P, S, R, T) amplitude of :func:`encode_packet_ids` CSI -> (P,) nominal packet numbers."""
    a = np.rint(amplitude[:, :2, 0, 0]).astype(np.int64)
    return (a[:, 1] - 1) * 120 + a[:, 0] - 1


def frame_level(f: int) -> int:
    """Grey level of synthetic frame ``f``."""
    return 10 + 3 * (f % 80)


@dataclass
class SyntheticRecording:
    """Paths and ground truth of :func:`make_synthetic_recording`."""

    video: Path
    csi: Path
    packet_ids: np.ndarray  #: (P,) nominal packet number of each logged packet, in log order
    packet_times_s: np.ndarray  #: (P,) true send time of each logged packet
    frame_times_s: np.ndarray  #: (F,) true time of each frame (offset included)
    offset_s: float


def make_synthetic_recording(
    out_dir: str | Path,
    *,
    num_frames: int = 40,
    fps: float = 20.0,
    packet_rate: float = 100.0,
    offset_s: float = 0.3,
    extra_packets: int = 40,
    dropped: tuple[int, ...] = (),
    duplicated: tuple[int, ...] = (),
    start_us: int = 2**32 - 500_000,
    jitter_us: int = 1500,
    image_size: tuple[int, int] = (96, 128),
    csi_format: str = "dat",
    seed: int = 0,
) -> SyntheticRecording:
    """Write ``recording.avi`` and ``csi.dat`` (or ``csi.npz``) into ``out_dir``.

    Packets cover ``offset_s + num_frames / fps`` seconds plus ``extra_packets``. The Intel
    counter starts at ``start_us`` (default: half a second before its 2**32 wrap-around).
    ``dropped`` packet numbers are left out, ``duplicated`` ones are logged twice in a row.
    ``csi_format="npz"`` writes our npz with absolute float64 seconds (``start_us`` µs + send time).
    """
    import cv2

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n = int(np.ceil((offset_s + num_frames / fps) * packet_rate)) + extra_packets
    jitter = rng.integers(-jitter_us, jitter_us + 1, size=n)
    jitter[0] = 0
    drop = set(dropped)
    ids = []
    for m in range(n):
        if m in drop:
            continue
        ids.extend([m, m] if m in duplicated else [m])
    ids = np.asarray(ids, dtype=np.int64)
    send_us = np.rint(ids * 1e6 / packet_rate).astype(np.int64) + jitter[ids]
    csi = encode_packet_ids(ids, seed=seed)
    if csi_format == "dat":
        csi_path = write_intel5300_dat(out / "csi.dat", (start_us + send_us) % 2**32, csi, ids % 2**16)
    elif csi_format == "npz":
        amp4, pha4 = np.abs(csi).astype(np.float32), np.angle(csi).astype(np.float32)
        csi_path = write_csi_npz(out / "csi.npz", amp4, pha4, (start_us + send_us) * 1e-6)
    else:
        raise ValueError(f"csi_format must be 'dat' or 'npz', got {csi_format!r}")
    h, w = image_size
    video = out / "recording.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    if not writer.isOpened():
        raise RuntimeError("OpenCV cannot write MJPG video here")
    for f in range(num_frames):
        writer.write(np.full((h, w, 3), frame_level(f), dtype=np.uint8))
    writer.release()
    return SyntheticRecording(
        video=video,
        csi=csi_path,
        packet_ids=ids,
        packet_times_s=send_us * 1e-6,
        frame_times_s=offset_s + np.arange(num_frames) / fps,
        offset_s=offset_s,
    )

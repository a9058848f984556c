"""Windowing: consecutive CSI packets -> one model input, and the bad-CSI policy.

Model input (paper: 5 packets x 30 subcarriers -> 150 x 3 x 3 amplitude and phase):
float32 array (2, P*S, R, T) with P = ``INPUT.CSI.PACKETS_PER_SAMPLE``,
S = ``NUM_SUBCARRIERS``, R = ``NUM_RX``, T = ``NUM_TX``. Channel 0 is amplitude,
channel 1 the sanitized phase (raw wrapped phase when ``SANITIZE_PHASE`` is off). Row
``p * S + s`` holds packet ``p``, subcarrier ``s`` (packet-major). Not normalised: the
model normalises with the ``INPUT.CSI.*_MEAN/_STD`` statistics.

Steps for a recording of N packets, S0 subcarriers, R0 x T0 antennas:

1. packets: P consecutive packets starting at ``start``; ``start=None`` takes the
   centred window ``(N - P) // 2``. :func:`iter_windows` scrubs through all windows;
2. non-finite policy (below);
3. phase sanitization on the native subcarriers (time filter within the window);
4. subcarriers: when S0 != S, amplitude and the (unwrapped or sanitized) phase are
   resampled by linear interpolation to S evenly spaced positions spanning the band
   (first and last subcarriers stay aligned); raw phase is re-wrapped afterwards. When
   the recording knows the 802.11 tone of each subcarrier (``meta["subcarrier_index"]``,
   the capture-tool readers), positions are those tones, so the gaps a reader left
   (DC, pilots) are bridged at their true frequency; otherwise subcarriers count as
   evenly spaced;
5. antennas: extra RX/TX beyond R/T are dropped (the first ones are kept); missing ones
   are zero-filled. Both are reported in the notes of :func:`build_model_input`.

MM-Fi mapping: a frame ``.mat`` (3, 114, 10) is read as 10 packets x 114 subcarriers x
3 RX x 1 TX. Matching config: ``PACKETS_PER_SAMPLE 10, NUM_SUBCARRIERS 114, NUM_RX 3,
NUM_TX 1`` -> (2, 1140, 3, 1), every packet and subcarrier used as is. With the paper's
defaults (5, 30, 3, 3) the frame's centre packets 2..6 are used, 114 subcarriers are
interpolated to 30 and TX columns 2-3 are zero-filled -> (2, 150, 3, 3).

Bad-CSI policy (never a crash, never NaN into a batch):

* non-finite values (NaN, +-inf; MM-Fi has -inf amplitudes): ``NONFINITE_POLICY``
  'repair' (default) interpolates them linearly over subcarriers, else over time, else
  0, and counts them; 'reject' raises :class:`CsiFormatError` naming file and count;
* missing antennas (file or packet carries fewer RX/TX than configured): zero-filled
  and noted; a window with no antenna pair carrying data, or a packet carrying no RX
  antenna, is rejected;
* too few packets (N < P): rejected with a message naming file, N and P;
* truncated, foreign or malformed files: :func:`read_csi` raises CsiFormatError.

This module does not import detectron2: configs are read by duck typing
(``cfg.INPUT.CSI.*``) in :meth:`CsiInputParams.from_cfg`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from app.backend.data.csi.readers import read_csi
from app.backend.data.csi.recording import CsiRecording
from app.backend.data.csi.sanitize import repair_nonfinite, sanitize_phase
from app.backend.errors import CsiFormatError

if TYPE_CHECKING:
    from detectron2.config import CfgNode

NONFINITE_POLICIES = ("repair", "reject")


@dataclass(frozen=True)
class CsiInputParams:
    """The ``INPUT.CSI`` settings that shape one model input (plain, detectron2-free)."""

    packets_per_sample: int = 5
    num_subcarriers: int = 30
    num_rx: int = 3
    num_tx: int = 3
    sanitize_phase: bool = True
    median_kernel: tuple[int, int] = (3, 3)
    uniform_kernel: tuple[int, int] = (3, 3)
    nonfinite_policy: str = "repair"

    def __post_init__(self) -> None:
        for name in ("packets_per_sample", "num_subcarriers", "num_rx", "num_tx"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"CSI input: {name} must be >= 1, got {getattr(self, name)}")
        for name in ("median_kernel", "uniform_kernel"):
            k = tuple(int(v) for v in getattr(self, name))
            if len(k) != 2 or min(k) < 1:
                raise ValueError(f"CSI input: {name} must be two positive sizes, got {getattr(self, name)!r}")
            object.__setattr__(self, name, k)
        if self.nonfinite_policy not in NONFINITE_POLICIES:
            raise ValueError(f"CSI input: nonfinite_policy must be one of {NONFINITE_POLICIES}, got {self.nonfinite_policy!r}")

    @classmethod
    def from_cfg(cls, cfg: CfgNode) -> CsiInputParams:
        """Build from a project config (``cfg.INPUT.CSI``)."""
        c = cfg.INPUT.CSI
        return cls(
            packets_per_sample=int(c.PACKETS_PER_SAMPLE),
            num_subcarriers=int(c.NUM_SUBCARRIERS),
            num_rx=int(c.NUM_RX),
            num_tx=int(c.NUM_TX),
            sanitize_phase=bool(c.SANITIZE_PHASE),
            median_kernel=tuple(c.MEDIAN_KERNEL),
            uniform_kernel=tuple(c.UNIFORM_KERNEL),
            nonfinite_policy=str(c.NONFINITE_POLICY),
        )

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        """(2, P*S, R, T) of the model input."""
        return 2, self.packets_per_sample * self.num_subcarriers, self.num_rx, self.num_tx


def as_params(cfg_or_params: CfgNode | CsiInputParams | None) -> CsiInputParams:
    """``CsiInputParams`` as given, from a config, or the defaults for None."""
    if cfg_or_params is None:
        return CsiInputParams()
    if isinstance(cfg_or_params, CsiInputParams):
        return cfg_or_params
    return CsiInputParams.from_cfg(cfg_or_params)


def select_window(rec: CsiRecording, num_packets: int, start: int | None = None) -> CsiRecording:
    """Packets ``start : start + num_packets`` (centred window for None); rejects too-short recordings."""
    n = rec.num_packets
    if n < num_packets:
        raise CsiFormatError(f"{rec.name}: {n} packet(s), a model input needs {num_packets} (INPUT.CSI.PACKETS_PER_SAMPLE)")
    if start is None:
        start = (n - num_packets) // 2
    if not 0 <= start <= n - num_packets:
        raise CsiFormatError(f"{rec.name}: window start {start} out of range 0..{n - num_packets}")
    return rec.slice_packets(start, start + num_packets)


def resample_subcarriers(values: np.ndarray, num: int, positions: np.ndarray | None = None) -> np.ndarray:
    """Linear interpolation along axis 1 of (P, S0, R, T) to ``num`` evenly spaced subcarriers (ends aligned).

    ``positions``: increasing frequency position (e.g. 802.11 tone index) of each of the S0
    subcarriers; None treats them as evenly spaced.
    """
    s0 = values.shape[1]
    if s0 == num:
        return values
    if s0 == 1:
        return np.repeat(values, num, axis=1)
    pos = np.arange(s0, dtype=np.float64) if positions is None else np.asarray(positions, dtype=np.float64)
    target = np.linspace(pos[0], pos[-1], num)
    i0 = np.clip(np.searchsorted(pos, target, side="right") - 1, 0, s0 - 2)
    w = ((target - pos[i0]) / (pos[i0 + 1] - pos[i0])).reshape(1, num, 1, 1)
    return values[:, i0] * (1.0 - w) + values[:, i0 + 1] * w


def _tone_positions(win: CsiRecording) -> np.ndarray | None:
    """The recording's tone index per subcarrier when known and strictly increasing, else None."""
    tones = np.asarray(win.meta.get("subcarrier_index", []), dtype=np.float64)
    if tones.shape != (win.num_subcarriers,) or tones.size < 2 or np.any(np.diff(tones) <= 0):
        return None
    return tones


def _fit_antennas(x: np.ndarray, axis: int, n: int, label: str, notes: list[str]) -> np.ndarray:
    have = x.shape[axis]
    key = f"INPUT.CSI.NUM_{label} {have}"
    if have > n:
        notes.append(f"{have} {label} antennas in the file, the config uses the first {n} ({key} uses all)")
        return np.take(x, np.arange(n), axis=axis)
    if have < n:
        notes.append(f"{have} {label} antennas in the file, {n - have} more zero-filled for the config's {n} ({key} fits)")
        widths = [(0, 0)] * x.ndim
        widths[axis] = (0, n - have)
        return np.pad(x, widths)
    return x


def window_to_input(win: CsiRecording, params: CsiInputParams) -> tuple[np.ndarray, list[str]]:
    """One window (exactly ``packets_per_sample`` packets) -> (model input (2, P*S, R, T), notes)."""
    notes: list[str] = []
    if win.num_packets != params.packets_per_sample:
        raise CsiFormatError(f"{win.name}: window has {win.num_packets} packets, expected {params.packets_per_sample}")
    if np.any(win.nrx < 1):
        k = int(np.flatnonzero(win.nrx < 1)[0])
        raise CsiFormatError(f"{win.name}: packet {k} of the window carries no receive antenna")
    if not win.valid_pairs().any():
        raise CsiFormatError(f"{win.name}: no antenna pair carries CSI in this window")
    short = int(np.count_nonzero((win.nrx < win.num_rx) | (win.ntx < win.num_tx)))
    if short:
        notes.append(f"{short} packet(s) carry fewer antennas than the file's array: their missing pairs are zero")
    amp, pha = win.amplitude, win.phase
    bad = int(np.count_nonzero(~np.isfinite(amp)) + np.count_nonzero(~np.isfinite(pha)))
    if bad:
        if params.nonfinite_policy == "reject":
            raise CsiFormatError(
                f"{win.name}: {bad} non-finite CSI value(s) (NaN/inf) in the window; "
                "INPUT.CSI.NONFINITE_POLICY is 'reject'"
            )
        amp, n_amp = repair_nonfinite(amp)
        pha, n_pha = repair_nonfinite(pha, circular=True)
        notes.append(f"repaired {n_amp + n_pha} non-finite value(s) by interpolation")
    tones = _tone_positions(win)
    if params.sanitize_phase:
        pha = sanitize_phase(pha, params.median_kernel, params.uniform_kernel)
        pha = resample_subcarriers(pha, params.num_subcarriers, tones)
    elif win.num_subcarriers != params.num_subcarriers:
        pha = resample_subcarriers(np.unwrap(pha.astype(np.float64), axis=1), params.num_subcarriers, tones)
        pha = np.angle(np.exp(1j * pha))
    if win.num_subcarriers != params.num_subcarriers:
        span = "" if tones is None else f" (tones {tones[0]:g}..{tones[-1]:g}, gaps bridged at their frequency)"
        notes.append(
            f"{win.num_subcarriers} subcarriers{span} linearly resampled to {params.num_subcarriers} "
            f"(INPUT.CSI.NUM_SUBCARRIERS {win.num_subcarriers} uses them as they are)"
        )
    amp = resample_subcarriers(amp, params.num_subcarriers, tones)
    x = np.stack([amp, pha]).astype(np.float32)  # (2, P, S, R, T)
    x = _fit_antennas(x, 3, params.num_rx, "RX", notes)
    x = _fit_antennas(x, 4, params.num_tx, "TX", notes)
    x = np.ascontiguousarray(x.reshape(params.input_shape))
    if not np.all(np.isfinite(x)):  # defensive: nothing non-finite may reach a batch
        raise CsiFormatError(f"{win.name}: CSI model input is not finite after processing")
    return x, notes


def build_model_input(
    source: CsiRecording | str | os.PathLike,
    cfg_or_params: CfgNode | CsiInputParams | None = None,
    start: int | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Like :func:`csi_model_input`, also returning notes on what was repaired, resampled or filled."""
    params = as_params(cfg_or_params)
    rec = source if isinstance(source, CsiRecording) else read_csi(source)
    return window_to_input(select_window(rec, params.packets_per_sample, start), params)


def csi_model_input(
    source: CsiRecording | str | os.PathLike,
    cfg_or_params: CfgNode | CsiInputParams | None = None,
    start: int | None = None,
) -> np.ndarray:
    """One model input from a recording or a CSI file.

    Args:
        source: a :class:`CsiRecording` or a path to any file :func:`read_csi` reads.
        cfg_or_params: a config (``INPUT.CSI.*`` is used) or :class:`CsiInputParams`.
        start: first packet of the window; None takes the centred window.

    Returns:
        float32 (2, P*S, R, T): amplitude and sanitized phase, finite, not normalised.

    Raises:
        CsiFormatError: unreadable file, too few packets, no usable antenna, or non-finite
            values under the 'reject' policy (the message names the file and reason).
    """
    return build_model_input(source, cfg_or_params, start)[0]


def iter_windows(
    rec: CsiRecording, cfg_or_params: CfgNode | CsiInputParams | Any = None, stride: int | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """Scrub through a recording: yield ``(start_packet, model input)`` for each window.

    Windows of ``packets_per_sample`` consecutive packets start at 0, ``stride``,
    2*``stride``, ... (default stride: the window length, i.e. non-overlapping) while
    they fit. A recording shorter than one window raises CsiFormatError; a window that
    fails the non-finite 'reject' policy raises as well.
    """
    params = as_params(cfg_or_params)
    size = params.packets_per_sample
    step = size if stride is None else int(stride)
    if step < 1:
        raise ValueError(f"iter_windows: stride must be >= 1, got {stride}")
    if rec.num_packets < size:
        select_window(rec, size, 0)  # raises the too-few-packets error
    for start in range(0, rec.num_packets - size + 1, step):
        yield start, window_to_input(rec.slice_packets(start, start + size), params)[0]


def num_windows(num_packets: int, packets_per_sample: int, stride: int | None = None) -> int:
    """How many windows :func:`iter_windows` yields for a recording of ``num_packets``."""
    step = packets_per_sample if stride is None else stride
    return 0 if num_packets < packets_per_sample else (num_packets - packets_per_sample) // step + 1

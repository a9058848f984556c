"""One CSI recording in memory, whatever file it came from.

Axes of every per-packet array (the same order everywhere in the project):

* ``P`` packets (time; one CSI measurement per received WiFi packet),
* ``S`` subcarriers (frequency; Intel 5300: 30, MM-Fi: 114),
* ``R`` receive antennas,
* ``T`` transmit antennas / space-time streams.

Channel state is kept as amplitude and raw (wrapped) phase rather than complex numbers,
because some sources (MM-Fi) only ship amplitude and phase, and their amplitude is not
``|H|`` (MM-Fi amplitudes are on a dB-like scale). :meth:`CsiRecording.complex_csi`
rebuilds ``amplitude * exp(1j * phase)`` where a complex view is wanted.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from app.backend.errors import CsiFormatError


@dataclass
class CsiRecording:
    """CSI of ``P`` consecutive packets.

    Attributes:
        amplitude: float32 array (P, S, R, T). Antenna pairs that a packet did not carry
            (see ``nrx``/``ntx``) hold zeros. May hold NaN/inf exactly as read from the
            file; ``nonfinite_count`` counts them and the windowing step applies the
            configured policy (see :mod:`app.backend.data.csi.window`).
        phase: float32 array (P, S, R, T), raw phase in radians, wrapped to [-pi, pi]
            (not sanitized; see :func:`app.backend.data.csi.sanitize.sanitize_phase`).
        timestamps: float64 array (P,), seconds, non-decreasing. Intel 5300: the NIC's
            1 MHz ``timestamp_low`` counter unwrapped at its 2**32 wrap-around; sources
            without timestamps get synthetic ones (noted in ``notes``).
        source_format: where the data came from: ``"intel5300"``, ``"atheros"``,
            ``"esp32"``, ``"nexmon"``, ``"picoscenes"``, ``"mmfi-mat"``, ``"npy"``, ``"npz"``
            or ``"wifi-densepose-csi/1"`` (our sample format).
        path: the file read, or None for in-memory data.
        nrx: int16 array (P,), receive antennas each packet actually carried (<= R).
        ntx: int16 array (P,), transmit streams each packet actually carried (<= T).
        nonfinite_count: number of non-finite values in ``amplitude`` and ``phase``
            together, as read.
        notes: human-readable remarks on how the file was interpreted (zero-filled
            antennas, synthetic timestamps, ...).
        meta: JSON-ready facts the capture tool recorded (``tool``, ``chip``,
            ``bandwidth_mhz``, ``channel``, ``rssi_dbm``, ``clock``, ``subcarrier_index``:
            the 802.11 tone index of each of the S subcarriers, ...); empty when unknown.
            See ``docs/csi-formats.md`` for the keys of each format.
    """

    amplitude: np.ndarray
    phase: np.ndarray
    timestamps: np.ndarray
    source_format: str
    path: str | None = None
    nrx: np.ndarray | None = None
    ntx: np.ndarray | None = None
    nonfinite_count: int = -1
    notes: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = self.path or "<in-memory CSI>"
        amp = np.asarray(self.amplitude)
        pha = np.asarray(self.phase)
        if amp.ndim != 4 or pha.shape != amp.shape:
            raise CsiFormatError(
                f"{where}: amplitude and phase must share a (packets, subcarriers, rx, tx) shape, "
                f"got {amp.shape} and {pha.shape}"
            )
        if min(amp.shape) < 1:
            raise CsiFormatError(f"{where}: empty CSI array of shape {amp.shape}")
        if not (np.issubdtype(amp.dtype, np.number) and np.issubdtype(pha.dtype, np.number)):
            raise CsiFormatError(f"{where}: amplitude/phase must be numeric, got {amp.dtype}/{pha.dtype}")
        if np.iscomplexobj(amp) or np.iscomplexobj(pha):
            raise CsiFormatError(f"{where}: amplitude and phase must be real-valued")
        with np.errstate(over="ignore", invalid="ignore"):  # huge values become inf and are counted
            self.amplitude = amp.astype(np.float32, copy=False)
            self.phase = pha.astype(np.float32, copy=False)
        p, _, r, t = amp.shape
        ts = np.asarray(self.timestamps, dtype=np.float64).reshape(-1)
        if ts.shape != (p,):
            raise CsiFormatError(f"{where}: {ts.size} timestamps for {p} packets")
        if not np.all(np.isfinite(ts)):
            raise CsiFormatError(f"{where}: timestamps contain non-finite values")
        self.timestamps = ts
        self.nrx = self._antenna_counts(self.nrx, r, p, "nrx", where)
        self.ntx = self._antenna_counts(self.ntx, t, p, "ntx", where)
        if self.nonfinite_count < 0:
            self.nonfinite_count = int(np.count_nonzero(~np.isfinite(self.amplitude)))
            self.nonfinite_count += int(np.count_nonzero(~np.isfinite(self.phase)))
        self.notes = list(self.notes)
        self.meta = dict(self.meta)

    @classmethod
    def from_complex(
        cls,
        csi: np.ndarray,
        timestamps: np.ndarray,
        *,
        columns: np.ndarray | None = None,
        antennas: tuple[int, int] | None = None,
        finite: bool = False,
        **kwargs: object,
    ) -> CsiRecording:
        """A recording from complex CSI (P, S0, R0, T0) of any complex dtype.

        Args:
            columns, antennas: as :func:`complex_to_polar`.
            finite: the values are known to be finite (integers decoded by a capture tool),
                so they are not counted again.
            kwargs: the other fields (``source_format``, ``path``, ``nrx``, ...).
        """
        amp, pha = complex_to_polar(csi, columns, antennas)
        if finite:
            kwargs.setdefault("nonfinite_count", 0)
        return cls(amplitude=amp, phase=pha, timestamps=timestamps, **kwargs)  # type: ignore[arg-type]

    @staticmethod
    def _antenna_counts(values: np.ndarray | None, full: int, p: int, name: str, where: str) -> np.ndarray:
        if values is None:
            return np.full(p, full, dtype=np.int16)
        arr = np.asarray(values).reshape(-1)
        if arr.shape != (p,) or (arr.size and (arr.min() < 0 or arr.max() > full)):
            raise CsiFormatError(f"{where}: per-packet {name} must be {p} values in 0..{full}")
        return arr.astype(np.int16)

    # -- shape helpers -------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int, int, int]:
        """(P, S, R, T)."""
        p, s, r, t = self.amplitude.shape
        return p, s, r, t

    @property
    def num_packets(self) -> int:
        return self.amplitude.shape[0]

    @property
    def num_subcarriers(self) -> int:
        return self.amplitude.shape[1]

    @property
    def num_rx(self) -> int:
        return self.amplitude.shape[2]

    @property
    def num_tx(self) -> int:
        return self.amplitude.shape[3]

    @property
    def name(self) -> str:
        """The file path for messages, or a placeholder for in-memory data."""
        return self.path or "<in-memory CSI>"

    # -- time helpers --------------------------------------------------------------------
    @property
    def duration(self) -> float:
        """Seconds from the first to the last packet (0.0 for one packet)."""
        return float(self.timestamps[-1] - self.timestamps[0]) if self.num_packets > 1 else 0.0

    @property
    def packet_rate(self) -> float | None:
        """Mean packets per second, ``(P - 1) / duration``; None when undefined (one packet or zero span)."""
        d = self.duration
        return (self.num_packets - 1) / d if d > 0 else None

    # -- views ---------------------------------------------------------------------------
    def complex_csi(self) -> np.ndarray:
        """complex64 (P, S, R, T) ``amplitude * exp(1j * phase)``."""
        return (self.amplitude * np.exp(1j * self.phase)).astype(np.complex64)

    def valid_pairs(self) -> np.ndarray:
        """bool (R, T): antenna pairs carried by at least one packet (not zero-filled everywhere)."""
        rx = np.arange(self.num_rx)[None, :] < self.nrx[:, None]  # (P, R)
        tx = np.arange(self.num_tx)[None, :] < self.ntx[:, None]  # (P, T)
        return np.any(rx[:, :, None] & tx[:, None, :], axis=0)

    def slice_packets(self, start: int, stop: int) -> CsiRecording:
        """Packets ``start:stop`` as a new recording (arrays are views; notes are copied)."""
        sl = slice(start, stop)
        amp, pha = self.amplitude[sl], self.phase[sl]
        count = int(np.count_nonzero(~np.isfinite(amp)) + np.count_nonzero(~np.isfinite(pha)))
        return replace(
            self,
            amplitude=amp,
            phase=pha,
            timestamps=self.timestamps[sl],
            nrx=self.nrx[sl],
            ntx=self.ntx[sl],
            nonfinite_count=count,
            notes=list(self.notes),
            meta=dict(self.meta),
        )

    def summary(self) -> str:
        """One line for logs: format, shape, span."""
        p, s, r, t = self.shape
        rate = self.packet_rate
        rate_s = f"{rate:.1f} pkt/s" if rate is not None else "rate n/a"
        return f"{self.source_format} P={p} S={s} R={r} T={t}, {self.duration:.3f} s, {rate_s}, {self.nonfinite_count} non-finite"


def complex_to_polar(
    csi: np.ndarray, columns: np.ndarray | None = None, antennas: tuple[int, int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """float32 amplitude and phase (P, S, R, T) of complex CSI (P, S0, R0, T0) of any complex dtype.

    Args:
        columns: subcarriers of ``csi`` to keep, in order (None: all).
        antennas: (R, T) of the result, at least (R0, T0); the extra pairs are zero.

    Computed in float32 block by block of packets (cache-sized complex64 copies), straight
    into the result arrays: several times faster than float64 and no full-size temporaries.
    """
    src = np.asarray(csi)
    p, s0, r0, t0 = src.shape
    if columns is not None and np.array_equal(columns, np.arange(s0)):
        columns = None  # every subcarrier, in order: no selection pass
    s = s0 if columns is None else len(columns)
    r, t = antennas or (r0, t0)
    make = np.empty if (r, t) == (r0, t0) else np.zeros
    amp, pha = make((p, s, r, t), np.float32), make((p, s, r, t), np.float32)
    step = max(1, 2**18 // max(1, s * r0 * t0))  # blocks of ~2 MB
    with np.errstate(over="ignore", invalid="ignore"):
        for i in range(0, p, step):
            block = src[i : i + step] if columns is None else np.take(src[i : i + step], columns, axis=1)
            block = block.astype(np.complex64, copy=False)
            amp[i : i + step, :, :r0, :t0] = np.abs(block)
            pha[i : i + step, :, :r0, :t0] = np.arctan2(block.imag, block.real)
    return amp, pha

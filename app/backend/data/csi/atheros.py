"""Atheros CSI Tool (QCA9300 family, ath9k) logs: structural validation, then csiread.

A log written by ``recvCSI`` is a chain of records ``[field_len: u16][status: 25 bytes]
[CSI: csi_len bytes][payload: payload_len bytes]`` with ``field_len = 25 + csi_len +
payload_len``, in the logging host's byte order (little-endian on x86, big-endian on many
MIPS routers; the "pull 10" variant starts with one byte, 0xff for big-endian). Status:
u64 timestamp (us), u16 csi_len, u16 channel (MHz), u8 err_info, noise_floor, rate,
bandwidth (0: 20, 1: 40 MHz), num_tones (56 or 114), nr, nc, rssi, rssi_1..3, u16
payload_len. The CSI is 10-bit I/Q packed, ``num_tones * nr * nc * 20`` bits.

csiread trusts every length (fixed 4 KiB buffers, ``num_tones`` used as an index), so
every record is checked here first: complete, ``field_len`` consistent, lengths within
csiread's buffers, ``num_tones`` in {56, 114} and the same in every CSI record, 1..3
antennas, ``csi_len`` exactly the packed size. Records with ``csi_len = 0`` (no CSI)
are skipped and counted.

Layout after reading: (P, 52, 3, 3) at 20 MHz (the 56 tones are -28..28 without DC;
pilots +-7, +-21 dropped) or (P, 108, 3, 3) at 40 MHz (114 tones, pilots +-11, +-25,
+-53 dropped); RX/TX a packet lacks are zero. Values are csiread's raw signed 10-bit I/Q.
Timestamps: the NIC's microsecond clock (device clock); values that fit 32 bits are
unwrapped at 2**32 (see :mod:`.clock`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.backend.data.csi.clock import counter_modulus, unwrap_counter
from app.backend.data.csi.framing import Framing, check_csi_size, field, take_bytes, truncation_error, walk_records
from app.backend.data.csi.meta import antenna_notes, distinct, value_range
from app.backend.data.csi.recording import CsiRecording
from app.backend.data.csi.tones import data_tones, describe_kept, occupied_tones, select_tones
from app.backend.errors import CsiFormatError

_STATUS = 25
_CSIREAD_BUFFER = 4096  # csiread reads CSI and payload into buffers of this size
_MAX_ANTENNAS = 3
_BANDWIDTH = {56: 20, 114: 40}  # num_tones -> MHz


@dataclass(frozen=True)
class AtherosLayout:
    """Where records start (0, or 1 after a pull-10 endian flag) and their byte order."""

    start: int
    endian: str  # "little" or "big"

    @property
    def prefix(self) -> str:
        return "<" if self.endian == "little" else ">"


@dataclass(frozen=True)
class AtherosScan:
    """Validated records of a log (arrays are per complete record, in file order)."""

    layout: AtherosLayout
    framing: Framing
    timestamp: np.ndarray  # int64 us
    csi_len: np.ndarray
    channel: np.ndarray
    err_info: np.ndarray
    rate: np.ndarray
    bandwidth: np.ndarray
    num_tones: np.ndarray
    nr: np.ndarray
    nc: np.ndarray
    rssi: np.ndarray  # (N, 4): combined, chains 1..3 (dB, relative)

    @property
    def has_csi(self) -> np.ndarray:
        return self.csi_len > 0


def _status_ok(h: bytes, endian: str) -> bool:
    """True if ``h`` (2 + 25 bytes) is a plausible first record in ``endian`` order."""
    o = endian
    field_len = int.from_bytes(h[0:2], o)
    csi_len = int.from_bytes(h[10:12], o)
    channel = int.from_bytes(h[12:14], o)
    payload_len = int.from_bytes(h[25:27], o)
    tones, nr, nc = h[18], h[19], h[20]
    if field_len != _STATUS + csi_len + payload_len or payload_len > _CSIREAD_BUFFER or h[17] > 1:
        return False
    if not (2300 <= channel <= 6000):
        return False
    if csi_len == 0:
        return True
    return tones in _BANDWIDTH and 1 <= nr <= _MAX_ANTENNAS and 1 <= nc <= _MAX_ANTENNAS and csi_len * 8 == tones * nr * nc * 20


def detect_atheros(head: bytes) -> AtherosLayout | None:
    """The layout whose first record is plausible (little-endian, big-endian, pull-10), else None."""
    for start in (0, 1):
        if start == 1 and head[:1] not in (b"\xff", b"\x00"):
            continue
        h = head[start : start + 2 + _STATUS]
        if len(h) < 2 + _STATUS:
            continue
        for endian in ("little", "big"):
            if start == 1 and (endian == "big") != (head[0] == 0xFF):
                continue
            if _status_ok(h, endian):
                return AtherosLayout(start, endian)
    return None


def scan_atheros(buf: bytes, where: str, layout: AtherosLayout) -> AtherosScan:
    """Frame and check every complete record of ``buf`` (a whole log, or the part written so far).

    Raises:
        CsiFormatError: naming ``where``, the record number, its offset and what is wrong.
            A cut-off last record is *not* an error here (``framing.tail`` > 0): a whole-file
            reader reports it, a streaming reader waits for the rest.
    """
    p = layout.prefix
    fr = walk_records(buf, layout.start, len_at=0, len_dtype=p + "u2", overhead=2, where=where)
    status = take_bytes(buf, fr.offsets + 2, _STATUS)  # the status follows field_len

    def u(off: int, dt: str) -> np.ndarray:
        return field(status, off, dt).astype(np.int64)  # u64 timestamps >= 2**63 turn negative: refused later

    scan = AtherosScan(
        layout=layout,
        framing=fr,
        timestamp=u(0, p + "u8"),
        csi_len=u(8, p + "u2"),
        channel=u(10, p + "u2"),
        err_info=u(12, "u1"),
        rate=u(14, "u1"),
        bandwidth=u(15, "u1"),
        num_tones=u(16, "u1"),
        nr=u(17, "u1"),
        nc=u(18, "u1"),
        rssi=np.stack([u(19 + k, "u1") for k in range(4)], axis=1) if fr.count else np.zeros((0, 4), np.int64),
    )
    payload_len = u(23, p + "u2")
    c = scan.has_csi
    checks = [
        (fr.lengths < 2 + _STATUS, "is shorter than its 25-byte status"),
        (fr.lengths != 2 + _STATUS + scan.csi_len + payload_len, "has a length that does not match its CSI and payload sizes"),
        ((scan.csi_len > _CSIREAD_BUFFER) | (payload_len > _CSIREAD_BUFFER), "has a CSI or payload block over 4096 bytes"),
        (c & ~np.isin(scan.num_tones, list(_BANDWIDTH)), "has a tone count other than 56 or 114"),
        (c & ((scan.nr < 1) | (scan.nr > 3) | (scan.nc < 1) | (scan.nc > 3)), "has antenna counts outside 1..3"),
        (c & (scan.csi_len * 8 != scan.num_tones * scan.nr * scan.nc * 20), "has a CSI size that is not 20 bits per value"),
    ]
    for bad, reason in checks:
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise CsiFormatError(
                f"{where}: bad Atheros CSI log: record {k} at offset {int(fr.offsets[k])} {reason} "
                f"(tones {scan.num_tones[k]}, nr {scan.nr[k]}, nc {scan.nc[k]}, csi_len {scan.csi_len[k]})"
            )
    tones = np.unique(scan.num_tones[c])
    if tones.size > 1:
        counts = {int(t): int(np.count_nonzero(scan.num_tones[c] == t)) for t in tones}
        raise CsiFormatError(
            f"{where}: Atheros CSI log mixes 20 and 40 MHz records (tones: packets {counts}); one recording needs one "
            "subcarrier layout: split the log by bandwidth"
        )
    return scan


def read_atheros(path: str, data: bytes, layout: AtherosLayout) -> CsiRecording:
    """Validate the whole log ``data`` (the content of ``path``), read it with csiread, keep the data tones."""
    scan = scan_atheros(data, path, layout)
    fr = scan.framing
    if fr.tail:
        raise truncation_error(path, "Atheros CSI log", fr)
    n_csi = int(np.count_nonzero(scan.has_csi))
    if n_csi == 0:
        raise CsiFormatError(f"{path}: Atheros CSI log holds no CSI ({fr.count} record(s), all with csi_len 0)")
    tones = int(scan.num_tones[scan.has_csi][0])
    check_csi_size(path, fr.count, tones * _MAX_ANTENNAS * _MAX_ANTENNAS)
    import csiread

    try:  # the full 3x3 array: csiread zero-fills what a packet lacks (cheaper than padding afterwards)
        parsed = csiread.Atheros(path, nrxnum=3, ntxnum=3, pl_size=0, tones=tones, if_report=False, bufsize=fr.count)
        parsed.seek(path, layout.start, 0, layout.endian)
    except Exception as exc:  # csiread raises plain Exception/ValueError
        raise CsiFormatError(f"{path}: csiread could not parse the Atheros CSI log: {exc}") from exc
    if parsed.count != fr.count:
        raise CsiFormatError(f"{path}: csiread parsed {parsed.count} of {fr.count} Atheros records")
    return atheros_recording(path, scan, np.asarray(parsed.csi))


def atheros_recording(path: str | None, scan: AtherosScan, csi: np.ndarray) -> CsiRecording:
    """The recording from validated records and csiread's ``csi`` (N, tones, 3, 3) of the same records."""
    keep = scan.has_csi
    tones = int(scan.num_tones[keep][0])
    bw = _BANDWIDTH[tones]
    wanted = data_tones(bw, "ht")
    cols = select_tones(occupied_tones(bw, "ht"), wanted)
    seconds, clock = unwrap_counter(
        scan.timestamp[keep], unit_s=1e-6, modulus=counter_modulus(scan.timestamp[keep]), source="device", where=path or ""
    )
    nrx, ntx = scan.nr[keep].astype(np.int16), scan.nc[keep].astype(np.int16)
    notes = [f"Atheros CSI Tool: {int(keep.sum())} packets, {bw} MHz, {describe_kept(tones, wanted, f'HT {bw} MHz')}"]
    skipped = scan.framing.count - int(keep.sum())
    if skipped:
        notes.append(f"{skipped} record(s) without CSI (csi_len 0) skipped")
    errors = int(np.count_nonzero(scan.err_info[keep]))
    if errors:
        notes.append(f"{errors} packet(s) flagged with a PHY error code (kept)")
    notes += antenna_notes(nrx, "RX", _MAX_ANTENNAS) + antenna_notes(ntx, "TX", _MAX_ANTENNAS) + clock.notes()
    meta = {
        "tool": "Atheros CSI Tool",
        "chip": "Qualcomm Atheros QCA9300 family (ath9k)",
        "byte_order": scan.layout.endian,
        "bandwidth_mhz": bw,
        "channel_mhz": distinct(scan.channel[keep]),
        "rate_codes": distinct(scan.rate[keep]),
        "rssi_db": value_range(scan.rssi[keep, 0]),
        "clock": clock.as_meta(),
        "subcarrier_index": wanted.tolist(),
    }
    values = csi if keep.all() else csi[keep]
    kw = {"path": path, "nrx": nrx, "ntx": ntx, "notes": notes, "meta": meta}
    return CsiRecording.from_complex(values, seconds, columns=cols, finite=True, source_format="atheros", **kw)

"""Intel 5300 (Linux 802.11n CSI Tool) ``.dat`` logs: structural validation, then csiread.

A log is a sequence of records ``[field_len: uint16 big-endian][code: uint8][field_len - 1
bytes]``. Code 0xBB is a beamforming (CSI) report, 0xC1 a MAC header; other codes are
skipped. csiread's C parser trusts the file completely (fixed 1 KiB record buffer,
antenna permutation used as an index), so every record is checked here first and a
file that fails any check never reaches it:

* every record is complete (a cut-off last record means a truncated file),
* ``field_len >= 1``; 0xBB/0xC1 bodies fit csiread's buffer and are long enough,
* 0xBB: Nrx, Ntx in 1..3, the CSI payload length equals ``60 * Nrx * Ntx + 12`` and
  the antenna permutation is a permutation of ``0..Nrx-1``.

Timestamps: ``timestamp_low`` is the NIC's 1 MHz clock, low 32 bits (wraps every
~71.6 minutes); it is unwrapped and converted to seconds. A backwards step of less than
half the counter range is an out-of-order packet, not a wrap (see :mod:`.clock`). CSI values are csiread's raw ``csi`` (normalised to the NIC's internal
reference, permutation applied), not ``get_scaled_csi``.
"""

from __future__ import annotations

import numpy as np

from app.backend.data.csi.clock import WRAP_32, unwrap_counter
from app.backend.data.csi.framing import MAX_CSI_VALUES, check_csi_size
from app.backend.data.csi.meta import antenna_notes
from app.backend.data.csi.recording import CsiRecording
from app.backend.errors import CsiFormatError

CODE_BFEE = 0xBB
CODE_MAC = 0xC1
_MAX_ANTENNAS = 3
_BFEE_HEADER = 20  # bytes of a 0xBB body before the CSI payload
_MAC_MIN = 24
_CSIREAD_BUFFER = 1024  # csiread reads each 0xBB/0xC1 body into a buffer of this size
_MIN_BFEE_RECORD = 95  # 3 + 20 + 72 bytes: the smallest (1x1) CSI record
_PER_PACKET = 30 * _MAX_ANTENNAS * _MAX_ANTENNAS  # csiread allocates 3x3 antenna pairs for every record
_MAX_CSI_RECORDS = MAX_CSI_VALUES // _PER_PACKET


def looks_like_intel5300(head: bytes) -> bool:
    """True if ``head`` (the first bytes of a file) starts with a plausible 0xBB/0xC1 record.

    A cheap sniff of the first record only (code, length, antenna counts);
    :func:`validate_intel5300` walks the whole file and names the exact problem.
    """
    if len(head) < 3:
        return False
    field_len = int.from_bytes(head[0:2], "big")
    code = head[2]
    if code not in (CODE_BFEE, CODE_MAC) or field_len < 1 or field_len - 1 > _CSIREAD_BUFFER:
        return False
    if code == CODE_MAC:
        return field_len - 1 >= _MAC_MIN
    if field_len - 1 < _BFEE_HEADER or len(head) < 13:
        return False
    return 1 <= head[11] <= _MAX_ANTENNAS and 1 <= head[12] <= _MAX_ANTENNAS


def validate_intel5300(data: bytes, where: str) -> tuple[int, int]:
    """Walk every record of a whole ``.dat`` file; return (CSI records, MAC records).

    Raises:
        CsiFormatError: naming ``where``, the record number and byte offset of the first
            problem (truncation, bad length, bad antenna counts or permutation).
    """
    size = len(data)
    pos = 0
    n_bfee = n_mac = n_rec = 0
    bodies: list[int] = []  # (offset of the body, its length, record number, record offset) per CSI record
    body_lens: list[int] = []
    rec_ids: list[int] = []
    rec_pos: list[int] = []
    while pos < size:
        if pos + 3 > size:
            raise CsiFormatError(
                f"{where}: truncated Intel 5300 log: {size - pos} stray byte(s) at offset {pos} "
                f"after {n_bfee} complete CSI packet(s)"
            )
        field_len = (data[pos] << 8) | data[pos + 1]
        code = data[pos + 2]
        if field_len < 1:
            raise CsiFormatError(f"{where}: not an Intel 5300 log: record {n_rec} at offset {pos} has length 0")
        end = pos + 2 + field_len
        if end > size:
            raise CsiFormatError(
                f"{where}: truncated Intel 5300 log: record {n_rec} at offset {pos} declares {field_len} bytes "
                f"but only {size - pos - 2} remain (after {n_bfee} complete CSI packet(s))"
            )
        body_len = field_len - 1
        if code == CODE_BFEE:
            if not (_BFEE_HEADER <= body_len <= _CSIREAD_BUFFER):
                _check_bfee(data, pos + 3, body_len, where, n_rec, pos)
            bodies.append(pos + 3)
            body_lens.append(body_len)
            rec_ids.append(n_rec)
            rec_pos.append(pos)
            n_bfee += 1
            if n_bfee > _MAX_CSI_RECORDS:  # stop walking: csiread would allocate 270 values per record
                check_csi_size(where, n_bfee, _PER_PACKET, "CSI values (csiread's 3x3 layout)")
        elif code == CODE_MAC:
            if not (_MAC_MIN <= body_len <= _CSIREAD_BUFFER):
                raise CsiFormatError(f"{where}: bad Intel 5300 log: MAC record {n_rec} at offset {pos} has bad length {body_len}")
            n_mac += 1
        pos = end
        n_rec += 1
    if n_bfee == 0:
        raise CsiFormatError(f"{where}: Intel 5300 log holds no CSI (0xBB) records")
    if n_mac > size // _MIN_BFEE_RECORD:
        raise CsiFormatError(f"{where}: Intel 5300 log has an implausible number of MAC records ({n_mac})")
    bad = _bad_bfee(np.frombuffer(data, dtype=np.uint8), np.asarray(bodies), np.asarray(body_lens))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        _check_bfee(data, bodies[k], body_lens[k], where, rec_ids[k], rec_pos[k])
        raise CsiFormatError(f"{where}: bad Intel 5300 log: CSI record {rec_ids[k]} at offset {rec_pos[k]} is malformed")
    return n_bfee, n_mac


def _bad_bfee(buf: np.ndarray, body: np.ndarray, body_len: np.ndarray) -> np.ndarray:
    """bool per CSI record: antenna counts, payload length or antenna permutation invalid (vectorised)."""
    nrx = buf[body + 8].astype(np.int64)
    ntx = buf[body + 9].astype(np.int64)
    payload = buf[body + 16].astype(np.int64) | (buf[body + 17].astype(np.int64) << 8)
    sel = buf[body + 15].astype(np.int64)
    bad = (nrx < 1) | (nrx > _MAX_ANTENNAS) | (ntx < 1) | (ntx > _MAX_ANTENNAS)
    bad |= (payload != 60 * nrx * ntx + 12) | (_BFEE_HEADER + payload > body_len)
    seen = np.zeros_like(sel)
    for j in range(_MAX_ANTENNAS):  # the first nrx 2-bit fields must be a permutation of 0..nrx-1
        seen |= np.where(j < nrx, 1 << ((sel >> (2 * j)) & 0x3), 0)
    bad |= seen != (1 << np.clip(nrx, 0, _MAX_ANTENNAS)) - 1
    return bad


def _check_bfee(data: bytes, body: int, body_len: int, where: str, n_rec: int, pos: int) -> None:
    if not (_BFEE_HEADER <= body_len <= _CSIREAD_BUFFER):
        raise CsiFormatError(f"{where}: bad Intel 5300 log: CSI record {n_rec} at offset {pos} has bad length {body_len}")
    nrx, ntx = data[body + 8], data[body + 9]
    if not (1 <= nrx <= _MAX_ANTENNAS and 1 <= ntx <= _MAX_ANTENNAS):
        raise CsiFormatError(f"{where}: bad Intel 5300 log: CSI record {n_rec} at offset {pos} has Nrx={nrx}, Ntx={ntx} (allowed 1..3)")
    payload = data[body + 16] | (data[body + 17] << 8)
    if payload != 60 * nrx * ntx + 12 or _BFEE_HEADER + payload > body_len:
        raise CsiFormatError(
            f"{where}: bad Intel 5300 log: CSI record {n_rec} at offset {pos} has a CSI payload of {payload} bytes, "
            f"expected {60 * nrx * ntx + 12} for {nrx}x{ntx} antennas within a {body_len}-byte record"
        )
    antenna_sel = data[body + 15]
    perm = [(antenna_sel >> (2 * j)) & 0x3 for j in range(nrx)]
    if sorted(perm) != list(range(nrx)):
        raise CsiFormatError(f"{where}: bad Intel 5300 log: CSI record {n_rec} at offset {pos} has an invalid antenna permutation {perm}")


def unwrap_timestamp_low(ts_low: np.ndarray) -> np.ndarray:
    """float64 seconds from the NIC's 32-bit microsecond counter, unwrapped at 2**32 (wraps told from reorderings)."""
    return unwrap_counter(ts_low, unit_s=1e-6, modulus=WRAP_32, source="device")[0]


def read_intel5300(path: str, data: bytes) -> CsiRecording:
    """Parse a validated Intel 5300 log with csiread into a (P, 30, 3, 3) recording.

    ``data`` is the whole file content (already read by the caller) for validation;
    csiread then reads ``path`` itself. Per-packet Nrx/Ntx are kept; antenna pairs a
    packet did not carry are zero (csiread leaves them zero) and a note says so.
    """
    n_bfee, _ = validate_intel5300(data, path)
    check_csi_size(path, n_bfee, _PER_PACKET, "CSI values (csiread's 3x3 layout)")
    del data  # the caller's copy is the last one
    import csiread

    try:
        parsed = csiread.Intel(path, nrxnum=_MAX_ANTENNAS, ntxnum=_MAX_ANTENNAS, pl_size=0, if_report=False)
        parsed.read()
    except Exception as exc:  # csiread raises plain Exception/ValueError on broken packets
        raise CsiFormatError(f"{path}: csiread could not parse the Intel 5300 log: {exc}") from exc
    csi = np.asarray(parsed.csi)
    if csi.shape[0] != n_bfee:
        raise CsiFormatError(f"{path}: csiread parsed {csi.shape[0]} of {n_bfee} CSI records")
    nrx = np.asarray(parsed.Nrx, dtype=np.int16)
    ntx = np.asarray(parsed.Ntx, dtype=np.int16)
    seconds, clock = unwrap_counter(parsed.timestamp_low, unit_s=1e-6, modulus=WRAP_32, source="device", where=path)
    notes = [f"raw CSI from csiread ({n_bfee} packets, 30 subcarriers, up to 3x3 antennas)"]
    notes += antenna_notes(nrx, "RX", _MAX_ANTENNAS) + antenna_notes(ntx, "TX", _MAX_ANTENNAS) + clock.notes()
    meta = {"tool": "Linux 802.11n CSI Tool", "chip": "Intel 5300", "clock": clock.as_meta()}
    kw = {"path": path, "nrx": nrx, "ntx": ntx, "notes": notes, "meta": meta}
    return CsiRecording.from_complex(csi, seconds, finite=True, source_format="intel5300", **kw)

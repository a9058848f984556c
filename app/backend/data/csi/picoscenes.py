"""PicoScenes ``.csi`` files: frame and segment validation, then csiread.

A PicoScenes file is a chain of frames ``[u32 length][u32 magic 0x20150315][u16 version
1][u8 segments]`` followed by named, versioned segments (``RxSBasic``: timestamp, RSSI,
frame format; ``CSI``; optional ``ExtraInfo``, ``MVMExtra``, ``PilotCSI``, ``LegacyCSI``,
``BasebandSignal``, ``PreEQSymbols``), then the received MPDU (802.11 header, optionally
a PicoScenes TX header with its own segments).

csiread (PicoScenes format of 2022-01-21) follows every length and count in a frame with
C pointers, so each is checked here first: frames complete, every segment inside its
frame, names csiread cannot confuse, fixed-size segments long enough, CSI sizes that
match the frontend's encoding, signal matrices of at most 3 dimensions, the MPDU long
enough for the headers csiread reads. Frames without a CSI segment are skipped and
counted.

Frontends (the CSI segment's device type):

* Intel 5300 (IWL5300): 30 grouped tones kept as they are (the paper's layout, as the
  ``.dat`` reader), (P, 30, 3, 3);
* QCA9300: 56 tones at 20 MHz / 114 at 40 MHz, data tones kept: (P, 52 | 108, 3, 3);
* USRP SDR: the tones the file lists, pilots of its frame format dropped, (P, S, R, T)
  with R, T the most any frame carries (csiread's (tone, rx, tx) reading of the matrix);
* refused with the reason: AX200/AX210 (csiread 1.4.1 drops the wrong tones as pilots
  for them), mac80211-compatible NICs, VirtualSDR and other device types (csiread does
  not decode them), CSI or RxSBasic segments newer than csiread reads, and files that mix
  frontends, frame formats or bandwidths (one recording needs one subcarrier layout).

Timestamps: ``RxSBasic`` timestamp; NICs stamp frames with their own microsecond clock
(device clock; unwrapped at 2**32 when every value fits 32 bits), SDR frontends with the
host's time in nanoseconds (host clock).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from dataclasses import field as dataclass_field

import numpy as np

from app.backend.data.csi.clock import counter_modulus, unwrap_counter
from app.backend.data.csi.framing import (
    Framing,
    check_csi_size,
    field,
    gather,
    take_bytes,
    truncation_error,
    walk_records,
)
from app.backend.data.csi.meta import antenna_notes, distinct, value_range
from app.backend.data.csi.recording import CsiRecording
from app.backend.data.csi.tones import describe_kept, occupied_tones, pilot_tones, select_tones
from app.backend.errors import CsiFormatError

MAGIC = 0x20150315
FRONTENDS = {
    0x9300: "QCA9300",
    0x5300: "IWL5300",
    0x2000: "AX200",
    0x2100: "AX210",
    0x0802: "mac80211-compatible NIC",
    0x1234: "USRP",
    0x1000: "VirtualSDR",
    0x0404: "unknown device",
}
READ = {0x5300, 0x9300, 0x1234}
_FORMATS = {0: "NonHT", 1: "HT", 2: "VHT", 3: "HE-SU", 4: "HE-MU"}
_TONE_KIND = {0: "legacy", 1: "ht", 2: "vht"}
_RX_NAMES = ("RxSBasic", "ExtraInfo", "MVMExtra", "CSI", "PilotCSI", "LegacyCSI", "BasebandSignal", "PreEQSymbols")
_TX_NAMES = ("ExtraInfo", "DPASRequest")
_CSI_NAMES = ("CSI", "PilotCSI", "LegacyCSI")
_FIXED = {  # (name, version) -> bytes csiread reads from the segment's payload
    ("RxSBasic", 1): 26, ("RxSBasic", 2): 28, ("RxSBasic", 3): 32, ("MVMExtra", 1): 98,
    ("DPASRequest", 1): 8, ("DPASRequest", 2): 10, ("DPASRequest", 3): 24, ("DPASRequest", 4): 27,
}  # fmt: skip
_CSI_HEADER = {1: 35, 2: 37, 3: 39, 4: 40}  # CSI segment version -> header bytes before the buffer
_EXTRA_SIZES = (8, 2, 6, 6, 4, 1, 20, 1, 1, 1, 8, 4, 4, 2, 1, 1, 2, 1, 1, 1, 1, 8, 4, 4, 1)  # per feature bit
_HEADER_80211 = 24
_PS_HEADER = 16


def looks_like_picoscenes(head: bytes) -> bool:
    return len(head) >= 11 and struct.unpack_from("<IH", head, 4) == (MAGIC, 1)


@dataclass
class PicoScan:
    """Validated frames of a file; per-frame arrays (N,) describe each frame's CSI segment.

    ``device`` is -1 for a frame without a CSI segment and ``-2 - version`` for a CSI
    segment of a version csiread does not read. ``scidx`` holds an SDR frame's own
    subcarrier list (other frontends' tones follow from the device and bandwidth).
    """

    framing: Framing
    device: np.ndarray
    fmt: np.ndarray
    cbw: np.ndarray
    tones: np.ndarray
    nrx: np.ndarray
    sts: np.ndarray
    offset: np.ndarray
    mpdu: np.ndarray  # bytes after the RX segments
    scidx: dict[int, tuple] = dataclass_field(default_factory=dict)


class _Bad(Exception):
    def __init__(self, k: int, reason: str) -> None:
        super().__init__(reason)
        self.k, self.reason = k, reason


def _bad(where: str, k: int, at: int, reason: str) -> CsiFormatError:
    return CsiFormatError(f"{where}: bad PicoScenes file: frame {k} at offset {at} {reason}")


def _check(bad: np.ndarray, ids: np.ndarray, reason: str) -> None:
    if np.any(bad):
        raise _Bad(int(ids[np.flatnonzero(bad)[0]]), reason)


def scan_picoscenes(buf: bytes, where: str) -> PicoScan:
    """Check every complete frame of ``buf`` (a cut-off tail is left to the caller).

    Frames are walked side by side: segment ``j`` of every frame that has one is checked
    in one vectorised step, so the cost per frame stays in NumPy.
    """
    fr = walk_records(buf, 0, len_at=0, len_dtype="<u4", overhead=4, where=where)
    n = fr.count
    minus = np.full(n, -1, np.int64)
    scan = PicoScan(fr, minus.copy(), minus.copy(), *(np.zeros(n, np.int64) for _ in range(6)))
    try:
        ids = np.arange(n)
        _check(fr.lengths < 11, ids, "has no PicoScenes frame header (magic 0x20150315, version 1)")
        head = take_bytes(buf, fr.offsets, 11)
        _check((field(head, 4, "<u4") != MAGIC) | (field(head, 8, "<u2") != 1), ids, "has no PicoScenes frame header (magic 0x20150315, version 1)")
        end = fr.offsets + fr.lengths
        cur = _segments(buf, fr.offsets + 11, end, head[:, 10].astype(np.int64), ids, _RX_NAMES, scan)
        scan.mpdu[:] = end - cur
        tx = np.flatnonzero(scan.mpdu >= _HEADER_80211 + 4)
        at = cur[tx] + _HEADER_80211
        tx, at = tx[gather(buf, at, "<u4") == MAGIC], at[gather(buf, at, "<u4") == MAGIC]
        _check(end[tx] - at < _PS_HEADER, tx, "has a cut-off PicoScenes TX header")
        count = gather(buf, at + 10, "u1").astype(np.int64)
        _segments(buf, at + _PS_HEADER, end[tx], count, tx, _TX_NAMES, None)
    except _Bad as exc:
        raise _bad(where, exc.k, int(fr.offsets[exc.k]), exc.reason) from None
    return scan


def _segments(
    buf: bytes, cur: np.ndarray, end: np.ndarray, count: np.ndarray, ids: np.ndarray, names: tuple, scan: PicoScan | None
) -> np.ndarray:
    """Walk the segments of many frames at once (``count`` each, from ``cur``); return where they end."""
    cur = cur.copy()
    for j in range(int(count.max()) if count.size else 0):
        act = np.flatnonzero(count > j)
        a, e, k = cur[act], end[act], ids[act]
        _check(e - a < 7, k, "has a segment header past its end")
        hdr = take_bytes(buf, a, 5)
        seg_end = a + 4 + field(hdr, 0, "<u4").astype(np.int64)
        name_len = hdr[:, 4].astype(np.int64)
        body = a + 7 + name_len
        _check((seg_end > e) | (body > seg_end), k, "has a segment that runs past the frame")
        version = gather(buf, body - 2, "<u2").astype(np.int64)
        for length in np.unique(name_len):
            sel = np.flatnonzero(name_len == length)
            raw = take_bytes(buf, a[sel] + 5, int(length))
            same = raw.size == 0 or bool(np.all(raw == raw[0]))  # usually every frame has the same j-th segment
            for name_bytes in raw[:1] if same else np.unique(raw, axis=0):
                rows = sel[np.all(raw == name_bytes, axis=1)] if length else sel
                name = bytes(name_bytes)
                _segment(buf, name, version[rows], body[rows], seg_end[rows] - body[rows], act[rows], k[rows], names, scan)
        cur[act] = seg_end
    return cur


def _segment(
    buf: bytes, name: bytes, version: np.ndarray, body: np.ndarray, size: np.ndarray, rows: np.ndarray,
    ids: np.ndarray, names: tuple, scan: PicoScan | None,
) -> None:  # fmt: skip
    """Check the segments of one name (in many frames) and record what CSI segments hold."""
    text = name.decode("ascii", "replace")
    if not name or b"\0" in name or (text not in names and any(n.startswith(text) for n in names)):
        shown = repr(text[:16]) if name.isascii() and name.decode().isprintable() else "that is not plain text"
        _check(np.ones(ids.size, bool), ids, f"has a segment name {shown} that csiread would confuse with another")
    need = np.zeros(ids.size, np.int64)
    for v in np.unique(version):
        at = version == v
        if (text, int(v)) in _FIXED:
            need[at] = _FIXED[(text, int(v))]
        elif text == "ExtraInfo" and v == 1:
            flags = np.where(size[at] >= 4, gather(buf, body[at], "<u4").astype(np.int64), 0)
            need[at] = 4 + sum(((flags >> bit) & 1) * n for bit, n in enumerate(_EXTRA_SIZES))
        elif text in _CSI_NAMES:
            need[at] = _CSI_HEADER.get(int(v), 0)
        elif text == "RxSBasic":
            _check(at, ids, f"has RxSBasic version {int(v)}; csiread 1.4.1 reads versions 1-3")
    short = size < need
    _check(short, ids, f"has a {text} segment shorter than the {int(need[short].max()) if short.any() else 0} bytes csiread reads")
    if text in _CSI_NAMES:
        for v in np.unique(version):
            at = version == v
            if int(v) in _CSI_HEADER:
                _csi_segments(buf, int(v), body[at], size[at], rows[at], ids[at], scan if text == "CSI" else None)
            elif text == "CSI" and scan is not None:
                scan.device[rows[at]] = -2 - int(v)
    elif text in ("BasebandSignal", "PreEQSymbols"):
        for i in np.flatnonzero(version == 1):
            _matrix(buf, int(body[i]), int(size[i]), int(ids[i]))


def _csi_segments(
    buf: bytes, version: int, body: np.ndarray, size: np.ndarray, rows: np.ndarray, ids: np.ndarray, scan: PicoScan | None
) -> None:
    """Check CSI segments of one version; with ``scan``, record device, format, tones, antennas."""
    header, v4 = _CSI_HEADER[version], int(version == 4)
    h = take_bytes(buf, body, header)
    device = field(h, 0, "<u2").astype(np.int64)
    fmt = field(h, 2 + v4, "i1").astype(np.int64)
    cbw = field(h, 3 + v4, "<u2").astype(np.int64)
    tones = field(h, 25 + v4, "<u2").astype(np.int64)
    nrx = h[:, 28 + v4].astype(np.int64)
    length = field(h, header - 4, "<u4").astype(np.int64)
    offset = field(h, header - 6, "<i2").astype(np.int64) if version >= 2 else np.zeros(ids.size, np.int64)
    for i in np.flatnonzero(header + length > size)[:1]:
        raise _Bad(int(ids[i]), f"has a CSI buffer of {int(length[i])} bytes in a {int(size[i])}-byte segment")
    sts = np.zeros(ids.size, np.int64)
    for dev in (0x5300, 0x9300):
        d = device == dev
        unit = np.full(ids.size, 60) if dev == 0x5300 else np.where(cbw == 20, 140, 285)
        base = 12 if dev == 0x5300 else 0
        want = np.full(ids.size, 30) if dev == 0x5300 else np.where(cbw == 20, 56, 114)
        sts[d] = ((length - base) // unit // np.maximum(nrx, 1))[d]
        ok = np.isin(cbw, (20, 40)) & (tones == want) & (nrx >= 1) & (nrx <= 3) & (sts >= 1) & (sts <= 3)
        ok &= length == base + unit * nrx * sts
        for i in np.flatnonzero(d & ~ok)[:1]:
            raise _Bad(
                int(ids[i]),
                f"has a {FRONTENDS[dev]} CSI segment csiread cannot decode "
                f"(CBW {int(cbw[i])}, {int(tones[i])} tones, {int(nrx[i])} RX, {int(length[i])} bytes)",
            )
    scidx: dict[int, tuple] = {}
    for i in np.flatnonzero(device == 0x1234):  # SDR: int16 subcarrier indices, then a signal matrix
        t, p = int(tones[i]), int(body[i]) + header
        if t == 0 or 2 * t > length[i]:
            raise _Bad(int(ids[i]), f"has an SDR CSI segment with {t} tones in {int(length[i])} bytes")
        dims = _matrix(buf, p + 2 * t, int(length[i]) - 2 * t, int(ids[i]))
        if dims[0] != t:
            raise _Bad(int(ids[i]), f"has an SDR CSI matrix of {dims[0]} tones for {t} subcarrier indices")
        nrx[i], sts[i] = dims[1], dims[2]
        scidx[int(rows[i])] = struct.unpack_from(f"<{t}h", buf, p)
    if scan is not None:
        for name, values in (("device", device), ("fmt", fmt), ("cbw", cbw), ("tones", tones), ("nrx", nrx),
                             ("sts", sts), ("offset", offset)):  # fmt: skip
            getattr(scan, name)[rows] = values
        scan.scidx.update(scidx)


def _matrix(buf: bytes, p: int, size: int, k: int) -> tuple[int, int, int]:
    """Dimensions (padded to 3) of a PicoScenes signal matrix of complex doubles, checked to fit ``size``."""
    if size < 5 or buf[p : p + 3] != b"BBv" or buf[p + 3] not in b"12":
        raise _Bad(k, "has a signal matrix without its 'BBv1'/'BBv2' header")
    ndim, width = buf[p + 4], 4 if buf[p + 3] == ord("1") else 8
    if not 1 <= ndim <= 3 or size < 5 + ndim * width + 4:
        raise _Bad(k, f"has a {ndim}-dimensional signal matrix (csiread reads 1 to 3)")
    dims = [int.from_bytes(buf[p + 5 + i * width : p + 5 + (i + 1) * width], "little") for i in range(ndim)]
    kinds = buf[p + 5 + ndim * width : p + 7 + ndim * width]
    total = int(np.prod(dims))
    if kinds != b"CD" or not all(1 <= d < 2**16 for d in dims) or 5 + ndim * width + 4 + 16 * total > size:
        raise _Bad(k, f"has a signal matrix of shape {dims} ({kinds!r}) that does not fit its {size} bytes")
    return tuple(dims + [1] * (3 - ndim))  # type: ignore[return-value]


def _key(scan: PicoScan, i: int) -> str:
    d, f = int(scan.device[i]), int(scan.fmt[i])
    return f"{FRONTENDS.get(d, hex(d))} {_FORMATS.get(f, f)} {int(scan.cbw[i])} MHz, {int(scan.tones[i])} tones"


def read_picoscenes(path: str, data: bytes) -> CsiRecording:
    """Validate the whole file ``data`` (the content of ``path``), read it with csiread, keep the data tones."""
    scan = scan_picoscenes(data, path)
    if scan.framing.tail:
        raise truncation_error(path, "PicoScenes file", scan.framing, unit="frame")
    check_readable(path, scan)
    rows = np.flatnonzero(scan.device != -1)
    tones = int(scan.tones[rows[0]])
    r, t = _antennas(scan, rows)
    check_csi_size(path, scan.framing.count, tones * r * t)
    import csiread

    try:
        parsed = csiread.Picoscenes(path, {"CSI": [tones, r, t], "MPDU": 0}, if_report=False, bufsize=scan.framing.count)
        parsed.read()
    except Exception as exc:
        raise CsiFormatError(f"{path}: csiread could not parse the PicoScenes file: {exc}") from exc
    if parsed.count != scan.framing.count:
        raise CsiFormatError(f"{path}: csiread parsed {parsed.count} of {scan.framing.count} PicoScenes frames")
    return picoscenes_recording(path, scan, parsed.raw)


def check_readable(where: str, scan: PicoScan) -> None:
    """Refuse, with the reason, what csiread cannot read right: no CSI, other frontends, newer segments,
    mixed layouts, MPDUs too short for the headers csiread reads."""
    rows = np.flatnonzero(scan.device != -1)
    if rows.size == 0:
        raise CsiFormatError(f"{where}: PicoScenes file holds no CSI ({scan.framing.count} frame(s) without a CSI segment)")
    for d in np.unique(scan.device[rows]).tolist():
        if d <= -2:
            raise CsiFormatError(f"{where}: PicoScenes CSI segment version {-2 - d}; csiread 1.4.1 reads versions 1-4")
        if d not in READ:
            why = "drops the wrong tones as pilots for it" if d in (0x2000, 0x2100) else "does not decode its CSI"
            raise CsiFormatError(
                f"{where}: PicoScenes frames from a {FRONTENDS.get(d, f'0x{d:04x}')} frontend: csiread 1.4.1 {why}; "
                "readable frontends: Intel 5300, QCA9300, USRP"
            )
    layout = np.stack([scan.device, scan.fmt, scan.cbw, scan.tones], axis=1)[rows]
    kinds, first, counts_ = np.unique(layout, axis=0, return_index=True, return_counts=True)
    lists = {scan.scidx.get(int(i), ()) for i in rows} if scan.scidx else {()}
    if kinds.shape[0] > 1 or len(lists) > 1:
        order = np.argsort(first)
        counts = {_key(scan, int(rows[first[j]])): int(counts_[j]) for j in order}
        raise CsiFormatError(
            f"{where}: PicoScenes file mixes frame layouts ({'; '.join(f'{k}: {n} frames' for k, n in counts.items())}"
            f"{'' if len(counts) > 1 else '; different subcarrier lists'}); one recording needs one subcarrier layout: "
            "split the file by frame format"
        )
    short = np.flatnonzero(scan.mpdu < _HEADER_80211 + 4)
    if short.size:
        k = int(short[0])
        reason = f"has a {int(scan.mpdu[k])}-byte MPDU, shorter than the 802.11 header csiread reads"
        raise _bad(where, k, int(scan.framing.offsets[k]), reason)


def _antennas(scan: PicoScan, rows: np.ndarray) -> tuple[int, int]:
    """(R, T) of the recording: the NIC's 3x3 array (Intel 5300, QCA9300), else the most any frame carries."""
    if int(scan.device[rows[0]]) in (0x5300, 0x9300):
        return 3, 3
    return int(scan.nrx[rows].max()), int(scan.sts[rows].max())


def picoscenes_recording(path: str | None, scan: PicoScan, raw: np.ndarray) -> CsiRecording:
    """The recording from validated frames (:func:`check_readable`) and csiread's ``raw`` array of them."""
    keep = np.flatnonzero(scan.device != -1)
    i0 = int(keep[0])
    rows = raw if keep.size == raw.shape[0] else raw[keep]
    info = rows["CSI"]["Info"]
    device, fmt, cbw, tones = (int(a[i0]) for a in (scan.device, scan.fmt, scan.cbw, scan.tones))
    label = f"{_FORMATS.get(fmt, fmt)} {cbw} MHz"
    if device == 0x5300:
        labels = np.asarray(rows["CSI"]["SubcarrierIndex"][0][:tones])
        cols = np.arange(tones)
        kept = f"the NIC's {tones} grouped tones kept as they are"
    else:
        labels = occupied_tones(cbw, "ht") if device == 0x9300 else np.asarray(scan.scidx[i0])
        known = fmt in _TONE_KIND and cbw in (20, 40, 80)
        wanted = labels[~np.isin(labels, pilot_tones(cbw))] if known else labels
        cols = select_tones(labels, wanted)
        kept = describe_kept(tones, wanted, label) if known else f"all {tones} listed tones kept (no pilot table for {label})"
    full = _antennas(scan, keep)
    nrx = np.asarray(info["NumRx"], np.int16)
    ntx = (np.asarray(info["NumTx"], np.int16) + np.asarray(info["NumESS"], np.int16)).astype(np.int16)
    host = device == 0x1234
    basic = rows["RxSBasic"]
    stamps = np.asarray(basic["Timestamp"], dtype=np.uint64)
    seconds, clock = unwrap_counter(
        stamps,
        unit_s=1e-9 if host else 1e-6,
        modulus=None if host else counter_modulus(stamps),
        source="host" if host else "device",
        where=path or "",
    )
    frontend = FRONTENDS[device]
    notes = [f"PicoScenes ({frontend} frontend, {label}): {keep.size} frames; {kept}"]
    if scan.framing.count > keep.size:
        notes.append(f"{scan.framing.count - keep.size} frame(s) without a CSI segment skipped")
    notes += antenna_notes(nrx, "RX", full[0]) + antenna_notes(ntx, "TX", full[1]) + clock.notes()
    meta = {
        "tool": "PicoScenes",
        "frontend": frontend,
        "frame_format": _FORMATS.get(fmt, fmt),
        "bandwidth_mhz": cbw,
        "center_freq_mhz": distinct(basic["CenterFreq"]),
        "subcarrier_offset": int(scan.offset[i0]),
        "rssi_dbm": value_range(basic["RSSI"]),
        "noise_floor_dbm": value_range(basic["NoiseFloor"]),
        "clock": clock.as_meta(),
        "subcarrier_index": [int(x) for x in labels[cols]],
    }
    return CsiRecording.from_complex(
        rows["CSI"]["CSI"], seconds, columns=cols, finite=not host, source_format="picoscenes",
        path=path, nrx=nrx, ntx=ntx, notes=notes, meta=meta,
    )  # fmt: skip

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
from dataclasses import dataclass, field

import numpy as np

from app.backend.data.csi.clock import counter_modulus, unwrap_counter
from app.backend.data.csi.framing import Framing, check_csi_size, truncation_error, walk_records
from app.backend.data.csi.meta import antenna_notes, distinct, value_range
from app.backend.data.csi.recording import CsiRecording
from app.backend.data.csi.tones import data_tones, describe_kept, occupied_tones, pilot_tones, select_tones
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
class PicoFrame:
    """What one frame holds (from its headers only)."""

    device: int = -1  # CSI segment's device type; -1 without a CSI segment
    fmt: int = -1
    cbw: int = 0
    tones: int = 0
    nrx: int = 0
    sts: int = 0
    scidx: tuple = ()
    offset: int = 0
    mpdu: int = 0  # bytes after the RX segments


@dataclass
class PicoScan:
    framing: Framing
    frames: list[PicoFrame] = field(default_factory=list)


def _bad(where: str, k: int, at: int, reason: str) -> CsiFormatError:
    return CsiFormatError(f"{where}: bad PicoScenes file: frame {k} at offset {at} {reason}")


def scan_picoscenes(buf: bytes, where: str) -> PicoScan:
    """Check every complete frame of ``buf`` (a cut-off tail is left to the caller)."""
    fr = walk_records(buf, 0, len_at=0, len_dtype="<u4", overhead=4)
    scan = PicoScan(fr)
    for k, (start, length) in enumerate(zip(fr.offsets.tolist(), fr.lengths.tolist())):
        end = start + length
        if length < 11 or struct.unpack_from("<IH", buf, start + 4) != (MAGIC, 1):
            raise _bad(where, k, start, "has no PicoScenes frame header (magic 0x20150315, version 1)")
        frame = PicoFrame()
        cur = _segments(buf, start + 11, end, buf[start + 10], _RX_NAMES, frame, where, k, start)
        frame.mpdu = end - cur
        cur += _HEADER_80211
        if frame.mpdu >= _HEADER_80211 + 4 and struct.unpack_from("<I", buf, cur)[0] == MAGIC:
            if end - cur < _PS_HEADER:
                raise _bad(where, k, start, "has a cut-off PicoScenes TX header")
            _segments(buf, cur + _PS_HEADER, end, buf[cur + 10], _TX_NAMES, None, where, k, start)
        scan.frames.append(frame)
    return scan


def _segments(
    buf: bytes, cur: int, end: int, count: int, names: tuple, frame: PicoFrame | None, where: str, k: int, at: int
) -> int:
    """Walk ``count`` segments from ``cur`` (inside ``[cur, end)``), check them; return the offset after them."""
    for _ in range(count):
        if end - cur < 7:
            raise _bad(where, k, at, "has a segment header past its end")
        seg_len, name_len = struct.unpack_from("<IB", buf, cur)
        seg_end = cur + 4 + seg_len
        body = cur + 5 + name_len + 2
        if seg_end > end or body > seg_end:
            raise _bad(where, k, at, "has a segment that runs past the frame")
        name = bytes(buf[cur + 5 : cur + 5 + name_len])
        version = struct.unpack_from("<H", buf, cur + 5 + name_len)[0]
        text = name.decode("ascii", "replace")
        if not name or b"\0" in name or (text not in names and any(n.startswith(text) for n in names)):
            raise _bad(where, k, at, f"has a segment name {name[:16]!r} that csiread would confuse with another")
        size = seg_end - body
        need = _FIXED.get((text, version), 0)
        if text == "ExtraInfo" and version == 1:
            flags = struct.unpack_from("<I", buf, body)[0] if size >= 4 else 0
            need = 4 + sum(n for bit, n in enumerate(_EXTRA_SIZES) if flags >> bit & 1)
        elif text in _CSI_NAMES:
            need = _CSI_HEADER.get(version, 0)
        if size < need:
            raise _bad(where, k, at, f"has a {text} segment of {size} bytes, csiread reads {need}")
        if text in _CSI_NAMES and version in _CSI_HEADER:
            info = _csi_segment(buf, body, size, version, where, k, at)
            if text == "CSI" and frame is not None:
                frame.device, frame.fmt, frame.cbw, frame.tones, frame.nrx, frame.sts, frame.scidx, frame.offset = info
        elif text == "CSI" and frame is not None:
            frame.device = -2 - version  # a version csiread does not read
        elif text in ("BasebandSignal", "PreEQSymbols") and version == 1:
            _matrix(buf, body, size, where, k, at)
        elif text == "RxSBasic" and (text, version) not in _FIXED:
            raise _bad(where, k, at, f"has RxSBasic version {version}; csiread 1.4.1 reads versions 1-3")
        cur = seg_end
    return cur


def _csi_segment(buf: bytes, body: int, size: int, version: int, where: str, k: int, at: int) -> tuple:
    """(device, format, cbw, tones, nrx, sts, subcarrier index, offset) of a CSI segment; checks its buffer."""
    v4 = int(version == 4)
    device = struct.unpack_from("<H", buf, body)[0]
    fmt = struct.unpack_from("<b", buf, body + 2 + v4)[0]
    cbw = struct.unpack_from("<H", buf, body + 3 + v4)[0]
    tones, _ntx, nrx = struct.unpack_from("<HBB", buf, body + 25 + v4)
    header = _CSI_HEADER[version]
    length = struct.unpack_from("<I", buf, body + header - 4)[0]
    offset = struct.unpack_from("<h", buf, body + header - 6)[0] if version >= 2 else 0
    if header + length > size:
        raise _bad(where, k, at, f"has a CSI buffer of {length} bytes in a {size}-byte segment")
    if device not in READ:
        return device, fmt, cbw, tones, nrx, 0, (), offset
    p = body + header
    if device in (0x5300, 0x9300):
        unit = 60 if device == 0x5300 else {20: 140, 40: 285}.get(cbw, 0)
        want = 30 if device == 0x5300 else {20: 56, 40: 114}.get(cbw, -1)
        base = 12 if device == 0x5300 else 0
        sts = (length - base) // unit // nrx if unit and 1 <= nrx <= 3 else 0
        if cbw not in (20, 40) or tones != want or not 1 <= sts <= 3 or length != base + unit * nrx * sts:
            raise _bad(
                where, k, at,
                f"has a {FRONTENDS[device]} CSI segment csiread cannot decode (CBW {cbw}, {tones} tones, {nrx} RX, {length} bytes)",
            )  # fmt: skip
        return device, fmt, cbw, tones, nrx, sts, (), offset
    # USRP: int16 subcarrier indices, then a signal matrix
    if 2 * tones > length or tones == 0:
        raise _bad(where, k, at, f"has an SDR CSI segment with {tones} tones in {length} bytes")
    scidx = struct.unpack_from(f"<{tones}h", buf, p)
    dims = _matrix(buf, p + 2 * tones, length - 2 * tones, where, k, at)
    if dims[0] != tones:
        raise _bad(where, k, at, f"has an SDR CSI matrix of {dims[0]} tones for {tones} subcarrier indices")
    return device, fmt, cbw, tones, dims[1], dims[2], scidx, offset


def _matrix(buf: bytes, p: int, size: int, where: str, k: int, at: int) -> tuple[int, int, int]:
    """Dimensions (padded to 3) of a PicoScenes signal matrix of complex doubles, checked to fit ``size``."""
    if size < 5 or buf[p : p + 3] != b"BBv" or buf[p + 3] not in b"12":
        raise _bad(where, k, at, "has a signal matrix without its 'BBv1'/'BBv2' header")
    ndim, width = buf[p + 4], 4 if buf[p + 3] == ord("1") else 8
    if not 1 <= ndim <= 3 or size < 5 + ndim * width + 4:
        raise _bad(where, k, at, f"has a {ndim}-dimensional signal matrix (csiread reads 1 to 3)")
    dims = [int.from_bytes(buf[p + 5 + i * width : p + 5 + (i + 1) * width], "little") for i in range(ndim)]
    kinds = buf[p + 5 + ndim * width : p + 7 + ndim * width]
    total = 1
    for d in dims:
        total *= d
    if kinds != b"CD" or not all(1 <= d < 2**16 for d in dims) or 5 + ndim * width + 4 + 16 * total > size:
        raise _bad(where, k, at, f"has a signal matrix of shape {dims} ({kinds!r}) that does not fit its {size} bytes")
    return tuple(dims + [1] * (3 - ndim))  # type: ignore[return-value]


def _key(f: PicoFrame) -> str:
    return f"{FRONTENDS.get(f.device, hex(f.device))} {_FORMATS.get(f.fmt, f.fmt)} {f.cbw} MHz, {f.tones} tones"


def read_picoscenes(path: str, data: bytes) -> CsiRecording:
    """Validate the whole file ``data`` (the content of ``path``), read it with csiread, keep the data tones."""
    scan = scan_picoscenes(data, path)
    if scan.framing.tail:
        raise truncation_error(path, "PicoScenes file", scan.framing, unit="frame")
    frames = [f for f in scan.frames if f.device != -1]
    if not frames:
        raise CsiFormatError(f"{path}: PicoScenes file holds no CSI ({scan.framing.count} frame(s) without a CSI segment)")
    for f in frames:
        if f.device <= -2:
            raise CsiFormatError(f"{path}: PicoScenes CSI segment version {-2 - f.device}; csiread 1.4.1 reads versions 1-4")
        if f.device not in READ:
            why = (
                "csiread 1.4.1 drops the wrong tones as pilots for it"
                if f.device in (0x2000, 0x2100)
                else "csiread 1.4.1 does not decode its CSI"
            )
            raise CsiFormatError(
                f"{path}: PicoScenes frames from a {FRONTENDS.get(f.device, f'0x{f.device:04x}')} frontend: {why}; "
                "readable frontends: Intel 5300, QCA9300, USRP"
            )
    keys = [_key(f) for f in frames]
    if len(set(keys)) > 1 or len({f.scidx for f in frames}) > 1:
        counts = {key: keys.count(key) for key in dict.fromkeys(keys)}
        raise CsiFormatError(
            f"{path}: PicoScenes file mixes frame layouts ({'; '.join(f'{k}: {n} frames' for k, n in counts.items())}"
            f"{'' if len(counts) > 1 else '; different subcarrier lists'}); one recording needs one subcarrier layout: "
            "split the file by frame format"
        )
    short = [k for k, f in enumerate(scan.frames) if f.mpdu < _HEADER_80211 + 4]
    if short:
        raise _bad(
            path, short[0], int(scan.framing.offsets[short[0]]),
            f"has a {scan.frames[short[0]].mpdu}-byte MPDU, shorter than the 802.11 header csiread reads",
        )  # fmt: skip
    tones = frames[0].tones
    r, t = max(f.nrx for f in frames), max(f.sts for f in frames)
    check_csi_size(path, scan.framing.count, tones * r * t)
    import csiread

    pl_size = {"CSI": [tones, r, t], "MPDU": 0}
    try:
        parsed = csiread.Picoscenes(path, pl_size, if_report=False, bufsize=scan.framing.count)
        parsed.read()
    except Exception as exc:
        raise CsiFormatError(f"{path}: csiread could not parse the PicoScenes file: {exc}") from exc
    if parsed.count != scan.framing.count:
        raise CsiFormatError(f"{path}: csiread parsed {parsed.count} of {scan.framing.count} PicoScenes frames")
    return picoscenes_recording(path, scan, parsed.raw)


def picoscenes_recording(path: str | None, scan: PicoScan, raw: np.ndarray) -> CsiRecording:
    """The recording from validated frames and csiread's structured ``raw`` array of the same frames."""
    keep = np.asarray([f.device != -1 for f in scan.frames])
    frames = [f for f in scan.frames if f.device != -1]
    first = frames[0]
    rows = raw[keep]
    info = rows["CSI"]["Info"]
    device, fmt, cbw = first.device, first.fmt, first.cbw
    if device == 0x5300:
        labels, cols, kept_label = np.asarray(rows["CSI"]["SubcarrierIndex"][0][: first.tones]), np.arange(30), "grouped"
    else:
        labels = occupied_tones(cbw, "ht") if device == 0x9300 else np.asarray(first.scidx)
        kind = _TONE_KIND.get(fmt)
        pilots = pilot_tones(cbw) if kind and cbw in (20, 40, 80) else np.zeros(0, int)
        wanted = labels[~np.isin(labels, pilots)]
        if device == 0x9300:
            wanted = data_tones(cbw, "ht")
        cols, kept_label = select_tones(labels, wanted), "data"
    r, t = max(f.nrx for f in frames), max(f.sts for f in frames)
    full_r, full_t = (3, 3) if device in (0x5300, 0x9300) else (r, t)
    csi = np.zeros((len(frames), cols.size, full_r, full_t), np.complex64)
    csi[:, :, :r, :t] = rows["CSI"]["CSI"][:, cols]
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
    tone_labels = labels[cols]
    frontend = FRONTENDS[device]
    notes = [
        f"PicoScenes ({frontend} frontend, {_FORMATS.get(fmt, fmt)} {cbw} MHz): {len(frames)} frames; "
        + (
            f"the NIC's {tone_labels.size} grouped tones kept as they are"
            if kept_label == "grouped"
            else describe_kept(first.tones, tone_labels, f"{_FORMATS.get(fmt, fmt)} {cbw} MHz")
        )
    ]
    skipped = scan.framing.count - len(frames)
    if skipped:
        notes.append(f"{skipped} frame(s) without a CSI segment skipped")
    notes += antenna_notes(nrx, "RX", full_r) + antenna_notes(ntx, "TX", full_t) + clock.notes()
    meta = {
        "tool": "PicoScenes",
        "frontend": frontend,
        "frame_format": _FORMATS.get(fmt, fmt),
        "bandwidth_mhz": cbw,
        "center_freq_mhz": distinct(basic["CenterFreq"]),
        "subcarrier_offset": first.offset,
        "rssi_dbm": value_range(basic["RSSI"]),
        "noise_floor_dbm": value_range(basic["NoiseFloor"]),
        "clock": clock.as_meta(),
        "subcarrier_index": [int(x) for x in tone_labels],
    }
    return CsiRecording.from_complex(
        csi, seconds, source_format="picoscenes", path=path, nrx=nrx, ntx=ntx, notes=notes, meta=meta
    )

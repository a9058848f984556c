"""nexmon_csi captures (``tcpdump`` pcap of its UDP packets): validation, then csiread.

nexmon_csi (Broadcom/Cypress chips with patched firmware) sends one UDP packet per
(received frame, RX core, spatial stream) from the made-up source MAC ``4e:45:58:4d:4f:4e``
("NEXMON"). Inside the Ethernet/IPv4/UDP headers (42 bytes): magic (4 bytes 0x11111111;
2 bytes 0x1111 + RSSI + frame control in the newer layout), source MAC, sequence number,
core/stream, chanspec, chip version, then ``nfft`` 32-bit CSI words (nfft = 64, 128, 256
for 20, 40, 80 MHz).

Checked before csiread reads anything (it assumes all of it): classic pcap (not
pcapng), Ethernet link type, every record complete and at least 42 bytes, every nexmon
packet IPv4 without options + UDP, uncut (captured length = wire length), one header
layout, one FFT size and one known chip in the whole file (the chip decides how the
words are decoded: int16 I/Q on bcm4339/bcm43455c0, packed floats on bcm4358/bcm4366c0).
Other packets in the capture are skipped and counted.

Layout after reading: consecutive packets of one frame (same sequence number and source,
distinct core/stream) become one packet of the recording, (P, S, R, T) with R = RX cores
and T = spatial streams of the chip (bcm4339/43455c0: 1x1, bcm4358: 2x2, bcm4366c0: 4x4);
pairs a frame did not report are zero. The FFT-ordered buffer keeps the data tones:
S = 52 (20 MHz), 108 (40 MHz), 234 (80 MHz); guard tones, DC nulls and pilots dropped.
Timestamps: the pcap capture time (host clock, when tcpdump saw the packet) of a frame's
first packet.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.backend.data.csi.clock import unwrap_counter
from app.backend.data.csi.framing import Framing, check_csi_size, field, take_bytes, truncation_error, walk_records
from app.backend.data.csi.meta import antenna_notes, distinct, value_range
from app.backend.data.csi.recording import CsiRecording, complex_to_polar
from app.backend.data.csi.tones import data_tones, describe_kept, fft_order, select_tones
from app.backend.errors import CsiFormatError

PCAP_MAGIC = {  # magic -> (byte order, nanosecond timestamps)
    b"\xd4\xc3\xb2\xa1": ("<", False),
    b"\xa1\xb2\xc3\xd4": (">", False),
    b"\x4d\x3c\xb2\xa1": ("<", True),
    b"\xa1\xb2\x3c\x4d": (">", True),
}
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
_GLOBAL = 24
_RECORD = 16
_UDP_HEADERS = 42
_NEXMON_HEADER = 18
_NEXMON_MAC = b"NEXMON"
_CSIREAD_BUFFER = 4096
_NFFT_BW = {64: 20, 128: 40, 256: 80}
#: chip version field -> (chip, RX cores, spatial streams); several firmwares write other codes
CHIPS = {
    0x0001: ("4339", 1, 1),
    0x0065: ("43455c0", 1, 1),
    0xA6DC: ("43455c0", 1, 1),
    0x0003: ("4358", 2, 2),
    0xDEAD: ("4358", 2, 2),  # placeholder the Nexus 6P firmware writes
    0x006A: ("4366c0", 4, 4),
    0xE834: ("4366c0", 4, 4),
}


def looks_like_pcap(head: bytes) -> bool:
    return head[:4] in PCAP_MAGIC


@dataclass(frozen=True)
class NexmonScan:
    """Validated packets of a capture (arrays per nexmon packet, file order)."""

    framing: Framing
    nano: bool
    byte_order: str
    nexmon: np.ndarray  # bool per record
    new_layout: bool  # 2-byte magic + RSSI + frame control
    nfft: int
    chip: tuple[str, int, int]
    sec: np.ndarray
    frac: np.ndarray
    src: np.ndarray  # (N, 6) uint8
    seq: np.ndarray
    core: np.ndarray
    spatial: np.ndarray
    chanspec: np.ndarray
    rssi: np.ndarray | None

    @property
    def count(self) -> int:
        return int(self.sec.size)


def scan_nexmon(buf: bytes, where: str) -> NexmonScan:
    """Check the pcap header and every complete record of ``buf`` (a tail is left to the caller)."""
    if len(buf) < _GLOBAL:
        raise CsiFormatError(f"{where}: truncated pcap: {len(buf)} bytes, the global header alone is {_GLOBAL}")
    if buf[:4] == PCAPNG_MAGIC:
        raise CsiFormatError(f"{where}: pcapng capture; save it as classic pcap (editcap -F pcap IN OUT, or tcpdump -w)")
    if buf[:4] not in PCAP_MAGIC:
        raise CsiFormatError(f"{where}: not a pcap capture")
    bo, nano = PCAP_MAGIC[buf[:4]]
    linktype = int(np.frombuffer(buf, bo + "u4", count=1, offset=20)[0]) & 0xFFFF
    if linktype != 1:
        raise CsiFormatError(f"{where}: pcap link type {linktype}; nexmon_csi captures are Ethernet (link type 1)")
    fr = walk_records(buf, _GLOBAL, len_at=8, len_dtype=bo + "u4", overhead=_RECORD, where=where)
    caplen = fr.lengths - _RECORD
    if (caplen < _UDP_HEADERS).any():
        k = int(np.flatnonzero(caplen < _UDP_HEADERS)[0])
        raise CsiFormatError(
            f"{where}: pcap record {k} at offset {int(fr.offsets[k])} holds {int(caplen[k])} bytes, fewer than the 42-byte "
            "Ethernet/IP/UDP header csiread reads from every packet"
        )
    block = take_bytes(buf, fr.offsets, _RECORD + _UDP_HEADERS)  # pcap record header + Ethernet/IP/UDP headers
    nexmon = np.all(block[:, _RECORD + 6 : _RECORD + 12] == np.frombuffer(_NEXMON_MAC, np.uint8), axis=1)
    idx = np.flatnonzero(nexmon)
    at, head = fr.offsets[idx], block[idx]
    cap = caplen[idx]
    ok = cap >= _UDP_HEADERS + _NEXMON_HEADER
    if not ok.all():
        k = int(np.flatnonzero(~ok)[0])
        raise CsiFormatError(f"{where}: nexmon packet {k} (pcap record {int(idx[k])} at offset {int(at[k])}) is too short")
    nex = take_bytes(buf, at + _RECORD + _UDP_HEADERS, _NEXMON_HEADER)
    wire = field(head, 12, bo + "u4").astype(np.int64)
    new = field(nex, 0, "<u4") != 0x11111111
    checks = [
        ((head[:, _RECORD + 14] != 0x45) | (head[:, _RECORD + 23] != 17), "is not IPv4 (no options) + UDP"),
        (cap != wire, "was cut short by the capture's snap length"),
        (new & (field(nex, 0, "<u2") != 0x1111), "has no nexmon_csi magic bytes"),
        (~np.isin(cap - _UDP_HEADERS - _NEXMON_HEADER, [4 * n for n in _NFFT_BW]), "has a CSI size other than 64, 128 or 256 words"),
    ]
    for bad, reason in checks:
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise CsiFormatError(f"{where}: nexmon packet {k} (pcap record {int(idx[k])} at offset {int(at[k])}) {reason}")
    nfft_all = (cap - _UDP_HEADERS - _NEXMON_HEADER) // 4
    chipv = field(nex, 16, "<u2").astype(np.int64)
    for name, values in (("layouts (old 4-byte / new 2-byte magic)", new), ("FFT sizes", nfft_all), ("chip versions", chipv)):
        if np.unique(values).size > 1:
            raise CsiFormatError(f"{where}: nexmon capture mixes {name}: {distinct(values)}; split it per device/setting")
    chip = None
    if idx.size:
        code = int(chipv[0])
        if code not in CHIPS:
            raise CsiFormatError(
                f"{where}: unknown nexmon_csi chip version 0x{code:04x}; csiread decodes bcm4339, bcm43455c0, bcm4358 "
                "and bcm4366c0 captures"
            )
        chip = CHIPS[code]
    core_sp = nex[:, 12] | nex[:, 13]
    return NexmonScan(
        framing=fr,
        nano=nano,
        byte_order=bo,
        nexmon=nexmon,
        new_layout=bool(new[0]) if idx.size else False,
        nfft=int(nfft_all[0]) if idx.size else 0,
        chip=chip or ("", 1, 1),
        sec=field(head, 0, bo + "u4").astype(np.int64),
        frac=field(head, 4, bo + "u4").astype(np.int64),
        src=nex[:, 4:10],
        seq=field(nex, 10, "<u2").astype(np.int64),
        core=(core_sp & 0x7).astype(np.int64),
        spatial=((core_sp >> 3) & 0x7).astype(np.int64),
        chanspec=field(nex, 14, "<u2").astype(np.int64),
        rssi=field(nex, 2, "i1").astype(np.int64) if idx.size and new[0] else None,
    )


def read_nexmon(path: str, data: bytes) -> CsiRecording:
    """Validate the whole capture ``data`` (the content of ``path``), read it with csiread, group frames."""
    scan = scan_nexmon(data, path)
    if scan.framing.tail:
        raise truncation_error(path, "pcap capture", scan.framing)
    if scan.count == 0:
        raise CsiFormatError(
            f"{path}: the pcap holds no nexmon_csi packets (UDP from source MAC 4e:45:58:4d:4f:4e) among its "
            f"{scan.framing.count} packet(s)"
        )
    check_csi_size(path, scan.count, scan.nfft)
    import csiread

    kind = csiread.NexmonPull46 if scan.new_layout else csiread.Nexmon
    bw = _NFFT_BW[scan.nfft]
    try:
        # one spare row: csiread stores every pcap record's times at the next row before it knows the
        # record is a nexmon packet, so other packets after the last nexmon one would overrun an exact buffer
        parsed = kind(path, chip=scan.chip[0], bw=bw, if_report=False, bufsize=scan.count + 1)
        parsed.read()
    except Exception as exc:  # csiread raises plain Exception on a bad header
        raise CsiFormatError(f"{path}: csiread could not parse the nexmon_csi capture: {exc}") from exc
    if parsed.count != scan.count:
        raise CsiFormatError(f"{path}: csiread parsed {parsed.count} of {scan.count} nexmon_csi packets")
    return nexmon_recording(path, scan, np.asarray(parsed.csi))


def group_frames(seq: np.ndarray, src: np.ndarray, core: np.ndarray, spatial: np.ndarray) -> np.ndarray:
    """int64 (N,) frame number of each packet: a new frame starts when the sequence number or source
    changes, or when a (core, stream) pair repeats within the current frame."""
    n = seq.size
    source = np.asarray(src, dtype=np.int64) @ (256 ** np.arange(6, dtype=np.int64))
    start = np.ones(n, dtype=bool)
    start[1:] = (seq[1:] != seq[:-1]) | (source[1:] != source[:-1])
    run = np.cumsum(start) - 1
    if np.unique(run * 64 + core * 8 + spatial).size == n:  # no pair repeats inside a run: runs are frames
        return run
    frame = np.zeros(n, dtype=np.int64)
    current, seen = -1, set()
    for i, (new_run, pair) in enumerate(zip(start.tolist(), (core * 8 + spatial).tolist())):
        if new_run or pair in seen:
            current += 1
            seen = set()
        seen.add(pair)
        frame[i] = current
    return frame


def nexmon_recording(path: str | None, scan: NexmonScan, csi: np.ndarray) -> CsiRecording:
    """The recording from validated packets and csiread's ``csi`` (N, nfft) of the same packets."""
    bw = _NFFT_BW[scan.nfft]
    kind = "ht" if bw < 80 else "vht"
    wanted = data_tones(bw, kind)
    cols = select_tones(fft_order(scan.nfft), wanted)
    frame = group_frames(scan.seq, scan.src, scan.core, scan.spatial)
    n_frames = int(frame[-1]) + 1
    chip, rx_max, tx_max = scan.chip
    r = max(rx_max, int(scan.core.max()) + 1)
    t = max(tx_max, int(scan.spatial.max()) + 1)
    amp_p, pha_p = complex_to_polar(csi[:, :, None, None], cols)  # per packet (N, S, 1, 1)
    amp = np.zeros((n_frames, wanted.size, r, t), dtype=np.float32)
    pha = np.zeros_like(amp)
    amp[frame, :, scan.core, scan.spatial] = amp_p[:, :, 0, 0]
    pha[frame, :, scan.core, scan.spatial] = pha_p[:, :, 0, 0]
    first = np.flatnonzero(np.diff(frame, prepend=-1))
    nrx = np.zeros(n_frames, np.int16)
    ntx = np.zeros(n_frames, np.int16)
    np.maximum.at(nrx, frame, (scan.core + 1).astype(np.int16))
    np.maximum.at(ntx, frame, (scan.spatial + 1).astype(np.int16))
    per_frame = np.bincount(frame)
    holes = int(np.count_nonzero(per_frame < nrx.astype(np.int64) * ntx))
    unit = 1e-9 if scan.nano else 1e-6
    ticks = scan.sec[first] * round(1 / unit) + scan.frac[first]
    seconds, clock = unwrap_counter(ticks, unit_s=unit, modulus=None, source="host", where=path or "")
    notes = [
        f"nexmon_csi (bcm{chip}): {scan.count} CSI packets grouped into {n_frames} frame(s) of up to {r} RX core(s) x "
        f"{t} stream(s); {describe_kept(scan.nfft, wanted, f'{bw} MHz FFT buffer')}"
    ]
    skipped = scan.framing.count - scan.count
    if skipped:
        notes.append(f"{skipped} other packet(s) in the capture (not from nexmon_csi) skipped")
    if holes:
        notes.append(f"{holes} frame(s) miss some core/stream pairs below their highest one: those pairs are zero")
    notes += antenna_notes(nrx, "RX", r) + antenna_notes(ntx, "TX", t) + clock.notes()
    meta = {
        "tool": "nexmon_csi",
        "chip": f"Broadcom/Cypress bcm{chip}",
        "header_layout": "2-byte magic + RSSI" if scan.new_layout else "4-byte magic",
        "bandwidth_mhz": bw,
        "chanspec": [f"0x{c:04x}" for c in distinct(scan.chanspec)],
        "channel": distinct(scan.chanspec & 0xFF),
        "rssi_dbm": value_range(scan.rssi) if scan.rssi is not None else None,
        "clock": clock.as_meta(),
        "subcarrier_index": wanted.tolist(),
    }
    return CsiRecording(
        amp, pha, seconds, "nexmon", path=path, nrx=nrx, ntx=ntx, nonfinite_count=0, notes=notes, meta=meta
    )

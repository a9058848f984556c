"""ESP32-CSI-Tool serial logs (``.csv``): line validation, then csiread.

ESP32-CSI-Tool prints one line per packet on the serial port::

    CSI_DATA,role,mac,rssi,rate,sig_mode,mcs,bandwidth,smoothing,not_sounding,aggregation,
    stbc,fec_coding,sgi,noise_floor,ampdu_cnt,channel,secondary_channel,local_timestamp,ant,
    sig_len,rx_state,real_time_set,real_timestamp,len,[i0 r0 i1 r1 ...]

(26 comma-separated fields; the CSI list holds signed bytes, imaginary part first.) A
saved log may also hold the tool's header line (``type,role,mac,...``) and other serial
output (boot messages): those lines are skipped and counted. Every ``CSI_DATA`` line is
checked against the exact layout before csiread sees it (csiread trusts the column
positions and would silently misparse); a malformed one is an error naming its line; a
cut-off last line is a truncated file. When the file holds anything but clean
``CSI_DATA`` lines of one length, csiread reads a normalised copy (the valid lines, CSI
lists cut to the L-LTF part we use) from a temporary folder.

Layout after reading: (P, 48, 1, 1). The first 64 entries of a line are the L-LTF
channel estimate of the 20 MHz primary channel (ESP-IDF order: tones 0..31, -32..-1
with no secondary channel; -32..31 with a secondary channel above or below). The 48
data tones (-26..26 without DC and the pilots +-7, +-21) are kept; guard tones, DC,
pilots and any HT-LTF entries after the first 64 are dropped. Values are csiread's
complex raw bytes. Timestamps: ``local_timestamp``, the ESP32's microsecond clock
(device clock, 32 bits), unwrapped at 2**32.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass

import numpy as np

from app.backend.data.csi.clock import WRAP_32, unwrap_counter
from app.backend.data.csi.framing import check_csi_size
from app.backend.data.csi.meta import distinct, value_range
from app.backend.data.csi.recording import CsiRecording
from app.backend.data.csi.tones import centred_order, data_tones, describe_kept, fft_order, select_tones
from app.backend.errors import CsiFormatError

_LLTF_VALUES = 128  # numbers per line we use: 64 complex entries
_TEXT = rb"[\x20-\x2b\x2d-\x7e]*"  # printable ASCII without a comma
_LINE = re.compile(
    rb"CSI_DATA," + _TEXT + rb"," + _TEXT + rb",(?:-?\d+,){20}-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?,-?\d+,\[([-\d ]*)\] *"
)
_HEADER = b"type,role,mac"
_MAX_VALUES_PER_LINE = 1024


def looks_like_esp32(head: bytes) -> bool:
    """True if the first bytes are text holding an ESP32-CSI-Tool line or its header."""
    return head.lstrip().startswith(_HEADER) or b"CSI_DATA," in head


@dataclass(frozen=True)
class Esp32Scan:
    """Validated lines of a log.

    Attributes:
        starts, ends: int64 (P,) byte span of each complete, valid ``CSI_DATA`` line (line
            end excluded), in order.
        line_numbers: int64 (P,) 1-based line number of each.
        counts: int64 (P,) numbers in each line's CSI list.
        skipped: other non-empty lines (header, serial messages).
        end: byte offset after the last complete line (a streaming reader keeps the rest).
        clean: the file is exactly these lines, ``\\n``-terminated, of one length (csiread
            can read it as it is).
    """

    starts: np.ndarray
    ends: np.ndarray
    line_numbers: np.ndarray
    counts: np.ndarray
    skipped: int
    end: int
    clean: bool

    @property
    def count(self) -> int:
        return int(self.starts.size)


def scan_esp32(buf: bytes, where: str, *, final: bool = True) -> Esp32Scan:
    """Check every complete line of ``buf``; with ``final`` an unterminated last line counts as complete.

    Raises:
        CsiFormatError: a malformed ``CSI_DATA`` line (its number and what is wrong), a
            truncated last line (with ``final``), or a CSI list too short or too long.
    """
    end = len(buf) if final else buf.rfind(b"\n") + 1
    raw_lines = buf[:end].split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()
    lines: list[tuple[int, int]] = []
    numbers: list[int] = []
    counts: list[int] = []
    skipped = 0
    clean = b"\r" not in buf[:end] and buf[:end].endswith(b"\n")
    last = len(raw_lines)
    unterminated = final and bool(raw_lines) and not buf.endswith(b"\n")
    pos = 0
    for i, raw in enumerate(raw_lines, start=1):
        at, pos = pos, pos + len(raw) + 1
        line = raw.rstrip(b"\r")
        cut = unterminated and i == last
        if cut and line and b"CSI_DATA,".startswith(line):
            raise _truncated(where, i, len(lines))
        if not line.startswith(b"CSI_DATA"):
            skipped += bool(line.strip())
            clean = False  # csiread reads every line as a CSI line
            continue
        m = _LINE.fullmatch(line)
        if m is None:
            if cut:
                raise _truncated(where, i, len(lines))
            raise CsiFormatError(f"{where}: line {i} is not an ESP32-CSI-Tool CSI_DATA line ({_what_is_wrong(line)})")
        n = _count_values(m.group(1))
        if n % 2 or not _LLTF_VALUES <= n <= _MAX_VALUES_PER_LINE:
            raise CsiFormatError(
                f"{where}: line {i} holds {n} CSI numbers; ESP32-CSI-Tool lines hold an even number from "
                f"{_LLTF_VALUES} (the L-LTF) to {_MAX_VALUES_PER_LINE}"
            )
        if not line.endswith(b"]"):
            clean = False  # csiread cuts the line end and the closing bracket: nothing may follow it
        lines.append((at, at + len(line)))
        numbers.append(i)
        counts.append(n)
    counts_a = np.asarray(counts, dtype=np.int64)
    clean = clean and counts_a.size > 0 and bool(np.all(counts_a == counts_a[0]))
    spans = np.asarray(lines, dtype=np.int64).reshape(-1, 2)
    return Esp32Scan(spans[:, 0], spans[:, 1], np.asarray(numbers, np.int64), counts_a, skipped, end, clean)


def _count_values(values: bytes) -> int:
    """Numbers in a CSI list's text (signed integers separated by spaces, as matched by ``_LINE``)."""
    if b"  " in values:
        return len(values.split())
    core = values.strip(b" ")
    return core.count(b" ") + 1 if core else 0


def _truncated(where: str, line: int, complete: int) -> CsiFormatError:
    return CsiFormatError(
        f"{where}: truncated ESP32 CSI log: the last line ({line}) is cut off (read stopped there, after "
        f"{complete} complete CSI line(s))"
    )


def _what_is_wrong(line: bytes) -> str:
    fields = line.split(b",", 25)
    if len(fields) < 26:
        return f"{len(fields)} fields, the tool writes 26"
    if not (fields[25].startswith(b"[") and fields[25].rstrip().endswith(b"]")):
        return "the CSI list is not a [ ... ] list of numbers"
    return "a field that must be a number is not"


def read_esp32(path: str, data: bytes) -> CsiRecording:
    """Validate the whole log ``data`` (the content of ``path``), read it with csiread, keep the data tones."""
    scan = scan_esp32(data, path, final=True)
    p = scan.count
    if p == 0:
        raise CsiFormatError(f"{path}: no CSI_DATA lines (an ESP32-CSI-Tool log was expected)")
    check_csi_size(path, p, int(scan.counts.max()) // 2)
    try:
        if scan.clean:
            parsed = _csiread_esp32(path)
        else:
            with tempfile.TemporaryDirectory(prefix="esp32-csi-") as tmp:
                source = os.path.join(tmp, "csi.csv")
                with open(source, "wb") as f:
                    f.write(b"".join(_normalised(data[a:b]) for a, b in zip(scan.starts.tolist(), scan.ends.tolist())))
                parsed = _csiread_esp32(source)
    except OSError as exc:
        raise CsiFormatError(f"{path}: cannot read it (or write the copy csiread reads): {exc.strerror or exc}") from exc
    except Exception as exc:  # csiread raises ValueError and friends on text it cannot convert
        raise CsiFormatError(f"{path}: csiread could not parse the ESP32 CSI log: {exc}") from exc
    csi = np.asarray(parsed.csi)
    if parsed.count != p or csi.shape[0] != p or csi.shape[1] < _LLTF_VALUES // 2:
        raise CsiFormatError(f"{path}: csiread parsed {parsed.count} of {p} ESP32 CSI lines")
    return esp32_recording(path, scan, parsed)


def _csiread_esp32(source: str) -> object:
    import csiread

    parsed = csiread.ESP32(source, if_report=False)
    parsed.read()
    return parsed


def _normalised(line: bytes) -> bytes:
    """A valid line with its CSI list cut to the L-LTF numbers, in the exact form csiread expects."""
    head, _, rest = line.partition(b",[")
    values = rest.rstrip(b"] ").split()[:_LLTF_VALUES]
    return head + b",[" + b" ".join(values) + b" ]\n"


def esp32_recording(path: str | None, scan: Esp32Scan, parsed: object) -> CsiRecording:
    """The recording from validated lines and csiread's ``ESP32`` result for the same lines."""
    csi = np.asarray(parsed.csi)[:, : _LLTF_VALUES // 2]
    wanted = data_tones(20, "legacy")
    second = np.asarray(parsed.secondary_channel)
    cols = np.where(
        (second == 0)[:, None],
        select_tones(fft_order(64), wanted)[None, :],
        select_tones(centred_order(64), wanted)[None, :],
    )
    values = np.take_along_axis(csi, cols, axis=1)[:, :, None, None]
    seconds, clock = unwrap_counter(
        np.asarray(parsed.local_timestamp), unit_s=1e-6, modulus=WRAP_32, source="device", where=path or ""
    )
    notes = [f"ESP32-CSI-Tool: {scan.count} packets, one antenna, {describe_kept(64, wanted, 'L-LTF 20 MHz')}"]
    if scan.skipped:
        notes.append(f"{scan.skipped} line(s) that are not CSI_DATA lines (header, serial messages) skipped")
    longer = int(np.count_nonzero(scan.counts > _LLTF_VALUES))
    if longer:
        notes.append(f"{longer} line(s) also carry HT-LTF values after the L-LTF: not used")
    notes += clock.notes()
    bandwidth = np.asarray(parsed.bandwidth)
    meta = {
        "tool": "ESP32-CSI-Tool",
        "chip": "Espressif ESP32",
        "role": distinct(np.asarray(parsed.role)),
        "mac": distinct(np.asarray(parsed.mac)),
        "channel": distinct(np.asarray(parsed.channel)),
        "secondary_channel": distinct(second),
        "bandwidth_mhz": distinct(np.where(bandwidth == 1, 40, 20)),
        "sig_mode": distinct(np.asarray(parsed.sig_mode)),
        "rssi_dbm": value_range(np.asarray(parsed.rssi)),
        "noise_floor_dbm": value_range(np.asarray(parsed.noise_floor)),
        "real_time_set": distinct(np.asarray(parsed.real_time_set)),
        "real_timestamp_s": value_range(np.asarray(parsed.real_timestamp)),
        "clock": clock.as_meta(),
        "subcarrier_index": wanted.tolist(),
    }
    return CsiRecording.from_complex(values, seconds, source_format="esp32", path=path, notes=notes, meta=meta)

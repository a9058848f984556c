"""Following a real capture while a writer thread appends it: the packets of a one-shot read, in order, once.

Every capture tool's real log (../shared/data) is appended in random-sized chunks, with cuts inside
records, by a writer thread while :class:`LogFollower` polls it; what it yields must equal
``read_csi`` of the whole file. Then what a live log does to a reader: truncated, replaced,
corrupted in the middle, or not a log at all.
"""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from app.backend.data.csi import read_csi
from app.backend.data.csi.framing import walk_records
from app.backend.errors import LiveSourceError
from app.backend.live.follower import LogFollower
from app.backend.live.source import SourceBatch

FORMATS = ["intel5300", "esp32", "atheros", "nexmon", "picoscenes"]


def capture(name: str, intel_dat: Path, capture_tools: dict[str, Path]) -> Path:
    return intel_dat if name == "intel5300" else capture_tools[name]


def chunk_sizes(data: bytes, rng: random.Random) -> list[int]:
    """Random chunk sizes (1 byte to 1.5 records) over ``data``: most cuts fall inside records."""
    sizes, pos = [], 0
    while pos < len(data):
        n = min(len(data) - pos, rng.choice([1, 2, 3, rng.randint(4, 64), rng.randint(64, 600)]))
        sizes.append(n)
        pos += n
    return sizes


def write_slowly(path: Path, data: bytes, sizes: list[int], rng: random.Random) -> threading.Thread:
    def writer() -> None:
        pos = 0
        with open(path, "ab", buffering=0) as f:
            for n in sizes:
                f.write(data[pos : pos + n])
                pos += n
                if rng.random() < 0.2:
                    time.sleep(rng.uniform(0, 0.003))

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    return thread


def follow(follower: LogFollower, packets: int, timeout: float = 60.0) -> tuple[list, list[SourceBatch]]:
    """Poll until ``packets`` packets came (or the timeout); (recordings, every batch)."""
    recs, batches, got = [], [], 0
    deadline = time.monotonic() + timeout
    while got < packets and time.monotonic() < deadline:
        batch = follower.poll()
        batches.append(batch)
        if batch.recording is not None:
            recs.append(batch.recording)
            got += batch.recording.num_packets
    for _ in range(3):  # nothing more may come
        batch = follower.poll()
        batches.append(batch)
        if batch.recording is not None:
            recs.append(batch.recording)
    return recs, batches


def assert_same_packets(recs: list, ref, missing: tuple[int, ...] = ()) -> None:
    """The packets of ``recs`` (in order) are those of ``ref`` but its ``missing`` ones."""
    assert recs, "no packets"
    for name in ("amplitude", "phase", "nrx", "timestamps"):
        got = np.concatenate([getattr(r, name) for r in recs])
        want = np.delete(getattr(ref, name), list(missing), axis=0)
        assert got.shape == want.shape, name  # none lost, none twice
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9 if name == "timestamps" else 0)


@pytest.mark.parametrize("name", FORMATS)
def test_a_growing_capture_yields_the_packets_of_a_one_shot_read(name, intel_dat, capture_tools, tmp_path: Path) -> None:
    src = capture(name, intel_dat, capture_tools)
    data = src.read_bytes()
    ref = read_csi(src)
    rng = random.Random(20)
    sizes = chunk_sizes(data, rng)
    assert sum(s < 16 for s in sizes) > 3  # cuts inside record headers too
    log = tmp_path / f"live{src.suffix}"
    log.touch()
    follower = LogFollower(log, poll_s=0.001)
    writer = write_slowly(log, data, sizes, rng)
    try:
        recs, batches = follow(follower, ref.num_packets)
    finally:
        writer.join()
        follower.close()
    assert follower.kind == {"nexmon": "pcap"}.get(name, name)
    assert not [e for b in batches for e in b.events]
    assert len(recs) > 1 or ref.num_packets == 1  # read in pieces, as it grew (nexmon: 4 UDP packets, one frame)
    assert_same_packets(recs, ref)


def test_a_truncated_or_replaced_file_is_reported_and_followed_again(intel_dat: Path, tmp_path: Path) -> None:
    data = intel_dat.read_bytes()
    ref = read_csi(intel_dat)
    fr = walk_records(data, 0, len_at=0, len_dtype=">u2", overhead=2)
    half = int(fr.offsets[200])
    log = tmp_path / "csi.dat"
    log.write_bytes(data[:half] + data[half : half + 17])  # 200 records and a cut one
    follower = LogFollower(log, poll_s=0.001)
    try:
        recs, batches = follow(follower, 200)
        assert sum(r.num_packets for r in recs) == 200
        # the capture restarts: the file is truncated and written again from the start
        with open(log, "r+b") as f:
            f.truncate(0)
            f.write(data[: int(fr.offsets[100])])
        recs, batches = follow(follower, 100)
        events = [e for b in batches for e in b.events]
        assert [e.kind for e in events] == ["truncated"] and any(b.restart for b in batches)
        assert_same_packets(recs, ref.slice_packets(0, 100))
        # another file takes the name (log rotation, a new capture): followed from its start
        new = tmp_path / "new.dat"
        new.write_bytes(data)
        os.replace(new, log)
        recs, batches = follow(follower, ref.num_packets)
        assert [e.kind for b in batches for e in b.events] == ["replaced"]
        assert_same_packets(recs, ref)
    finally:
        follower.close()


def test_a_file_rewritten_past_the_read_position_is_noticed(intel_dat: Path, tmp_path: Path) -> None:
    """Truncated and refilled between two polls, the file is longer than what was read: its
    bytes before the read position changed, which is what gives it away."""
    data = intel_dat.read_bytes()
    esp = (Path(intel_dat).parent.parent / "capture-tools" / "example_csi.csv").read_bytes()
    log = tmp_path / "csi.dat"
    log.write_bytes(data[:3950])
    follower = LogFollower(log, poll_s=0.001)
    try:
        follow(follower, 10)
        log.write_bytes(esp * 2)  # same name and inode, other content, longer
        recs, batches = follow(follower, 26)
        assert [e.kind for b in batches for e in b.events] == ["truncated"]
        assert sum(r.num_packets for r in recs) == 26 and recs[0].source_format == "esp32"
    finally:
        follower.close()


def test_corrupted_records_are_counted_and_skipped(intel_dat: Path, tmp_path: Path) -> None:
    data = intel_dat.read_bytes()
    ref = read_csi(intel_dat)
    fr = walk_records(data, 0, len_at=0, len_dtype=">u2", overhead=2)
    bad = bytearray(data)
    o = int(fr.offsets[100])
    bad[o + 3 + 8] = 7  # record 100 claims 7 RX antennas
    o = int(fr.offsets[300])
    bad[o : o + 2] = (60_000).to_bytes(2, "big")  # record 300 claims 60 KB
    garbage = bytes(random.Random(1).randrange(256) for _ in range(500))
    at = int(fr.offsets[450])
    stream = bytes(bad[:at]) + garbage + bytes(bad[at:])  # 500 bytes of noise before record 450
    log = tmp_path / "csi.dat"
    log.touch()
    follower = LogFollower(log, poll_s=0.001)
    writer = write_slowly(log, stream, chunk_sizes(stream, random.Random(3)), random.Random(4))
    try:
        recs, batches = follow(follower, ref.num_packets - 2)
    finally:
        writer.join()
        follower.close()
    events = [e for b in batches for e in b.events]
    assert {e.kind for e in events} == {"bad_record"}
    assert sum(e.count for e in events) == 3  # each corrupted stretch once
    assert "corrupted record at byte" in events[0].message
    assert_same_packets(recs, ref, missing=(100, 300))


def test_bad_esp32_lines_are_counted_and_skipped(capture_tools: dict[str, Path], tmp_path: Path) -> None:
    lines = capture_tools["esp32"].read_bytes().splitlines(keepends=True)
    ref = read_csi(capture_tools["esp32"])
    csi = [k for k, line in enumerate(lines) if line.startswith(b"CSI_DATA")]
    broken = list(lines)
    broken[csi[5]] = broken[csi[5]].replace(b",", b";", 3)  # fields run together
    log = tmp_path / "esp.csv"
    log.write_bytes(b"".join(broken) + b"x" * 20_000 + b"\n" + b"".join(lines[csi[0] :]))
    follower = LogFollower(log, poll_s=0.001)
    try:
        recs, batches = follow(follower, 2 * ref.num_packets - 1)
    finally:
        follower.close()
    events = [e for b in batches for e in b.events]
    assert sum(e.count for e in events) == 2 and {e.kind for e in events} == {"bad_record"}
    amp = np.concatenate([r.amplitude for r in recs])
    expected = np.concatenate([np.delete(ref.amplitude, 5, 0), ref.amplitude])
    np.testing.assert_array_equal(amp, expected)


def test_files_that_are_no_growing_log_are_refused(tmp_path: Path, capture_tools: dict[str, Path]) -> None:
    npz = tmp_path / "a.npz"
    np.savez(npz, csi=np.ones((5, 30, 3, 3), np.complex64))
    with pytest.raises(LiveSourceError, match="finished recording, not a log being written"):
        LogFollower(npz)
    junk = tmp_path / "junk.dat"
    junk.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(LiveSourceError, match="not a capture-tool log"):
        LogFollower(junk)
    # an empty file, or a serial log still printing its boot text, waits for more
    text = tmp_path / "esp.csv"
    text.write_bytes(b"ets Jun  8 2016 00:22:57\nboot: ESP-IDF v4.3\n")
    follower = LogFollower(text, poll_s=0.001)
    assert follower.poll().recording is None and follower.kind == ""
    with open(text, "ab") as f:
        f.write(capture_tools["esp32"].read_bytes())
    recs, _ = follow(follower, 13)
    follower.close()
    assert sum(r.num_packets for r in recs) == 13 and follower.kind == "esp32"


def test_times_go_on_across_a_clock_wrap_between_two_reads(intel_dat: Path, tmp_path: Path) -> None:
    """The NIC's 32-bit microsecond clock wraps between two polls: the second piece continues the first."""
    data = bytearray(intel_dat.read_bytes())
    fr = walk_records(bytes(data), 0, len_at=0, len_dtype=">u2", overhead=2)
    for k, o in enumerate(fr.offsets[:100].tolist()):  # 1 ms apart, wrapping at packet 50
        data[o + 3 : o + 7] = ((2**32 - 50_000 + 1000 * k) % 2**32).to_bytes(4, "little")
    whole = tmp_path / "whole.dat"
    whole.write_bytes(bytes(data[: int(fr.offsets[100])]))
    ref = read_csi(whole)
    assert ref.meta["clock"]["wraps"] == 1
    log = tmp_path / "csi.dat"
    log.write_bytes(bytes(data[: int(fr.offsets[60])]))  # the wrap is inside the first piece ...
    follower = LogFollower(log, poll_s=0.001)
    try:
        first, _ = follow(follower, 60)
        with open(log, "ab") as f:
            f.write(bytes(data[int(fr.offsets[60]) : int(fr.offsets[100])]))
        second, _ = follow(follower, 40)  # ... so this one starts at raw times just above 0
    finally:
        follower.close()
    times = np.concatenate([r.timestamps for r in first + second])
    np.testing.assert_allclose(times, ref.timestamps, rtol=0, atol=1e-9)
    np.testing.assert_allclose(np.diff(times), 0.001, atol=1e-9)

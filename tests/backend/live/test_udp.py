"""nexmon_csi over UDP on loopback: the datagrams of the real pcap parse exactly as the pcap does."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import numpy as np
import pytest

from app.backend.data.csi import read_csi
from app.backend.data.csi.framing import walk_records
from app.backend.errors import LiveSourceError
from app.backend.live.source import SourceSpec, open_source
from app.backend.live.udp import NexmonUdpSource


def udp_payloads(pcap: Path) -> list[bytes]:
    """What nexmon_csi sent: the UDP payload of every packet of the capture (after its 42 header bytes)."""
    data = pcap.read_bytes()
    fr = walk_records(data, 24, len_at=8, len_dtype="<u4", overhead=16)
    return [data[o + 16 + 42 : o + n] for o, n in zip(fr.offsets.tolist(), fr.lengths.tolist())]


def receive(source: NexmonUdpSource, packets: int, timeout: float = 20.0) -> tuple[list, list]:
    recs, events = [], []
    deadline = time.monotonic() + timeout
    while sum(r.num_packets for r in recs) < packets and time.monotonic() < deadline:
        batch = source.poll()
        events += batch.events
        if batch.recording is not None:
            recs.append(batch.recording)
    return recs, events


def test_nexmon_datagrams_parse_as_the_pcap(capture_tools: dict[str, Path]) -> None:
    pcap = capture_tools["nexmon"]
    ref = read_csi(pcap)
    payloads = udp_payloads(pcap)
    assert len(payloads) == 4 and ref.num_packets == 1  # one bcm4358 frame: 2 cores x 2 streams
    source = NexmonUdpSource("127.0.0.1", 0)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        to = ("127.0.0.1", source.port)
        sender.sendto(b"\x00garbage, not CSI\xff" * 5, to)  # counted, skipped; the stream goes on
        for frame in range(3):
            for k, payload in enumerate(payloads):
                sender.sendto(payload, to)
                if frame == 1 and k == 1:
                    time.sleep(0.05)  # the frame arrives over two polls: it waits for its other packets
        recs, events = receive(source, 3)
    finally:
        sender.close()
        source.close()
    assert [e.kind for e in events] == ["bad_record"] and events[0].count == 1
    assert "no nexmon_csi magic" in events[0].message and source.name in events[0].message
    got = [r.slice_packets(k, k + 1) for r in recs for k in range(r.num_packets)]
    assert len(got) == 3
    for rec in got:
        assert rec.shape == ref.shape == (1, 234, 2, 2)
        np.testing.assert_array_equal(rec.amplitude, ref.amplitude)
        np.testing.assert_array_equal(rec.phase, ref.phase)
        np.testing.assert_array_equal(rec.nrx, ref.nrx)
        assert rec.meta["chip"] == ref.meta["chip"] and rec.meta["subcarrier_index"] == ref.meta["subcarrier_index"]
    times = np.concatenate([r.timestamps for r in recs])
    assert np.all(np.diff(times) >= 0) and abs(times[-1] - time.time()) < 60  # the host's arrival time


def test_udp_addresses_are_checked() -> None:
    with pytest.raises(LiveSourceError, match="expected HOST:PORT"):
        open_source(SourceSpec("udp", address="localhost"))
    with pytest.raises(LiveSourceError, match="expected HOST:PORT"):
        open_source(SourceSpec("udp", address="127.0.0.1:70000"))
    taken = NexmonUdpSource("127.0.0.1", 0)
    try:
        with pytest.raises(LiveSourceError, match="cannot listen on 127.0.0.1"):
            NexmonUdpSource("127.0.0.1", taken.port)
    finally:
        taken.close()

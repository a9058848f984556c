"""nexmon_csi over UDP, its native transport: one datagram per (frame, RX core, spatial stream).

nexmon_csi's firmware sends each CSI report as a UDP packet (to port 5500 by default). Bound to
the address the user gives, :class:`NexmonUdpSource` wraps each datagram it receives as the
record ``tcpdump`` would have written (pcap record header with the time it arrived, Ethernet
from nexmon's source MAC ``4e:45:58:4d:4f:4e``, IPv4, UDP) and feeds those records to the
same :class:`~app.backend.live.record_stream.RecordStream` a followed pcap goes through. So a
datagram is validated and decoded exactly as the packet in a pcap file, packets of one frame
are grouped into one packet of the recording, and a datagram of garbage is one corrupted record:
counted, skipped, and the stream goes on.
"""

from __future__ import annotations

import select
import socket
import struct
import time

from app.backend.errors import LiveSourceError
from app.backend.live.log_codecs import NexmonPcapCodec
from app.backend.live.record_stream import RecordStream
from app.backend.live.source import SourceBatch, StreamEvent

#: classic pcap, microsecond times, little-endian, snap length 262144, Ethernet.
PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262_144, 1)
#: Most datagrams taken in one poll (the rest wait in the socket's buffer for the next).
MAX_DATAGRAMS_PER_POLL = 4096
_NEXMON_MAC = b"NEXMON"
_MAX_DATAGRAM = 65_535


def pcap_record(payload: bytes, src: tuple[str, int], dst_port: int, arrival: float) -> bytes:
    """The pcap record of a UDP datagram ``payload`` from ``src`` (host, port) that arrived at ``arrival`` (s)."""
    sec = int(arrival)
    usec = min(round((arrival - sec) * 1e6), 999_999)
    ip_len = 20 + 8 + len(payload)
    try:
        src_ip = socket.inet_aton(src[0])
    except OSError:  # an IPv6 sender: the address is not used by the reader
        src_ip = bytes(4)
    eth = b"\xff" * 6 + _NEXMON_MAC + b"\x08\x00"
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, ip_len, 0, 0, 64, 17, 0, src_ip, b"\xff\xff\xff\xff")
    udp = struct.pack(">HHHH", src[1] & 0xFFFF, dst_port & 0xFFFF, 8 + len(payload), 0)
    frame = eth + ip + udp + payload
    return struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame


class NexmonUdpSource:
    """nexmon_csi datagrams received on ``host:port`` (e.g. ``0.0.0.0:5500``).

    Raises:
        LiveSourceError: the address cannot be bound (in use, not this machine's, no permission).
    """

    def __init__(self, host: str, port: int, poll_s: float = 0.02) -> None:
        self.name = f"udp://{host}:{port}"
        self.poll_s = float(poll_s)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024**2)
            self._sock.bind((host, port))
        except OSError as exc:
            self._sock.close()
            raise LiveSourceError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        self._sock.setblocking(False)
        self.port = self._sock.getsockname()[1]
        self.name = f"udp://{host}:{self.port}"
        self._stream = RecordStream(NexmonPcapCodec(), self.name)
        self._stream.feed(PCAP_HEADER)

    def poll(self) -> SourceBatch:
        batch = SourceBatch()
        ready, _, _ = select.select([self._sock], [], [], self.poll_s)
        records: list[bytes] = []
        while ready and len(records) < MAX_DATAGRAMS_PER_POLL:
            try:
                payload, src = self._sock.recvfrom(_MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                break
            records.append(pcap_record(payload, src, self.port, time.time()))
        batch.read_time = time.time()
        if records:
            chunk = self._stream.feed(b"".join(records))
            batch.recording = chunk.recording
            if chunk.bad:
                batch.events.append(StreamEvent("bad_record", "; ".join(chunk.messages[:3]), chunk.bad))
        return batch

    def close(self) -> None:
        self._sock.close()
        self._stream.close()

"""Messages for bench/bench_mqtt_clients.py, published fast and without any of the client
libraries it compares: MQTT 3.1.1 packets encoded here (CONNECT, PUBLISH, PINGREQ,
DISCONNECT) written to Mosquitto's socket in chunks. A backlog is published at QoS 1, each
chunk's PUBACKs counted before the next (packet ids are never reused while in flight); a
live stream at QoS 0, then a PINGREQ answered once the broker has read it all."""

from __future__ import annotations

import socket
import struct

CHUNK = 5_000  # PUBLISHes in flight at most (packet ids 1..CHUNK)
CONNACK_OK = b"\x20\x02\x00\x00"
DISCONNECT = b"\xe0\x00"
PINGREQ, PINGRESP = b"\xc0\x00", b"\xd0\x00"


class PreloadError(Exception):
    """The broker refused the publisher or closed its connection."""


def remaining_length(n: int) -> bytes:
    """MQTT's variable byte integer (3.1.1 section 2.2.3): 7 bits a byte, low first."""
    if not 0 <= n <= 268_435_455:
        raise ValueError(f"remaining length out of range: {n}")
    out = bytearray()
    while True:
        n, byte = divmod(n, 128)
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _string(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack("!H", len(raw)) + raw


def connect_packet(client_id: str, keepalive: int = 60) -> bytes:
    """CONNECT, MQTT 3.1.1 (level 4), clean session, no will, no user name."""
    body = _string("MQTT") + bytes([4, 0x02]) + struct.pack("!H", keepalive) + _string(client_id)
    return b"\x10" + remaining_length(len(body)) + body


def publish_packet(topic: str, payload: bytes, packet_id: int | None) -> bytes:
    """PUBLISH at QoS 1 with `packet_id`, or at QoS 0 without (None); not retained, not
    a duplicate."""
    if packet_id is None:
        body = _string(topic) + payload
        return b"\x30" + remaining_length(len(body)) + body
    if not 1 <= packet_id <= 0xFFFF:
        raise ValueError(f"packet id out of range: {packet_id}")
    body = _string(topic) + struct.pack("!H", packet_id) + payload
    return b"\x32" + remaining_length(len(body)) + body


def _read_exactly(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        got = sock.recv(min(n - len(buf), 1 << 20))
        if not got:
            raise PreloadError(f"the broker closed the connection ({len(buf)} of {n} bytes)")
        buf += got
    return bytes(buf)


def preload(port: int, client_id: str, messages: list[tuple[str, bytes]], count: int) -> None:
    """Publish `count` messages (cycling through `messages`) at QoS 1 to 127.0.0.1:`port`
    and return once the broker has acknowledged every one."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(connect_packet(client_id))
        if (reply := _read_exactly(sock, 4)) != CONNACK_OK:
            raise PreloadError(f"CONNACK {reply.hex()}")
        sent = 0
        while sent < count:
            chunk = min(CHUNK, count - sent)
            packets = [
                publish_packet(*messages[(sent + i) % len(messages)], packet_id=i + 1)
                for i in range(chunk)
            ]
            sock.sendall(b"".join(packets))
            acks = _read_exactly(sock, 4 * chunk)
            if any(acks[i : i + 2] != b"\x40\x02" for i in range(0, len(acks), 4)):
                raise PreloadError(f"expected {chunk} PUBACKs, read {acks[:16].hex()}…")
            sent += chunk
        sock.sendall(DISCONNECT)


def stream(port: int, client_id: str, messages: list[tuple[str, bytes]], count: int) -> None:
    """Publish `count` messages (cycling through `messages`) at QoS 0 as fast as the broker
    reads them; return once it has read them all (its PINGRESP after them)."""
    with socket.create_connection(("127.0.0.1", port), timeout=300) as sock:
        sock.sendall(connect_packet(client_id))
        if (reply := _read_exactly(sock, 4)) != CONNACK_OK:
            raise PreloadError(f"CONNACK {reply.hex()}")
        for start in range(0, count, CHUNK):
            end = min(count, start + CHUNK)
            sock.sendall(
                b"".join(
                    publish_packet(*messages[i % len(messages)], packet_id=None)
                    for i in range(start, end)
                )
            )
        sock.sendall(PINGREQ)
        if (reply := _read_exactly(sock, 2)) != PINGRESP:
            raise PreloadError(f"expected PINGRESP, read {reply.hex()}")
        sock.sendall(DISCONNECT)


def forget(port: int, client_id: str) -> None:
    """End `client_id`'s persistent session: a CONNECT with clean session discards it (and
    its subscriptions, which would otherwise take a copy of every later backlog)."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(connect_packet(client_id))
        if (reply := _read_exactly(sock, 4)) != CONNACK_OK:
            raise PreloadError(f"CONNACK {reply.hex()}")
        sock.sendall(DISCONNECT)

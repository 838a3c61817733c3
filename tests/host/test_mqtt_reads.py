"""posterm-host's paho with buffered reads (host/mqtt_reads.py): the buffer hands out what
it read and nothing twice, and the client takes every message, in order, however the bytes
arrive: a broker's packets cut at any byte, many in one segment. The broker here is a TCP
server in the test speaking MQTT 3.1.1 bytes (CONNACK, QoS 1 PUBLISH, reading the PUBACKs),
so the cuts are the test's to choose."""

from __future__ import annotations

import random
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from paho.mqtt.enums import CallbackAPIVersion

from posterm.host.mqtt_reads import BufferedClient, BufferedSocket
from tests.support.broker import wait_for

WAIT_S = 30.0


def test_the_buffer_hands_out_each_byte_once_and_says_what_it_holds() -> None:
    a, b = socket.socketpair()
    with a, b:
        b.setblocking(False)
        wrapped = BufferedSocket(b)
        a.sendall(b"0123456789")
        assert wrapped.recv(1) == b"0"
        assert wrapped.pending() == 9
        assert wrapped.recv(4) == b"1234"
        assert wrapped.recv(100) == b"56789"  # the buffer's rest, no read past it
        assert wrapped.pending() == 0
        with pytest.raises(BlockingIOError):
            wrapped.recv(1)
        a.close()
        assert wrapped.recv(1) == b""  # the peer's close reaches paho as it would


def remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (128 if n else 0))
        if not n:
            return bytes(out)


def publish(mid: int, topic: str, payload: bytes) -> bytes:
    """A QoS 1 PUBLISH, MQTT 3.1.1."""
    name = topic.encode()
    body = len(name).to_bytes(2, "big") + name + mid.to_bytes(2, "big") + payload
    return b"\x32" + remaining_length(len(body)) + body


def read_packet(conn: socket.socket) -> tuple[int, bytes]:
    """One packet from the client: (its type and flags byte, its body)."""
    first = recv_exact(conn, 1)[0]
    length, mult = 0, 1
    while True:
        byte = recv_exact(conn, 1)[0]
        length += (byte & 127) * mult
        mult *= 128
        if not byte & 128:
            return first, recv_exact(conn, length)


def recv_exact(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("the client closed")
        data += chunk
    return data


@contextmanager
def broker(
    stream: bytes, cuts: list[int], published: list[bytes] | None = None, *, close: bool = False
) -> Iterator[tuple[int, list[int]]]:
    """A one-connection broker: CONNACK, then `stream` sent in pieces cut at `cuts`; yields
    its port and the packet ids the client PUBACKs (filled as they come); the client's QoS
    0 PUBLISHes' payloads go to `published`. With `close`, it closes the connection once
    the stream is sent."""
    server = socket.create_server(("127.0.0.1", 0))
    acked: list[int] = []

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            kind, _ = read_packet(conn)
            assert kind == 0x10  # CONNECT
            conn.sendall(b"\x20\x02\x00\x00")
            start = 0
            for cut in [*cuts, len(stream)]:
                conn.sendall(stream[start:cut])
                start = cut
            if close:
                return
            try:
                while True:
                    kind, body = read_packet(conn)
                    if kind == 0x40:
                        acked.append(int.from_bytes(body, "big"))
                    elif kind == 0x30 and published is not None:
                        topic_len = int.from_bytes(body[:2], "big")
                        published.append(body[2 + topic_len :])
            except (ConnectionError, OSError):
                return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], acked
    finally:
        server.close()
        thread.join(WAIT_S)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_message_arrives_once_in_order_however_the_bytes_are_cut(seed: int) -> None:
    rng = random.Random(seed)
    messages = [
        (f"posterm/pos-{n % 7:04d}/events", rng.randbytes(rng.randint(0, 300))) for n in range(400)
    ]
    messages.append(("posterm/pos-0000/events", b"x" * 20_000))  # a length of 3 bytes
    stream = b"".join(publish(n + 1, t, p) for n, (t, p) in enumerate(messages))
    cuts = sorted(rng.sample(range(1, len(stream)), 60))  # some mid-header, most mid-body
    got: list[tuple[str, bytes]] = []
    done = threading.Event()
    client = BufferedClient(callback_api_version=CallbackAPIVersion.VERSION2, client_id="reads")

    def on_message(client: object, userdata: object, message: object) -> None:
        got.append((message.topic, bytes(message.payload)))  # type: ignore[attr-defined]
        if len(got) == len(messages):
            done.set()

    client.on_message = on_message
    with broker(stream, cuts) as (port, acked):
        client.connect("127.0.0.1", port, keepalive=30)
        client.loop_start()
        try:
            assert done.wait(WAIT_S), f"{len(got)} of {len(messages)} messages"
            assert got == messages
            wait_for(lambda: len(acked) == len(messages), "every PUBACK")
            assert acked == list(range(1, len(messages) + 1))
        finally:
            client.disconnect()
            client.loop_stop()


def test_what_is_published_while_the_loop_reads_is_sent() -> None:
    """GIVEN a stream of messages WHEN the client publishes from its message callback (its
    network thread, while it reads: paho's wake-up is not used then) and from another
    thread THEN the broker gets every one of them."""
    messages = [publish(n + 1, "posterm/pos-0001/events", b"%d" % n) for n in range(300)]
    published: list[bytes] = []
    client = BufferedClient(callback_api_version=CallbackAPIVersion.VERSION2, client_id="reads")
    replies = threading.Event()

    def on_message(client: BufferedClient, userdata: object, message: object) -> None:
        client.publish("posterm/pos-0001/reply", message.payload)  # type: ignore[attr-defined]
        if message.mid == len(messages):  # type: ignore[attr-defined]
            replies.set()

    client.on_message = on_message
    with broker(b"".join(messages), [], published) as (port, _):
        client.connect("127.0.0.1", port, keepalive=30)
        client.loop_start()
        try:
            for n in range(50):  # meanwhile, from this thread
                client.publish("posterm/pos-0001/other", b"t%d" % n)
            assert replies.wait(WAIT_S)
            wait_for(lambda: len(published) == 350, "every publish at the broker")
            assert sorted(p for p in published if not p.startswith(b"t")) == sorted(
                b"%d" % n for n in range(300)
            )
            assert [p for p in published if p.startswith(b"t")] == [b"t%d" % n for n in range(50)]
        finally:
            client.disconnect()
            client.loop_stop()


@pytest.mark.parametrize(
    ("bad", "what"),
    [
        (b"\x32\xff\xff\xff\xff\x01", "a remaining length of five bytes (four at most)"),
        (b"\x32\xff\xff\xff\x7f" + b"\x00\x05", "a packet of 268 MB that never comes"),
        (b"\x32\x05\x00\x07abc", "a topic longer than its packet"),
        (b"\x32\x01\x00", "a PUBLISH too short for its topic's length"),
        (b"\x32\x04\x00\x02ab", "a QoS 1 PUBLISH without its packet id"),
    ],
)
def test_a_malformed_packet_from_the_broker_ends_the_connection_not_the_client(
    bad: bytes, what: str
) -> None:
    """GIVEN a broker that sends 20 messages, then `what`, and closes WHEN the client
    reads them through its buffer THEN the 20 arrive, the connection ends (paho's
    disconnect callback; nothing raised in its thread, nothing waits for bytes that do not
    come), and the client's network thread goes on (it would connect again): a broker's
    bytes never stop the host's loop."""
    messages = [publish(n + 1, "posterm/pos-0001/events", b"%d" % n) for n in range(20)]
    got: list[bytes] = []
    gone = threading.Event()
    client = BufferedClient(callback_api_version=CallbackAPIVersion.VERSION2, client_id="reads")
    client.on_message = lambda c, u, m: got.append(bytes(m.payload))
    client.on_disconnect = lambda *args: gone.set()
    with broker(b"".join(messages) + bad, [], close=True) as (port, _):
        client.connect("127.0.0.1", port, keepalive=30)
        client.loop_start()
        wait_for(lambda: len(got) == 20, "the messages before the malformed bytes")
        assert got == [b"%d" % n for n in range(20)]
    try:
        assert gone.wait(WAIT_S), "the connection was not ended"
        assert client._thread is not None and client._thread.is_alive()
    finally:
        client.disconnect()
        client.loop_stop()

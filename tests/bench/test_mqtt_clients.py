"""bench/bench_mqtt_clients.py's pure parts: the envelopes it preloads, the MQTT packets
its publisher writes (checked against MQTT 3.1.1's own examples), the sizing, the
arithmetic and the verdict. No broker: the bench itself runs under `make bench`."""

from __future__ import annotations

import json
import socket
import threading

import pytest

from bench.bench_mqtt_clients import cpu_us, event_payloads, messages_for, verdict
from bench.mqtt_preload import (
    CONNACK_OK,
    DISCONNECT,
    connect_packet,
    forget,
    publish_packet,
    remaining_length,
)
from bench.mqtt_subscribers import Inbox, main
from bench.runs import Spread
from posterm.protocol.mqtt import topics, wire


def test_payloads_are_real_events_spread_over_terminals() -> None:
    """GIVEN 6 payloads over 3 terminals WHEN generated THEN each is a `sale.approved` that
    the host's wire schema accepts from its topic's terminal, each terminal's seq runs 1, 2,
    and an envelope is the size of a real one (300-500 bytes)."""
    payloads = event_payloads(6, terminals=3)
    seqs: dict[str, list[int]] = {}
    for topic, payload in payloads:
        tid, leaf = topics.split(topic)
        assert leaf == "events"
        event = wire.decode_event(payload, tid)
        assert event["type"] == "sale.approved"
        seqs.setdefault(tid, []).append(event["seq"])
        assert 300 <= len(payload) <= 500
        assert json.loads(payload)["data"]["masked_pan"] == "520000******1234"
    assert seqs == {"pos-0000": [1, 2], "pos-0001": [1, 2], "pos-0002": [1, 2]}


def test_remaining_length_is_the_specs_variable_byte_integer() -> None:
    """GIVEN the boundaries of MQTT 3.1.1 table 2.4 WHEN encoded THEN their bytes; out of
    range is refused."""
    assert remaining_length(0) == b"\x00"
    assert remaining_length(127) == b"\x7f"
    assert remaining_length(128) == b"\x80\x01"
    assert remaining_length(321) == b"\xc1\x02"  # the spec's worked example
    assert remaining_length(16_383) == b"\xff\x7f"
    assert remaining_length(2_097_152) == b"\x80\x80\x80\x01"
    assert remaining_length(268_435_455) == b"\xff\xff\xff\x7f"
    with pytest.raises(ValueError, match="out of range"):
        remaining_length(268_435_456)


def test_packets_are_mqtt_311_bytes() -> None:
    """GIVEN a client id, a topic, a payload and a packet id WHEN encoded THEN CONNECT is
    level 4 with clean session, PUBLISH is QoS 1 with the id after the topic, or QoS 0
    without an id; a packet id of 0 is refused."""
    assert connect_packet("p1", keepalive=60) == bytes.fromhex(
        "10 0e 0004 4d515454 04 02 003c 0002 7031"
    )
    assert publish_packet("a/b", b"hi", 1) == bytes.fromhex("32 09 0003 612f62 0001 6869")
    big = publish_packet("a/b", b"x" * 200, 0xFFFF)
    assert big[:3] == b"\x32\xcf\x01" and big[8:10] == b"\xff\xff"  # 207 bytes follow
    assert publish_packet("a/b", b"hi", None) == bytes.fromhex("30 07 0003 612f62 6869")
    with pytest.raises(ValueError, match="packet id"):
        publish_packet("a/b", b"hi", 0)


def test_sizing_and_arithmetic() -> None:
    """GIVEN a drain rate WHEN a backlog is sized THEN 6 s of it plus 10 %, within the cap
    and the floor; CPU µs per message divides, and refuses zero messages."""
    assert messages_for(4_000.0, 6.0, 90_000) == 26_400
    assert messages_for(40_000.0, 6.0, 90_000) == 90_000
    assert messages_for(10.0, 6.0, 90_000) == 1_000
    assert cpu_us(1.5, 20_000) == 75.0
    with pytest.raises(ValueError, match="no messages"):
        cpu_us(1.5, 0)


def test_verdict_needs_every_round_over_the_bar() -> None:
    """GIVEN ratios other/paho WHEN judged against 2x THEN "large and shown" only when the
    lowest round is at least 2x; a median over 2x with a round under is not shown."""
    assert verdict(Spread(2.6, 2.1, 3.0, 5)).startswith("large and shown")
    assert verdict(Spread(2.6, 1.4, 3.0, 5)).startswith("large in the median, not shown")
    assert verdict(Spread(1.3, 1.1, 1.5, 5)).startswith("not large")


def test_inbox_hands_over_and_stamps_the_last_message() -> None:
    """GIVEN an inbox for 2 messages WHEN 2 arrive THEN both are queued as (topic, bytes),
    it is done, the first message's stamp stays and the last one's is taken."""
    inbox = Inbox(2)
    inbox.put("posterm/v1/pos-0001/events", bytearray(b"{}"))
    assert not inbox.done.is_set() and inbox.end == (0.0, 0.0)
    first = inbox.first
    assert first != (0.0, 0.0)
    inbox.put("posterm/v1/pos-0002/events", b"{}")
    assert inbox.done.is_set() and inbox.end != (0.0, 0.0) and inbox.first == first
    assert inbox.queue.get_nowait() == ("posterm/v1/pos-0001/events", b"{}")


def test_subscriber_refuses_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    """GIVEN an unknown library, a count that is not a number, an unknown mode or a missing
    one WHEN the subscriber starts THEN it exits 2 with its usage, connecting to nothing."""
    assert main(["mosquitto-clients", "1883", "c", "10", "host.toml", "live"]) == 2
    assert main(["paho", "1883", "c", "many", "host.toml", "live"]) == 2
    assert main(["paho", "1883", "c", "10", "host.toml", "qos2"]) == 2
    assert main(["paho", "1883", "c", "10", "host.toml"]) == 2
    assert "LIBRARY is one of" in capsys.readouterr().err


def test_forget_sends_a_clean_session_connect_then_disconnect() -> None:
    """GIVEN a listener that answers CONNACK (a thread, no broker) WHEN a bench session is
    forgotten THEN it read a clean-session CONNECT of that client id, then a DISCONNECT (so
    the broker drops the session and its subscription: later backlogs are not copied to
    it)."""
    server = socket.create_server(("127.0.0.1", 0))
    read = bytearray()

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            read.extend(conn.recv(1024))
            conn.sendall(CONNACK_OK)
            while chunk := conn.recv(1024):
                read.extend(chunk)

    thread = threading.Thread(target=serve)
    thread.start()
    with server:
        forget(server.getsockname()[1], "bench-paho-7")
        thread.join(10)
    assert bytes(read) == connect_packet("bench-paho-7") + DISCONNECT
    assert read[9] & 0x02  # the connect flags: clean session

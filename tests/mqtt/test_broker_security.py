"""posterm's Mosquitto config and access rules, proven against a real Mosquitto (docs/mqtt.md,
Security).

The rules are the dynamic-security plugin's (make-dynsec.py): it refuses a SUBSCRIBE
outside a client's topics (SUBACK 0x80; tests/mqtt/test_broker_acl.py) and checks `read`
on each message as it is delivered, `write` on each PUBLISH. Under MQTT 3.1.1 a denied
publish is dropped silently (the PUBACK still comes). So denials are proven by absence:
the client that would get the message waits for a later, allowed message (a sentinel) and
must have received nothing before it. The sentinel is sent after the PUBACK of the
forbidden message (the broker has processed it), and one client's messages arrive in order.
"""

from __future__ import annotations

import queue
from collections import Counter

import pytest
from paho.mqtt.reasoncodes import ReasonCode

from posterm.protocol.mqtt import commands
from tests.mqtt.conftest import HOST_CN, Broker, Certs
from tests.mqtt.peer import SUBACK_FAILURE, Message
from tests.support.broker import wait_for

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)

A, B = "pos-a", "pos-b"


def t(tid: str, leaf: str) -> str:
    return f"posterm/v1/{tid}/{leaf}"


def _refused(outcome: str | ReasonCode) -> bool:
    return not (isinstance(outcome, ReasonCode) and outcome == 0)


def test_no_client_certificate_no_connection(broker: Broker) -> None:
    """GIVEN the broker with require_certificate
    WHEN a client trusting the right CA connects without a certificate of its own
    THEN the TLS handshake or the CONNECT fails: no CONNACK ever accepts it
    """
    outcome = broker.peer(A, with_cert=False).try_connect()
    assert _refused(outcome), outcome
    # positive control: the same client with its certificate gets in
    broker.connect(A)


def test_certificate_from_another_ca_no_connection(broker: Broker, rogue_certs: Certs) -> None:
    """GIVEN a certificate for pos-a signed by another CA
    WHEN it connects with it
    THEN the connection is refused (the CN alone is worth nothing)
    """
    outcome = broker.peer(A, certs=rogue_certs).try_connect()
    assert _refused(outcome), outcome


def test_terminal_cannot_read_another_terminals_cmd(broker: Broker) -> None:
    """GIVEN terminals A and B and the host connected
    WHEN A subscribes B's cmd (directly, by wildcard, by shared subscription) and the host
         sends B a command
    THEN B receives the command, and A receives nothing before its own command, which the
         host sent afterwards (whether or not the broker refused the subscriptions)
    """
    host, a, b = broker.connect(HOST_CN), broker.connect(A), broker.connect(B)
    assert b.subscribe(t(B, "cmd")) == 1
    assert a.subscribe(t(A, "cmd")) == 1
    for stolen in (
        t(B, "cmd"),
        t(B, "ack"),
        "posterm/v1/+/cmd",
        "posterm/v1/#",
        f"$share/g/{t(B, 'cmd')}",
    ):
        assert a.subscribe(stolen) in (1, SUBACK_FAILURE), stolen

    host.publish(t(B, "cmd"), b"cmd for B")
    host.publish(t(A, "cmd"), b"cmd for A")

    assert b.receive_until(t(B, "cmd"), b"cmd for B") == []
    assert a.receive_until(t(A, "cmd"), b"cmd for A") == []


def test_connect_username_is_ignored_the_certificate_cn_counts(broker: Broker) -> None:
    """GIVEN terminal A's certificate
    WHEN A connects with username "pos-b" and client id "pos-b-spoof" and subscribes B's cmd
    THEN A gets nothing of B's commands but its own: the username is the certificate's CN
         (use_identity_as_username), whatever CONNECT says
    """
    host, b = broker.connect(HOST_CN), broker.connect(B)
    a = broker.connect(A, client_id="pos-b-spoof", username=B)
    assert b.subscribe(t(B, "cmd")) == 1
    assert a.subscribe(t(B, "cmd")) in (1, SUBACK_FAILURE)
    assert a.subscribe(t(A, "cmd")) == 1

    host.publish(t(B, "cmd"), b"cmd for B")
    host.publish(t(A, "cmd"), b"cmd for A")

    assert b.receive_until(t(B, "cmd"), b"cmd for B") == []
    assert a.receive_until(t(A, "cmd"), b"cmd for A") == []


def test_terminal_cannot_publish_commands_acks_or_foreign_topics(broker: Broker) -> None:
    """GIVEN A, B and the host connected and subscribed to what they may read
    WHEN A publishes on its own cmd and ack, on B's cmd, ack, events and status, and on
         the host's status and alerts
    THEN none of it reaches anyone, while A's own events, published afterwards, reach
         the host (and the host's own sentinels reach A and B)
    """
    host, a, b = broker.connect(HOST_CN), broker.connect(A), broker.connect(B)
    for topic in (
        "posterm/v1/+/events",
        "posterm/v1/+/status",
        "posterm/v1/+/reply",
        "posterm/v1/host/+/status",
        "posterm/v1/host/+/alerts",
    ):
        assert host.subscribe(topic) == 1, topic
    for peer, tid in ((a, A), (b, B)):
        assert peer.subscribe(t(tid, "cmd")) == 1
        assert peer.subscribe(t(tid, "ack")) == 1
        assert peer.subscribe("posterm/v1/host/+/status") == 1

    forged = [
        t(A, "cmd"),
        t(A, "ack"),
        t(B, "cmd"),
        t(B, "ack"),
        t(B, "events"),
        t(B, "status"),
        t(B, "reply"),
        "posterm/v1/host/h1/status",
        "posterm/v1/host/h1/alerts",
    ]
    for topic in forged:
        a.publish(topic, b"forged by A")  # PUBACK: the broker has processed (and dropped) it

    a.publish(t(A, "events"), b"A's own event")
    host.publish(t(A, "cmd"), b"sentinel A")
    host.publish(t(B, "cmd"), b"sentinel B")

    assert host.receive_until(t(A, "events"), b"A's own event") == []
    assert a.receive_until(t(A, "cmd"), b"sentinel A") == []
    assert b.receive_until(t(B, "cmd"), b"sentinel B") == []


def test_host_commands_and_acks_reach_the_terminal_and_replies_reach_the_host(
    broker: Broker,
) -> None:
    """GIVEN the host and B connected, B subscribed to its cmd and ack
    WHEN the host sends B a command and an ack, B replies, and the host publishes its
         retained status
    THEN B gets the command and the ack, the host gets the reply on B's reply topic, and
         a terminal connecting afterwards gets the host's retained status
    """
    host, b = broker.connect(HOST_CN), broker.connect(B)
    assert host.subscribe("posterm/v1/+/reply") == 1
    assert b.subscribe(t(B, "cmd")) == 1
    assert b.subscribe(t(B, "ack")) == 1

    host.publish(t(B, "cmd"), b'{"cmd_id": "c1", "name": "ping"}')
    assert b.receive_until(t(B, "cmd"), b'{"cmd_id": "c1", "name": "ping"}') == []
    b.publish(t(B, "reply"), b'{"cmd_id": "c1", "ok": true}')
    assert host.receive_until(t(B, "reply"), b'{"cmd_id": "c1", "ok": true}') == []
    host.publish(t(B, "ack"), b'{"event_ids": ["e1"]}')
    assert b.receive_until(t(B, "ack"), b'{"event_ids": ["e1"]}') == []

    host.publish("posterm/v1/host/h1/status", b'{"online": true}', retain=True)
    a = broker.connect(A)
    assert a.subscribe("posterm/v1/host/+/status") == 1
    msg = a.messages.get(timeout=5)
    assert msg == Message("posterm/v1/host/h1/status", b'{"online": true}', retain=True)


def test_host_cannot_read_commands_or_acks(broker: Broker) -> None:
    """GIVEN the host identity subscribed to every cmd, ack and events topic
    WHEN the host sends A a command and an ack, and A then publishes an event
    THEN the host receives the event and nothing before it: it writes cmd and ack, it
         does not read them
    """
    host, a = broker.connect(HOST_CN), broker.connect(A)
    for topic in ("posterm/v1/+/cmd", "posterm/v1/+/ack", "posterm/v1/+/events"):
        host.subscribe(topic)
    assert a.subscribe(t(A, "cmd")) == 1

    host.publish(t(A, "cmd"), b"cmd for A")
    host.publish(t(A, "ack"), b"ack for A")
    assert a.receive_until(t(A, "cmd"), b"cmd for A") == []
    a.publish(t(A, "events"), b"A's event")

    assert host.receive_until(t(A, "events"), b"A's event") == []


def test_shared_subscription_splits_events_between_host_processes(broker: Broker) -> None:
    """GIVEN two host processes (same host certificate, client ids posterm-host-1 and -2)
         on the shared subscription $share/posterm/posterm/v1/+/events
    WHEN terminal A publishes 20 events
    THEN both subscriptions are granted, every event arrives exactly once in all, and
         each process gets a share of them
    """
    hosts = [broker.connect(HOST_CN, client_id=f"{HOST_CN}-{i}") for i in (1, 2)]
    received: queue.Queue[tuple[str, bytes]] = queue.Queue()  # (client id, payload)
    for h in hosts:
        h.client.on_message = lambda _c, _u, msg, cid=h.client_id: received.put((cid, msg.payload))
        assert h.subscribe("$share/posterm/posterm/v1/+/events") == 1
    a = broker.connect(A)
    sent = [f"event {i}".encode() for i in range(20)]
    for payload in sent:
        a.publish(t(A, "events"), payload)

    got = [received.get(timeout=5) for _ in sent]
    assert Counter(payload for _, payload in got) == Counter(sent)
    shares = Counter(cid for cid, _ in got)
    assert set(shares) == {h.client_id for h in hosts}, shares


def test_oversized_publish_is_refused_and_never_reaches_the_host(broker: Broker) -> None:
    """GIVEN the host subscribed to every terminal's events
    WHEN terminal A publishes a 1 MB event, then (connected again) a normal one
    THEN the broker disconnects A at the 1 MB packet (max_packet_size; its log says so) and
         the host's first event is the normal one
    """
    host = broker.connect(HOST_CN)
    assert host.subscribe("posterm/v1/+/events") == 1
    big = broker.connect(A, client_id=f"{A}-big")

    big.client.publish(t(A, "events"), b"x" * 1_000_000, qos=1)
    big.wait_disconnected()
    big.close()  # before paho reconnects and sends it again
    wait_for(
        lambda: f"Client {A}-big disconnected due to oversize packet." in broker.log_text(),
        "the broker's log of the disconnect",
        timeout=5,
    )
    broker.connect(A).publish(t(A, "events"), b"A's event")

    assert host.receive_until(t(A, "events"), b"A's event") == []


def test_largest_legitimate_messages_pass_the_size_limit(broker: Broker) -> None:
    """GIVEN the host and terminal A subscribed to what they read
    WHEN the host sends A an ack as large as the protocol allows (8 x MAX_PAYLOAD) and A
         publishes an event as large
    THEN both arrive whole
    """
    host, a = broker.connect(HOST_CN), broker.connect(A)
    assert host.subscribe("posterm/v1/+/events") == 1
    assert a.subscribe(t(A, "ack")) == 1
    largest = b"x" * (commands.MAX_PAYLOAD * 8)

    host.publish(t(A, "ack"), largest)
    a.publish(t(A, "events"), largest)

    assert a.receive_until(t(A, "ack"), largest) == []
    assert host.receive_until(t(A, "events"), largest) == []

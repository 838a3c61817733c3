"""What a terminal may subscribe and read, proven against a real Mosquitto (issue 19).

A shared subscription is the one place where a subscription a terminal should not have
does harm even though `read` is checked per delivered message: Mosquitto hands each
message of a share group to one member, checks `read` for that member only, and drops it
when denied — so a terminal in the host's group would swallow its share of every event.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from posterm.protocol.mqtt import topics
from posterm.protocol.mqtt.events import envelope
from tests.mqtt.conftest import HOST_CN, MAKE_DYNSEC, UNLISTED, Broker
from tests.mqtt.peer import SUBACK_FAILURE, Message, Peer
from tests.support.fleet import sale_data
from tests.support.sim import BIN

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)

A, B = "pos-a", "pos-b"
GROUP = "$share/posterm/posterm/v1/+/events"  # host/config.py share_group "posterm"
N = 20


def t(tid: str, leaf: str) -> str:
    return f"posterm/v1/{tid}/{leaf}"


def test_terminal_cannot_join_the_hosts_share_group(broker: Broker) -> None:
    """GIVEN two host processes on the host's share group, and terminal B subscribing the
         same group, another group and every terminal's events directly
    WHEN terminal A publishes 20 events
    THEN the host processes get all 20 events between them and B gets none (its own cmd,
         sent afterwards, is the first message it receives): B's subscriptions were
         refused (SUBACK 0x80)
    """
    hosts = [broker.connect(HOST_CN, client_id=f"{HOST_CN}-{i}") for i in (1, 2)]
    got: queue.Queue[bytes] = queue.Queue()
    for h in hosts:
        h.client.on_message = lambda _c, _u, msg: got.put(msg.payload)
        assert h.subscribe(GROUP) == 1
    rogue = broker.connect(B)
    assert rogue.subscribe(t(B, "cmd")) == 1
    stolen = [
        GROUP,
        "$share/other/posterm/v1/+/events",
        "posterm/v1/+/events",
        "$share/posterm/posterm/v1/+/reply",
        "posterm/v1/#",
        "#",
    ]
    subacks = {topic: rogue.subscribe(topic) for topic in stolen}
    a = broker.connect(A)

    sent = [f"event {i}".encode() for i in range(N)]
    for payload in sent:
        a.publish(t(A, "events"), payload)

    received = []
    for _ in sent:
        try:
            received.append(got.get(timeout=5))
        except queue.Empty:
            break
    assert sorted(received) == sorted(sent), f"the host got {len(received)} of {N}"
    hosts[0].publish(t(B, "cmd"), b"sentinel B")
    assert rogue.receive_until(t(B, "cmd"), b"sentinel B") == []
    assert subacks == dict.fromkeys(stolen, SUBACK_FAILURE)


@pytest.fixture
def real_host(tmp_path: Path, broker: Broker) -> Iterator[Path]:
    """`posterm-host run --instance a` on the share group "posterm", over TLS with the host
    certificate; its log file."""
    c = broker.certs
    config, log = tmp_path / "host.toml", tmp_path / "host.log"
    config.write_text(
        f'[host]\nid = "hq"\n[mqtt]\nurl = "mqtts://127.0.0.1:{broker.port}"\n'
        f'ca_file = "{c.ca}"\ncert_file = "{c.cert(HOST_CN)}"\nkey_file = "{c.key(HOST_CN)}"\n'
        f'share_group = "posterm"\n[store]\nurl = "sqlite://{tmp_path / "host.db"}"\n'
        f'[keys]\nprivate_key = "{tmp_path / "keys" / "host.key"}"\n'
    )
    cli = [str(BIN / "posterm-host"), "--config", str(config)]
    subprocess.run([*cli, "keygen"], capture_output=True, timeout=60, check=True)
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*cli, "run", "--instance", "a"], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield log
    finally:
        proc.terminate()
        proc.wait(10)


def _wait_online(peer: Peer, log: Path) -> None:
    """The host's retained status says online: it subscribed before publishing it."""
    while True:
        try:
            msg = peer.messages.get(timeout=30)
        except queue.Empty:
            raise AssertionError(f"the host never came online: {log.read_text()}") from None
        if msg.topic.startswith("posterm/v1/host/") and json.loads(msg.payload)["online"]:
            return


def test_the_real_host_acks_every_event_while_a_terminal_tries_its_share_group(
    broker: Broker, real_host: Path
) -> None:
    """GIVEN `posterm-host run` on the share group "posterm" and terminal B subscribed
         (or refused) to the same group
    WHEN terminal A publishes 20 events
    THEN the host acks all 20 (on the old acl_file B took half and 10 were acked) and B
         receives none of them
    """
    a, rogue = broker.connect(A), broker.connect(B)
    assert a.subscribe(t(A, "ack")) == 1
    assert a.subscribe("posterm/v1/host/+/status") == 1
    _wait_online(a, real_host)
    assert rogue.subscribe(t(B, "cmd")) == 1
    subacks = [rogue.subscribe(f) for f in (GROUP, "posterm/v1/+/events")]

    sent = [envelope(A, seq, "sale.approved", sale_data(seq)) for seq in range(1, N + 1)]
    for env in sent:
        a.publish(t(A, "events"), json.dumps(env).encode())

    acked: set[str] = set()
    want = {env["event_id"] for env in sent}
    while not want <= acked:
        try:
            msg = a.messages.get(timeout=15)
        except queue.Empty:
            raise AssertionError(f"the host acked {len(acked & want)} of {N}") from None
        if msg.topic == t(A, "ack"):
            acked |= set(json.loads(msg.payload)["event_ids"])
    broker.connect(HOST_CN, client_id="sentinel").publish(t(B, "cmd"), b"sentinel B")
    assert rogue.receive_until(t(B, "cmd"), b"sentinel B") == []
    assert subacks == [SUBACK_FAILURE, SUBACK_FAILURE]


def test_terminal_cannot_read_host_alerts_but_reads_host_status(broker: Broker) -> None:
    """GIVEN terminal A subscribed to every host topic
    WHEN the host publishes an alert and then its retained status
    THEN A gets the status and not the alert (alerts carry other terminals' txn ids and
         masked PANs; its subscriptions to them are refused), while another host process
         subscribed to the alerts gets it
    """
    host, ops = broker.connect(HOST_CN), broker.connect(HOST_CN, client_id=f"{HOST_CN}-ops")
    assert ops.subscribe("posterm/v1/host/+/alerts") == 1
    a = broker.connect(A)
    subacks = {
        topic: a.subscribe(topic)
        for topic in ("posterm/v1/host/#", "posterm/v1/host/+/alerts", "posterm/v1/host/h1/alerts")
    }
    assert a.subscribe("posterm/v1/host/+/status") == 1

    alert = b'{"kind": "double_charge", "tid": "pos-b", "pan": "411111******1111"}'
    host.publish("posterm/v1/host/h1/alerts", alert)
    host.publish("posterm/v1/host/h1/status", b'{"online": true}', retain=True)

    assert ops.receive_until("posterm/v1/host/h1/alerts", alert) == []
    assert a.receive_until("posterm/v1/host/h1/status", b'{"online": true}') == []
    assert set(subacks.values()) == {SUBACK_FAILURE}, subacks


def test_terminal_still_gets_its_own_cmd_ack_and_host_status(broker: Broker) -> None:
    """GIVEN the host status retained, terminal A connecting afterwards
    WHEN A subscribes its cmd, its ack and the host status, and the host sends A a command
         and an ack
    THEN A gets the retained status, the command and the ack
    """
    host = broker.connect(HOST_CN)
    host.publish("posterm/v1/host/h1/status", b'{"online": true}', retain=True)
    a = broker.connect(A)
    for topic in (t(A, "cmd"), t(A, "ack"), "posterm/v1/host/+/status"):
        assert a.subscribe(topic) == 1, topic
    assert a.messages.get(timeout=5) == Message(
        "posterm/v1/host/h1/status", b'{"online": true}', retain=True
    )
    host.publish(t(A, "cmd"), b"cmd for A")
    host.publish(t(A, "ack"), b"ack for A")
    assert a.receive_until(t(A, "cmd"), b"cmd for A") == []
    assert a.receive_until(t(A, "ack"), b"ack for A") == []


def test_a_certificate_missing_from_the_rules_gets_nothing(broker: Broker) -> None:
    """GIVEN a terminal certificate from the right CA whose CN make-dynsec.py was not given
    WHEN it connects, subscribes its own cmd and the host's share group, and publishes on
         its own events
    THEN it connects but every subscription is refused and the host gets none of its
         events: A's event, published afterwards, is the first the host receives
    """
    host = broker.connect(HOST_CN)
    assert host.subscribe("posterm/v1/+/events") == 1
    stray, a = broker.connect(UNLISTED), broker.connect(A)
    subacks = [stray.subscribe(topic) for topic in (t(UNLISTED, "cmd"), GROUP)]
    stray.publish(t(UNLISTED, "events"), b"unlisted event")
    a.publish(t(A, "events"), b"A's event")

    assert host.receive_until(t(A, "events"), b"A's event") == []
    assert subacks == [SUBACK_FAILURE, SUBACK_FAILURE]


def _make_dynsec(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(MAKE_DYNSEC), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--force", "--terminal", "host"], "'host' cannot be a terminal id"),
        (["--force", "--terminal", HOST_CN], f"{HOST_CN!r} cannot be a terminal id"),
        (["--force", "--terminal", "pos/a"], "'pos/a': an id is 1-32"),
        (["--force", "--terminal", "pos-+"], "'pos-+': an id is 1-32"),
        (["--force", "--terminal", A, "--terminal", A], "a terminal id is given twice"),
        (["--terminal", A], "would overwrite"),
    ],
)
def test_make_dynsec_refuses_bad_ids_and_keeps_the_file(
    tmp_path: Path, args: list[str], error: str
) -> None:
    """GIVEN a rules file written for terminal B
    WHEN make-dynsec.py is asked for a terminal named like the host, an id with a topic
         character, an id twice, or to overwrite the file without --force
    THEN it exits 2 naming the problem, and the file is byte for byte the same
    """
    rules = tmp_path / "rules.json"
    assert _make_dynsec(str(rules), "--terminal", B).returncode == 0
    before = rules.read_bytes()

    proc = _make_dynsec(str(rules), *args)

    assert (proc.returncode, error in proc.stderr) == (2, True), proc.stderr
    assert rules.read_bytes() == before


def test_the_host_identity_may_subscribe_what_posterm_host_subscribes(broker: Broker) -> None:
    """GIVEN the host identity
    WHEN it subscribes what `posterm-host run` (plain and shared) and its CLI subscribe,
         and the terminals' cmd and ack it only writes
    THEN the first are granted, cmd and ack refused
    """
    host = broker.connect(HOST_CN)
    wanted = [
        topics.all_terminals("status"),
        topics.terminal(A, "reply"),
        "posterm/v1/host/+/status",
        "posterm/v1/host/+/alerts",
    ]
    for leaf in ("events", "telemetry", "reply"):
        wanted += [topics.all_terminals(leaf), f"$share/posterm/{topics.all_terminals(leaf)}"]
    refused = [topics.all_terminals("cmd"), topics.all_terminals("ack"), "#"]

    got = {f: host.subscribe(f) for f in wanted + refused}

    assert got == {**dict.fromkeys(wanted, 1), **dict.fromkeys(refused, SUBACK_FAILURE)}


def test_make_dynsec_reads_a_terminals_file(tmp_path: Path) -> None:
    """GIVEN a file of terminal ids with a comment and a blank line
    WHEN make-dynsec.py is given it (and one more --terminal), then a file that is missing
    THEN the rules name the host and the three terminals, each with its own role and in
         group terminals; the missing file exits 2 naming it
    """
    ids = tmp_path / "terminals.txt"
    ids.write_text("# the shop floor\npos-0001\n\n  pos-0002  \n")
    rules = tmp_path / "rules.json"

    assert (
        _make_dynsec(str(rules), "--terminals-file", str(ids), "--terminal", "pos-0003").returncode
        == 0
    )
    missing = _make_dynsec(
        str(tmp_path / "other.json"), "--terminals-file", str(tmp_path / "nope.txt")
    )

    doc = json.loads(rules.read_text())
    tids = ["pos-0003", "pos-0001", "pos-0002"]  # --terminal first, then the file
    assert [c["username"] for c in doc["clients"]] == [HOST_CN, *tids]
    assert [c["roles"] for c in doc["clients"][1:]] == [
        [{"rolename": f"terminal-{t}"}] for t in tids
    ]
    assert doc["groups"][0]["clients"] == [{"username": t} for t in tids]
    assert (missing.returncode, "nope.txt" in missing.stderr) == (2, True), missing.stderr
    assert not (tmp_path / "other.json").exists()

"""What a terminal may subscribe and read, proven against a real Mosquitto (issue 19).

A shared subscription is the one place where a subscription a terminal should not have
does harm even though `read` is checked per delivered message: Mosquitto hands each
message of a share group to one member, checks `read` for that member only, and drops it
when denied — so a terminal in the host's group would swallow its share of every event.
"""

from __future__ import annotations

import queue
import subprocess
import sys
from pathlib import Path

import pytest

from tests.mqtt.conftest import HOST_CN, MAKE_DYNSEC, UNLISTED, Broker
from tests.mqtt.peer import SUBACK_FAILURE, Message

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
    stolen = [GROUP, "$share/other/posterm/v1/+/events", "posterm/v1/+/events",
              "$share/posterm/posterm/v1/+/reply", "posterm/v1/#", "#"]  # fmt: skip
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
    subacks = {topic: a.subscribe(topic) for topic in ("posterm/v1/host/#",
               "posterm/v1/host/+/alerts", "posterm/v1/host/h1/alerts")}  # fmt: skip
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
    assert a.messages.get(timeout=5) == Message("posterm/v1/host/h1/status", b'{"online": true}',
                                                retain=True)  # fmt: skip
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
    return subprocess.run([sys.executable, str(MAKE_DYNSEC), *args], capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip


@pytest.mark.parametrize(("args", "error"), [
    (["--force", "--terminal", "host"], "'host' cannot be a terminal id"),
    (["--force", "--terminal", HOST_CN], f"{HOST_CN!r} cannot be a terminal id"),
    (["--force", "--terminal", "pos/a"], "'pos/a': an id is 1-32"),
    (["--force", "--terminal", "pos-+"], "'pos-+': an id is 1-32"),
    (["--force", "--terminal", A, "--terminal", A], "a terminal id is given twice"),
    (["--terminal", A], "would overwrite"),
])  # fmt: skip
def test_make_dynsec_refuses_bad_ids_and_keeps_the_file(tmp_path: Path, args: list[str],
                                                        error: str) -> None:  # fmt: skip
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

"""Commands from the host, through a real Mosquitto to the real postermd: every bad one is
refused with a reply and changes nothing; a signed refund.approve runs on the PT once,
however often it arrives and however often postermd is killed in between."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from posterm.protocol.mqtt import commands
from tests.support import money_rules
from tests.support.broker import Broker, TestHost, wait_for
from tests.support.rig import Rig, make_rig, mqtt_section
from tests.support.sim import BIN

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)

TID = "pos-test"
HOST_KEY = Ed25519PrivateKey.generate()


@pytest.fixture
def host(broker: Broker) -> Iterator[TestHost]:
    h = TestHost(broker)
    yield h
    h.close()


@pytest.fixture
def rig(tmp_path: Path, broker: Broker) -> Iterator[Rig]:
    key = tmp_path / "host.pub"
    key.write_bytes(commands.public_pem(HOST_KEY))
    extra = mqtt_section(broker, key, telemetry_s=5)
    r = make_rig(tmp_path, link="tcp", extra_config=extra, pt_args=("--slow-seconds", "4"))
    r.start()
    r.wait_status(lambda s: s["host"]["state"] == "connected", "connected to the broker")
    yield r
    r.close()


def ask(
    host: TestHost, envelope: dict[str, Any] | bytes, cmd_id: str | None, count: int = 1
) -> dict[str, Any]:
    """Send a command; its `count`-th reply."""
    before = len(host.reply_to(cmd_id)) if cmd_id else len(host.replies)
    host.send(TID, envelope)
    if cmd_id is None:
        return wait_for(lambda: host.replies[before:] and host.replies[-1], "a reply")  # type: ignore[no-any-return]
    return wait_for(
        lambda: (
            len(host.reply_to(cmd_id)) >= before + count  # type: ignore[no-any-return]
            and host.reply_to(cmd_id)[-1]
        ),
        f"the reply to {cmd_id}",
    )


def waiting_refund(rig: Rig) -> dict[str, Any]:
    code, sale = rig.cli("sale", "80.00")
    assert code == 0
    code, refund = rig.cli("refund", sale["txn_id"], "60.00", "--reason", "goods_returned")
    assert code == 0 and refund["state"] == "awaiting_approval"
    return refund  # type: ignore[no-any-return]


def snapshot(rig: Rig) -> tuple[object, ...]:
    return ([(t["txn_id"], t["state"]) for t in rig.txns()], rig.ledger())


def test_bad_commands_are_refused_with_a_reply_and_change_nothing(rig: Rig, host: TestHost) -> None:
    refund = waiting_refund(rig)
    before = snapshot(rig)
    txn = {"txn": refund["txn_id"]}
    past = datetime.now(UTC) - timedelta(minutes=30)
    other = Ed25519PrivateKey.generate()
    cases: list[tuple[dict[str, Any] | bytes, str]] = [
        (b"{not json", "bad_payload"),
        (json.dumps({"pad": "x" * 20000}).encode(), "bad_payload"),
        (commands.build(TID, "refund.approve", txn, key=HOST_KEY, issued_at=past), "expired"),
        (commands.build(TID, "refund.approve", txn), "unsigned"),
        (commands.build(TID, "batch.close"), "unsigned"),
        (commands.build(TID, "refund.approve", txn, key=other), "bad_signature"),
        (commands.build("pos-other", "refund.approve", txn, key=HOST_KEY), "wrong_terminal"),
        (commands.build(TID, "self.destruct", {}), "unknown_command"),
        (commands.build(TID, "refund.approve", {"txn": 7}, key=HOST_KEY), "bad_command"),
    ]
    for envelope, code in cases:
        cmd_id = envelope.get("cmd_id") if isinstance(envelope, dict) else None
        reply = ask(host, envelope, cmd_id)
        assert reply["ok"] is False and reply["code"] == code, (code, reply)
    assert snapshot(rig) == before
    assert rig.cli("status")[1]["awaiting_approval"] == [refund["txn_id"]]


def test_a_replayed_command_gets_its_first_reply(rig: Rig, host: TestHost) -> None:
    ping = commands.build(TID, "ping")
    first = ask(host, ping, ping["cmd_id"])
    again = ask(host, ping, ping["cmd_id"])
    assert first["ok"] and first["result"]["pong"] is True
    assert again == first  # the stored reply, its timestamp too


def test_a_command_that_would_interfere_with_a_sale_is_refused(rig: Rig, host: TestHost) -> None:
    refund = waiting_refund(rig)
    slow = subprocess.Popen(
        [str(BIN / "posterm"), "--socket", str(rig.socket), "sale", "10.99", "--json"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        rig.wait_status(lambda s: s["state"] == "busy", "the slow sale running")
        cmd = commands.build(TID, "refund.approve", {"txn": refund["txn_id"]}, key=HOST_KEY)
        reply = ask(host, cmd, cmd["cmd_id"])
        assert reply["ok"] is False and reply["code"] == "busy"
    finally:
        assert slow.wait(60) == 0
    assert rig.cli("status")[1]["awaiting_approval"] == [refund["txn_id"]]
    # not journaled as run: sent again once the counter is free, it runs
    reply = ask(host, cmd, cmd["cmd_id"], count=1)
    assert reply["ok"] is True and reply["result"]["state"] == "approved"


def test_signed_approve_runs_once_across_copies_and_kills(rig: Rig, host: TestHost) -> None:
    refund = waiting_refund(rig)
    cmd = commands.build(
        TID,
        "refund.approve",
        {"txn": refund["txn_id"], "by": "alice"},
        key=HOST_KEY,
        ttl=timedelta(minutes=10),
    )
    first = ask(host, cmd, cmd["cmd_id"])
    assert first["ok"] and first["result"]["state"] == "approved"
    for _ in range(2):
        rig.kill()
        rig.start()
        rig.wait_status(lambda s: s["host"]["state"] == "connected", "connected again")
        again = ask(host, cmd, cmd["cmd_id"], count=1)
        assert again == first
    refunds = [e for e in rig.ledger() if e["kind"] == "refund"]
    assert [e["state"] for e in refunds] == ["booked"]
    notes = [t for t in rig.txns() if t["txn_id"] == refund["txn_id"]]
    assert notes[0]["state"] == "approved"
    money_rules.check(rig)


def test_approve_killed_while_it_runs_is_not_run_again(
    tmp_path: Path, broker: Broker, host: TestHost
) -> None:
    key = tmp_path / "host.pub"
    key.write_bytes(commands.public_pem(HOST_KEY))
    extra = mqtt_section(broker, key, telemetry_s=5)
    rig = make_rig(tmp_path, link="tcp", extra_config=extra)
    try:
        rig.start()
        rig.wait_status(lambda s: s["host"]["state"] == "connected", "connected")
        refund = waiting_refund(rig)
        rig.stop()
        rig.start(crash_at="refund.completed")  # dies after the PT booked it
        rig.wait_status(lambda s: s["host"]["state"] == "connected", "connected")
        cmd = commands.build(
            TID,
            "refund.approve",
            {"txn": refund["txn_id"]},
            key=HOST_KEY,
            ttl=timedelta(minutes=10),
        )
        host.send(TID, cmd)
        assert rig.wait_exit() == -9
        rig.start()
        rig.wait_state("ready")  # recovery decided the refund: kept by the PT
        rig.wait_status(lambda s: s["host"]["state"] == "connected", "connected")
        reply = ask(host, cmd, cmd["cmd_id"])
        assert reply["ok"] is False and reply["code"] == "interrupted"
        refunds = [e for e in rig.ledger() if e["kind"] == "refund"]
        assert [e["state"] for e in refunds] == ["booked"]
        money_rules.check(rig)
    finally:
        rig.close()

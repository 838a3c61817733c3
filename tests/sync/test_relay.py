"""The outbox relay against a real Mosquitto and the real postermd: events leave the
outbox only when the host acknowledged them; nothing is lost across broker restarts,
SIGKILLs of postermd or a host that is gone; status and telemetry say how it stands."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.support import money_rules
from tests.support.broker import Broker, TestHost, wait_for
from tests.support.rig import Rig, make_rig

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)

TID = "pos-test"


def mqtt_rig(tmp_path: Path, broker: Broker, **extra: str) -> Rig:
    lines = [f'url = "{broker.url}"', "telemetry_s = 0.5", "keepalive_s = 5"]
    lines += [f"{k} = {v}" for k, v in extra.items()]
    return make_rig(tmp_path, link="tcp", extra_config="\n[mqtt]\n" + "\n".join(lines) + "\n")


def outbox(rig: Rig) -> list[dict]:  # type: ignore[type-arg]
    db = sqlite3.connect(rig.journal)
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute("SELECT seq, event_id, sent_at, acked_at FROM outbox")]
    finally:
        db.close()


def unacked(rig: Rig) -> int:
    return sum(1 for e in outbox(rig) if e["acked_at"] is None)


def assert_gapless(host: TestHost, rig: Rig) -> None:
    got = host.unique_events()
    mine = {e["event_id"]: e for e in rig.events()}
    assert set(got) == set(mine), "the host did not get exactly the terminal's events"
    seqs = sorted(e["seq"] for e in got.values())
    assert seqs == list(range(1, len(seqs) + 1))
    for event_id, event in got.items():  # a duplicate is only ever a redelivery
        assert event == mine[event_id]


def test_events_leave_the_outbox_only_when_the_host_acked_them(
    tmp_path: Path, broker: Broker
) -> None:
    host = TestHost(broker, auto_ack=False)
    rig = mqtt_rig(tmp_path, broker)
    try:
        rig.start()
        status = rig.wait_status(lambda s: s["host"]["state"] == "connected", "connected")
        assert status["host"]["session"] >= 1
        for amount in ("1.00", "2.00", "3.00"):
            assert rig.cli("sale", amount)[0] == 0
        total = len(rig.events())
        wait_for(lambda: len(host.unique_events()) == total, "all events at the host")
        # PUBACKed: sent, but still in the outbox until the host says it committed them
        wait_for(lambda: all(e["sent_at"] for e in outbox(rig)), "events marked sent")
        assert unacked(rig) == total
        types = [e["type"] for e in sorted(host.unique_events().values(), key=lambda e: e["seq"])]
        assert types.count("sale.approved") == 3 and "receipt.printed" in types
        for event in list(host.unique_events().values()):
            host.ack(TID, [event["event_id"]])
        wait_for(lambda: unacked(rig) == 0, "the outbox drained by acks")
        online = [s for s in host.status if s["online"]]
        assert online and online[-1]["session"] == status["host"]["session"]
        # the printer's paper as its last status answer says: under load an answer can miss
        # its deadline (paper "unknown" until the next check, PRINTER_CHECK_SECONDS later)
        tele = wait_for(
            lambda: [
                t for t in host.telemetry if t["outbox_depth"] == 0 and t["paper"] != "unknown"
            ],
            "telemetry with the outbox empty and the printer's paper known",
        )
        assert tele[-1]["mode"] == "ready" and tele[-1]["journal_bytes"] > 0
        assert tele[-1]["paper"] == "ok" and tele[-1]["version"]
        assert tele[-1]["period_s"] == 0.5  # the host calls it stale after 3 periods
        # a clean stop publishes the offline status of the same session itself
        rig.stop()
        wait_for(lambda: host.status and host.status[-1]["online"] is False, "offline status")
        assert host.status[-1]["session"] == status["host"]["session"]
    finally:
        rig.close()
        host.close()


@pytest.mark.long
def test_sales_through_three_broker_restarts_lose_nothing(tmp_path: Path, broker: Broker) -> None:
    """GIVEN 500 sales while the broker is stopped and restarted three times THEN an
    independent subscriber sees every event, seq is gapless after dedupe by event_id,
    and the outbox is empty once the host acked everything."""
    host = TestHost(broker)
    rig = mqtt_rig(tmp_path, broker)
    try:
        rig.start()
        rig.wait_status(lambda s: s["host"]["state"] == "connected", "connected")
        for i in range(500):
            if i in (100, 250, 400):
                broker.stop()
            if i in (150, 300, 450):
                broker.start()
            reply = rig.request(cmd="sale", amount=f"{1 + i % 40}.{i % 100:02d}")
            assert reply["ok"] or reply["code"] == "declined", reply
        wait_for(lambda: unacked(rig) == 0, "every event acked", timeout=120)
        assert_gapless(host, rig)
        assert rig.cli("status")[1]["host"]["state"] == "connected"
        money_rules.check(rig)
    finally:
        rig.close()
        host.close()


def test_killed_in_the_middle_of_a_drain_loses_nothing(tmp_path: Path, broker: Broker) -> None:
    # the host acks the first 10 events only until the kill: the drain is then half done
    # however fast the machine (acking all of them, a drain can end before the test sees
    # it under way)
    host = TestHost(broker, auto_ack=False)
    broker.stop()
    rig = mqtt_rig(tmp_path, broker)
    try:
        rig.start()
        for i in range(60):
            assert rig.request(cmd="sale", amount=f"{2 + i}.00")["ok"]
        queued = len(rig.events())
        assert unacked(rig) == queued
        broker.start()
        wait_for(lambda: len(host.unique_events()) >= 10, "the drain under way", timeout=60)
        first = sorted(host.unique_events().values(), key=lambda e: e["seq"])[:10]
        host.ack(TID, [e["event_id"] for e in first])
        wait_for(lambda: unacked(rig) == queued - 10, "the first 10 acked")
        rig.kill()  # SIGKILL in the middle of the drain
        assert unacked(rig) == queued - 10
        host.auto_ack = True
        rig.start()
        wait_for(lambda: unacked(rig) == 0, "the rest drained after the restart")
        assert_gapless(host, rig)
        assert len(host.events) >= len(host.unique_events())  # duplicates: redeliveries
    finally:
        rig.close()
        host.close()


def test_with_the_host_gone_sales_go_on_and_telemetry_shows_the_outbox(
    tmp_path: Path, broker: Broker
) -> None:
    watcher = TestHost(broker, auto_ack=False, client_id="fleet-watcher")
    rig = mqtt_rig(tmp_path, broker)
    try:
        rig.start()
        for amount in ("4.00", "5.00"):
            assert rig.cli("sale", amount)[0] == 0
        depth = len(rig.events())
        tele = wait_for(
            lambda: [t for t in watcher.telemetry if t["outbox_depth"] >= depth],
            "telemetry with the grown outbox",
        )
        assert tele[-1]["oldest_unsent_age_s"] >= 0 and tele[-1]["selling"] is True
    finally:
        rig.close()
        watcher.close()


def test_without_a_broker_the_terminal_sells_and_says_the_link_is_down(tmp_path: Path) -> None:
    broker = Broker(tmp_path / "nobroker")  # never started: nothing listens there
    rig = mqtt_rig(tmp_path, broker)
    try:
        rig.start()
        assert rig.cli("sale", "6.00")[0] == 0
        status = rig.wait_status(lambda s: s["host"]["retry_in"] is not None, "a retry time")
        assert status["state"] == "ready" and status["host"]["state"] != "connected"
        assert unacked(rig) == len(rig.events()) > 0
    finally:
        rig.close()


def test_events_the_host_never_acked_go_again(tmp_path: Path, broker: Broker) -> None:
    """GIVEN a host that got the events but never acknowledged them (say its broker
    session was lost) WHEN the relay has waited [mqtt] ack_wait_s with nothing else to send
    THEN it publishes every unacknowledged event again, and the acks drain the outbox."""
    host = TestHost(broker, auto_ack=False)
    rig = mqtt_rig(tmp_path, broker, ack_wait_s="2")
    try:
        rig.start()
        assert rig.cli("sale", "9.00")[0] == 0
        total = len(rig.events())
        wait_for(lambda: len(host.unique_events()) == total, "the first delivery")
        first = len(host.events)
        wait_for(lambda: len(host.events) >= first + total, "the second delivery")
        for event in list(host.unique_events().values()):
            host.ack(TID, [event["event_id"]])
        wait_for(lambda: unacked(rig) == 0, "the outbox drained")
        assert_gapless(host, rig)
    finally:
        rig.close()
        host.close()

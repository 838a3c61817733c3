"""The host's acks are committed off the relay thread (marker.py), as marking sent is: a
slow ack commit does not hold up the socket's thread, and a SIGKILL at the ack's journal
write loses nothing and counts no money twice (the events go again, the host drops the
duplicates by `event_id` and acknowledges them again)."""

from __future__ import annotations

import signal
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from posterm.protocol import money
from tests.support import money_rules
from tests.support.broker import Broker, TestHost, wait_for
from tests.sync.test_relay import assert_gapless, mqtt_rig, outbox, unacked
from tests.sync.test_relay_batches import (
    EVENTS,
    queued_journal,
    standalone_relay,
)

pytestmark = pytest.mark.slow  # Mosquitto and postermd are processes (tests/support/tiers.py)


def acked(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return int(
            db.execute("SELECT COUNT(*) FROM outbox WHERE acked_at IS NOT NULL").fetchone()[0]
        )
    finally:
        db.close()


def test_the_relay_publishes_on_while_an_ack_commit_hangs(tmp_path: Path, broker: Broker) -> None:
    """GIVEN 1200 queued events, a host that acknowledges every event it gets, and a
    journal whose ack commit hangs (a slow fsync)
    WHEN the relay drains them
    THEN every event still reaches the host while that commit hangs, none acknowledged in
    the journal meanwhile, and the commit ran on the marker's thread, not the relay's;
    once it goes through, every event is acknowledged."""
    path = tmp_path / "journal.db"
    journal = queued_journal(path)
    release = threading.Event()
    hung = threading.Event()
    threads: set[str] = set()
    outbox_ack = journal.outbox_ack

    def slow_outbox_ack(event_ids: Any) -> int:
        threads.add(threading.current_thread().name)
        hung.set()
        release.wait(60)
        return outbox_ack(event_ids)

    journal.outbox_ack = slow_outbox_ack  # type: ignore[method-assign]
    host = TestHost(broker, auto_ack=False)
    host.auto_ack = True
    relay = standalone_relay(broker, journal)
    try:
        relay.start()
        wait_for(hung.is_set, "an ack commit under way")
        wait_for(lambda: len(host.unique_events()) == EVENTS, "every event at the host")
        assert acked(path) == 0  # none acknowledged while the commit hangs
        release.set()
        wait_for(lambda: acked(path) == EVENTS, "every event acknowledged")
        assert threads == {"mqtt-sent"}
    finally:
        release.set()
        relay.stop()
        journal.close()
        host.close()


def test_a_kill_at_the_ack_write_loses_nothing_and_counts_no_money_twice(
    tmp_path: Path, broker: Broker
) -> None:
    """GIVEN 10 sales queued while the broker is down, a host that acknowledges every
    event, and postermd set to die by SIGKILL at its first ack write
    (POSTERM_CRASH_AT=journal.ack)
    WHEN the broker comes back, the relay drains and the host's first ack arrives
    THEN postermd dies there with no event acknowledged in the journal; after a restart
    every event goes again (the host sees duplicates), the host's acks drain the outbox,
    the host holds each event once, gapless, its approved sales add up to the journal's
    (no money twice), and the PT's ledger matches the journal."""
    host = TestHost(broker)
    broker.stop()
    rig = mqtt_rig(tmp_path, broker)
    try:
        rig.start(crash_at="journal.ack")
        for i in range(10):
            assert rig.request(cmd="sale", amount=f"{2 + i}.00")["ok"]
        broker.start()
        assert rig.wait_exit(60) == -signal.SIGKILL
        assert "crash point journal.ack" in rig.logs[-1].read_text()
        assert host.unique_events(), "the host got events before the kill"
        assert all(e["acked_at"] is None for e in outbox(rig))
        rig.start()
        wait_for(lambda: unacked(rig) == 0, "every event acknowledged after the restart")
        assert_gapless(host, rig)
        assert len(host.events) > len(host.unique_events())  # the unacknowledged went again
        sales = [e for e in host.unique_events().values() if e["type"] == "sale.approved"]
        approved = [t for t in rig.txns() if t["kind"] == "sale" and t["state"] == "approved"]
        assert len(sales) == len(approved) == 10
        at_host = sum(money.parse_amount(e["data"]["amount"], e["data"]["currency"]) for e in sales)
        assert at_host == sum(t["amount"] for t in approved)
        money_rules.check(rig)
    finally:
        rig.close()
        host.close()

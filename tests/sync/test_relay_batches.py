"""The outbox relay's drain in batches, in process against a real Mosquitto: it reads the
next unacknowledged events in one query, not one query per round, and marks a flush of
PUBACKed events sent in a few UPDATEs, not one per event — the host still gets every
event once, in seq order, as the bytes the journal holds, and a slow commit does not
hold up the socket's thread; a SIGKILL inside a mark-sent
batch leaves none of it marked, and every event goes again."""

from __future__ import annotations

import re
import signal
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from posterm.daemon.config import MqttSection
from posterm.daemon.journal.store import Journal
from posterm.daemon.sync import relay as relay_module
from posterm.daemon.sync.relay import Relay
from tests.support.broker import Broker, TestHost, wait_for
from tests.support.standin import StandInTerminal
from tests.sync.test_relay import assert_gapless, mqtt_rig, outbox

pytestmark = pytest.mark.slow  # Mosquitto is a process (tests/support/tiers.py)

TID = "pos-batch"
EVENTS = 1200
WINDOW = 20
OUTBOX_READ = re.compile(r"FROM outbox WHERE .*seq > ")  # the relay's reads, not telemetry's


def standalone_relay(broker: Broker, journal: Journal) -> Relay:
    """A relay on `journal` alone: postermd's other parts are a stand-in."""
    return Relay(
        MqttSection(url=broker.url, inflight=WINDOW),
        journal,
        StandInTerminal(TID),  # type: ignore[arg-type]
        host_key=None,
        version="test",
    )


def queued_journal(path: Path) -> Journal:
    journal = Journal(path, TID)
    for first in range(1, EVENTS + 1, 400):
        with journal.transaction() as tx:
            for n in range(first, min(first + 400, EVENTS + 1)):
                tx.emit("fault.raised", {"state": "pt_down", "reason": f"no answer {n}"})
    return journal


def unsent(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return int(db.execute("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0])
    finally:
        db.close()


def test_a_drain_reads_the_outbox_in_batches_and_marks_sent_in_few_updates(
    tmp_path: Path, broker: Broker
) -> None:
    """GIVEN 1200 queued events and an in-flight window of 20
    WHEN the relay drains them to Mosquitto
    THEN the host gets each once, in seq order, as the journal's envelopes; every one is
    marked sent; the relay read the outbox in a handful of queries (not one per round of
    20) and marked the events sent in a handful of UPDATEs (not one per event)."""
    path = tmp_path / "journal.db"
    journal = queued_journal(path)
    envelopes = {e["event_id"]: e for e in journal.outbox(limit=EVENTS)}
    statements: list[str] = []
    lock = threading.Lock()

    def traced(sql: str) -> None:
        with lock:
            statements.append(sql)

    journal._conn().set_trace_callback(traced)
    host = TestHost(broker, auto_ack=False)
    relay = standalone_relay(broker, journal)
    try:
        relay.start()
        wait_for(lambda: unsent(path) == 0, "every event marked sent", timeout=60)
        relay.stop()
        with lock:
            reads = sum(1 for s in statements if OUTBOX_READ.search(s))
            updates = sum(1 for s in statements if s.startswith("UPDATE outbox SET sent_at"))
        wait_for(lambda: len(host.events) >= EVENTS, "every event at the host")
        assert [e["seq"] for e in host.events] == list(range(1, EVENTS + 1))
        assert {e["event_id"]: e for e in host.events} == envelopes
        # the old relay: ~EVENTS / WINDOW reads and EVENTS updates
        assert 1 <= reads <= 15, reads
        assert 1 <= updates <= 15, updates
    finally:
        relay.stop()
        journal.close()
        host.close()


def test_the_relay_publishes_on_while_a_mark_sent_commit_hangs(
    tmp_path: Path, broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN 1200 queued events and a journal whose mark-sent commit hangs (a slow fsync)
    WHEN the relay drains them
    THEN every event still reaches the host (the socket's thread never waits on that
    commit); once the commit goes through, every event is marked sent."""
    path = tmp_path / "journal.db"
    journal = queued_journal(path)
    release = threading.Event()
    hung = threading.Event()
    mark_sent = journal.outbox_mark_sent

    def slow_mark_sent(event_ids: Any) -> None:
        hung.set()
        release.wait(60)
        mark_sent(event_ids)

    journal.outbox_mark_sent = slow_mark_sent  # type: ignore[method-assign]
    monkeypatch.setattr(relay_module, "SENT_FLUSH_SECONDS", 0.0)  # a flush every round
    host = TestHost(broker, auto_ack=False)
    relay = standalone_relay(broker, journal)
    try:
        relay.start()
        wait_for(hung.is_set, "a mark-sent commit under way")
        wait_for(lambda: len(host.unique_events()) == EVENTS, "every event at the host")
        assert unsent(path) == EVENTS  # none marked while the commit hangs
        release.set()
        wait_for(lambda: unsent(path) == 0, "every event marked sent")
    finally:
        release.set()
        relay.stop()
        journal.close()
        host.close()


def test_a_kill_inside_a_mark_sent_batch_marks_none_and_all_go_again(
    tmp_path: Path, broker: Broker
) -> None:
    """GIVEN 30 sales queued while the broker is down, and postermd set to die by SIGKILL
    inside its first mark-sent transaction (the batch's UPDATE run, its COMMIT not)
    WHEN the broker comes back and the relay drains, PUBACKs arrive and it flushes
    THEN postermd dies there and not one event is marked sent (the batch is all or
    nothing); after a restart every event reaches the host, gapless, and is marked sent."""
    host = TestHost(broker, auto_ack=False)
    broker.stop()
    rig = mqtt_rig(tmp_path, broker)
    try:
        rig.start(crash_at="journal.mark_sent")
        for i in range(30):
            assert rig.request(cmd="sale", amount=f"{2 + i}.00")["ok"]
        broker.start()
        assert rig.wait_exit(60) == -signal.SIGKILL
        assert "crash point journal.mark_sent" in rig.logs[-1].read_text()
        queued = outbox(rig)
        assert queued and all(e["sent_at"] is None for e in queued)
        rig.start()
        wait_for(lambda: all(e["sent_at"] for e in outbox(rig)), "all marked sent")
        wait_for(lambda: len(host.unique_events()) == len(queued), "all at the host")
        assert_gapless(host, rig)
    finally:
        rig.close()
        host.close()

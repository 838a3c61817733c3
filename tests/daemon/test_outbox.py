"""The journal's outbox on real SQLite files: envelopes as mqtt.md says, a gapless seq
across rollbacks, threads and restarts, drained only by acknowledgement."""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from posterm.daemon.journal.store import Journal, JournalError
from posterm.protocol.mqtt.events import UUID7
from tests.support.fleet import fault_data, receipt_data, txn_data


def test_an_event_envelope_follows_mqtt_md(journal: Journal) -> None:
    with journal.transaction() as tx:
        event = tx.emit("fault.raised", {"state": "pt_down", "reason": "no answer"})
    assert set(event) == {"v", "event_id", "terminal", "seq", "type", "occurred_at", "data"}
    assert event["v"] == 1 and UUID7.fullmatch(event["event_id"])
    assert event["occurred_at"].endswith("Z")
    occurred = datetime.fromisoformat(event["occurred_at"].replace("Z", "+00:00"))
    assert occurred.utcoffset() == timedelta(0)
    assert event["data"] == {"state": "pt_down", "reason": "no answer"}


@pytest.mark.parametrize(
    ("type_", "data", "why"),
    [
        ("sale.exploded", {}, "unknown event type"),
        ("SALE.APPROVED", {}, "unknown event type"),
        ("sale.approved", ["txn"], "JSON object"),
        ("sale.approved", {"amount": float("nan")}, "not plain JSON"),
        # what the host's wire schema would refuse never enters the outbox
        ("sale.approved", txn_data("T1", amount="https://x.example/"), "does not fit"),
        ("sale.approved", txn_data("T1", card_name="Visa\x1b[2J"), "control character"),
        ("sale.approved", txn_data("T1", pan_hint="x"), "unknown field"),
        ("receipt.printed", {"receipt_id": 1, "txn_id": "T1"}, "missing required field"),
        ("fault.raised", {"state": "pt_down", "reason": "x" * 501}, "does not fit"),
        ("sale.approved", {"when": datetime.now(UTC)}, "not plain JSON"),
    ],
)
def test_given_a_bad_event_then_refused_and_its_seq_not_spent(
    journal: Journal, type_: str, data: Any, why: str
) -> None:
    """GIVEN a bad event inside a transaction WHEN the caller catches the error and goes
    on THEN the next event still gets seq 1: no gap."""
    with journal.transaction() as tx:
        with pytest.raises(JournalError, match=why):
            tx.emit(type_, data)
        event = tx.emit("sale.declined", txn_data("T0", state="declined"))
    assert event["seq"] == 1 and journal.outbox_depth() == 1


def test_seq_is_gapless_across_rollbacks_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    journal = Journal(path, "pos-1")
    for n in range(6):
        if n % 2:
            with pytest.raises(RuntimeError), journal.transaction() as tx:
                tx.emit("fault.raised", fault_data(n))
                raise RuntimeError("rolled back")
        else:
            with journal.transaction() as tx:
                tx.emit("fault.raised", fault_data(n))
        journal.close()
        journal = Journal(path, "pos-1")
    assert [(e.seq, e.envelope["data"]) for e in journal.outbox_pending()] == [
        (1, fault_data(0)),
        (2, fault_data(2)),
        (3, fault_data(4)),
    ]
    journal.close()


def test_seq_is_gapless_with_writers_on_several_threads(journal: Journal) -> None:
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(40):
                with journal.transaction() as tx:
                    tx.emit("receipt.printed", receipt_data(n * 1000 + i))
        except BaseException as exc:  # reported below: a thread's error must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    seqs = [e.seq for e in journal.outbox_pending(1000)]
    assert seqs == list(range(1, 161))


def test_the_outbox_drains_only_by_ack(journal: Journal, tmp_path: Path) -> None:
    assert journal.outbox_depth() == 0 and journal.oldest_unsent_age() is None
    with journal.transaction() as tx:
        ids = [tx.emit("receipt.printed", receipt_data(i))["event_id"] for i in range(5)]
    assert journal.outbox_depth() == 5
    assert journal.outbox_ack([ids[1], ids[3], "0190b3c4-0000-7000-8000-000000000000"]) == 2
    assert journal.outbox_ack([ids[1]]) == 0  # a duplicate ack changes nothing
    assert [e.event_id for e in journal.outbox_pending()] == [ids[0], ids[2], ids[4]]
    assert [e.seq for e in journal.outbox_pending(limit=2)] == [1, 3]
    assert [e.seq for e in journal.outbox_since(2)] == [2, 3, 4, 5]  # resend: acked too
    assert journal.outbox_since(2)[0].acked_at is not None
    assert journal.outbox() == [e.envelope for e in journal.outbox_pending()]
    with pytest.raises(JournalError, match="strings"):
        journal.outbox_ack([1])  # type: ignore[list-item]
    assert journal.outbox_depth() == 3


def test_oldest_unsent_age_is_the_age_of_the_lowest_unacked_seq(
    journal: Journal, tmp_path: Path
) -> None:
    with journal.transaction() as tx:
        first = tx.emit("fault.raised", fault_data())["event_id"]
        tx.emit("fault.cleared", fault_data())
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    db = sqlite3.connect(tmp_path / "journal.db")
    db.execute("UPDATE outbox SET occurred_at = ? WHERE seq = 1", (hour_ago,))
    db.commit()
    db.close()
    age = journal.oldest_unsent_age()
    assert age is not None and 3600 <= age < 3600 + 600
    journal.outbox_ack([first])
    age = journal.oldest_unsent_age()
    assert age is not None and age < 3600


def test_a_contact_kept_in_the_wal_by_a_reader_leaves_it_once_the_reader_is_gone(
    journal: Journal,
) -> None:
    """GIVEN a refund request with the customer's e-mail address in the outbox and another
    reader of the journal file in a read transaction WHEN the host acks it THEN the address
    is gone from the table but the checkpoint cannot truncate the WAL (scrub_due); AND WHEN
    the reader is gone THEN the next try leaves no byte of it in the file or the WAL."""
    address = b"kunde.mueller@example.org"
    with journal.transaction() as tx:
        event = tx.emit(
            "refund.requested",
            txn_data("R1", "refund", "in_doubt", notify={"email": address.decode()}),
        )
    wal = Path(f"{journal.path}-wal")

    def on_disk() -> bool:
        return any(p.exists() and address in p.read_bytes() for p in (journal.path, wal))

    reader = sqlite3.connect(journal.path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT COUNT(*) FROM outbox").fetchone()
    assert journal.outbox_ack([event["event_id"]]) == 1
    assert journal.scrub_due and on_disk()
    journal.finish_scrub(now=True)  # the reader still there: still due
    assert journal.scrub_due
    reader.execute("COMMIT")
    reader.close()
    journal.finish_scrub(now=True)
    assert not journal.scrub_due and not on_disk()


def test_the_relay_reads_events_as_the_bytes_it_publishes(journal: Journal) -> None:
    """GIVEN events whose data holds quotes, backslashes, non-ASCII letters and U+2028
    WHEN the relay's read (`outbox_wire`) takes them, pending only or acknowledged too
    THEN each comes as (seq, event_id, the compact JSON of its envelope) in seq order,
    byte for byte what encoding the parsed envelope compactly gives."""
    reason = 'Zählerstand "€" \\ \u2028 💳'
    with journal.transaction() as tx:
        for n in range(1, 6):
            tx.emit("fault.raised", {"state": "pt_down", "reason": f"{reason} {n}"})
    events_ = journal.outbox_pending()
    journal.outbox_ack([events_[1].event_id])

    def compact(envelope: dict[str, Any]) -> bytes:
        return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()

    wire = journal.outbox_wire(0, 100)
    assert wire == [(e.seq, e.event_id, compact(e.envelope)) for e in journal.outbox_pending()]
    assert [seq for seq, _, _ in wire] == [1, 3, 4, 5]
    assert [seq for seq, _, _ in journal.outbox_wire(1, 2)] == [3, 4]
    everything = journal.outbox_wire(1, 100, acked_too=True)
    assert everything == [(e.seq, e.event_id, compact(e.envelope)) for e in events_[1:]]

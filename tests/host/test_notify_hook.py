"""The ingest's notification hook costs a fixed few statements per batch and reads nothing:
it keeps the batch's contacts and marks those whose refund it tells more of; the sender
(host/notify/promote.py) queues the notifications of the refunds now final, once each,
whatever order and batches their request, outcome and voucher come in."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from posterm.host import db
from posterm.host.db import Row, Tx
from posterm.host.notify import promote as promote_module
from posterm.host.notify import queue
from posterm.host.notify.promote import promote
from posterm.host.store import Store
from posterm.protocol.mqtt.events import envelope, now_rfc3339


class Counting:
    """A transaction that records each statement the database runs: one per call, one per
    row of an `execute_many` (the database runs the statement once for each)."""

    def __init__(self, tx: Tx) -> None:
        self.tx, self.statements = tx, list[str]()

    def execute(self, sql: str, args: Sequence[Any] = ()) -> int:
        self.statements.append(sql)
        return self.tx.execute(sql, args)

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.statements += [sql] * len(rows)
        self.tx.execute_many(sql, rows)

    def copy_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.statements.append(f"COPY {table}")
        self.tx.copy_rows(table, columns, rows)

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        self.statements.append(sql)
        return self.tx.rows(sql, args)

    def once(self, sql: str) -> None:
        self.statements.append(sql)
        self.tx.once(sql)


def _burst(
    count: int, tid: str = "pos-a", first: int = 0
) -> tuple[list[dict[str, Any]], dict[str, dict[str, str]]]:
    """`count` refunds of one terminal, each with its request (and the customer's address),
    a completion and a voucher."""
    events, contacts = [], {}
    for i in range(first, first + count):
        money = {"txn_id": f"R{i}", "amount": "12.50", "currency": "EUR", "reason": "other"}
        request = envelope(tid, 3 * i + 1, "refund.requested", {**money, "state": "in_doubt"})
        contacts[str(request["event_id"])] = {"email": f"kunde{i}@example.org"}
        events += [
            request,
            envelope(
                tid, 3 * i + 2, "refund.completed", {**money, "state": "approved_unconfirmed"}
            ),
            envelope(tid, 3 * i + 3, "receipt.printed", {"txn_id": f"R{i}", "lines": []}),
        ]
    return events, contacts


def _count(store: Store, sql: str) -> int:
    return int(store.db.rows(sql)[0]["n"])


def test_the_hook_runs_the_same_few_statements_for_1_and_500_refunds(store_url: str) -> None:
    """GIVEN a batch of 1 refund and one of 500 (request with an address, completion,
    voucher), each of another terminal WHEN the hook runs on each stored batch THEN both
    run the same statements, at most two and no read; each batch's contacts are kept
    (marked for the sender), nothing is queued yet; AND WHEN the sender promotes THEN 501
    notifications are queued with their facts and no contact is left."""
    store = Store(store_url)
    try:
        ran: list[list[str]] = []
        for tid, count in (("pos-a", 1), ("pos-b", 500)):
            events, contacts = _burst(count, tid)
            store.ingest(events)
            with store.db.tx() as tx:
                counting = Counting(tx)
                assert queue.on_new(counting, events, contacts, now_rfc3339()) == count
            ran.append([sql.split("(")[0] for sql in counting.statements])  # its kind and table
        assert ran[0] == ran[1]
        assert len(ran[0]) <= 2
        assert not [s for s in ran[0] if s.lstrip().upper().startswith(("SELECT", "WITH"))]
        assert _count(store, "SELECT COUNT(*) AS n FROM contacts WHERE news > 0") == 501
        assert _count(store, "SELECT COUNT(*) AS n FROM notifications") == 0
        assert promote(store, now_rfc3339()) == 501
        rows = store.db.rows("SELECT contact, facts, state FROM notifications")
        assert len(rows) == 501 and {r["state"] for r in rows} == {"queued"}
        facts = json.loads(rows[0]["facts"])
        assert facts["outcome"] == "completed" and facts["amount"] == "12.50"
        assert _count(store, "SELECT COUNT(*) AS n FROM contacts") == 0
    finally:
        store.close()


def test_a_refund_split_over_batches_is_told_once_when_final(tmp_path: Path) -> None:
    """GIVEN a refund's request (with an address) in one batch WHEN the sender looks THEN
    nothing is queued and the contact stays, no longer marked; AND WHEN its completion and
    voucher come in the next batch THEN the contact is marked again, and the sender queues
    one notification and the contact row is gone; a third look queues nothing more."""
    store = Store(f"sqlite://{tmp_path / 'host.db'}")
    try:
        events, contacts = _burst(1)
        for part, expected in ((events[:1], (0, 1)), (events[1:], (1, 0))):
            store.ingest(part)
            with store.db.tx() as tx:
                assert queue.on_new(tx, part, contacts, now_rfc3339()) == 1
            queued = promote(store, now_rfc3339())
            kept = _count(store, "SELECT COUNT(*) AS n FROM contacts")
            assert (queued, kept) == expected
            assert _count(store, "SELECT COUNT(*) AS n FROM contacts WHERE news > 0") == 0
        assert promote(store, now_rfc3339()) == 0
        assert store.db.rows("SELECT state FROM notifications") == [{"state": "queued"}]
    finally:
        store.close()


def test_a_failure_stored_before_its_batch_outweighs_the_batch_s_completion(
    tmp_path: Path,
) -> None:
    """GIVEN a refund's `refund.failed` stored first (its terminal's events out of order)
    WHEN a batch then brings its request (with an address), a completion and a voucher
    THEN the one notification queued tells the failure, as the refund's whole story does."""
    store = Store(f"sqlite://{tmp_path / 'host.db'}")
    try:
        events, contacts = _burst(2)
        money = {"txn_id": "R0", "amount": "12.50", "currency": "EUR", "reason": "other"}
        failed = envelope("pos-a", 100, "refund.failed", {**money, "state": "not_charged"})
        store.ingest([failed])
        store.ingest(events)
        with store.db.tx() as tx:
            queue.on_new(tx, events, contacts, now_rfc3339())
        assert promote(store, now_rfc3339()) == 2
        rows = store.db.rows("SELECT txn_id, facts FROM notifications ORDER BY txn_id")
        assert [(r["txn_id"], json.loads(r["facts"])["outcome"]) for r in rows] == [
            ("R0", "failed"),
            ("R1", "completed"),
        ]
    finally:
        store.close()


def test_news_arriving_while_the_sender_looks_is_looked_at_again(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a refund's request (with an address) and its unconfirmed completion stored
    WHEN its voucher is ingested after the sender read the contacts but before it read
    the events (so it decides "not final yet") THEN the contact stays marked, and the
    sender's next look queues the one notification."""
    store = Store(store_url)

    def ingest(part: list[dict[str, Any]]) -> None:
        store.ingest(part)
        with store.db.tx() as tx:
            queue.on_new(tx, part, contacts, now_rfc3339())

    read = promote_module.told_events

    def late(db: Any, txn_ids: list[str]) -> Any:
        told = read(db, txn_ids)  # the events as they were
        ingest(events[2:])  # the voucher arrives meanwhile
        return told

    try:
        events, contacts = _burst(1)
        ingest(events[:2])
        monkeypatch.setattr(promote_module, "told_events", late)
        assert promote(store, now_rfc3339()) == 0
        monkeypatch.setattr(promote_module, "told_events", read)
        assert _count(store, "SELECT COUNT(*) AS n FROM contacts WHERE news > 0") == 1
        assert promote(store, now_rfc3339()) == 1
        assert _count(store, "SELECT COUNT(*) AS n FROM notifications") == 1
    finally:
        store.close()


def test_a_sender_dying_mid_move_leaves_the_contact_marked_and_tells_once(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a final refund's contact marked WHEN the sender's move breaks off after it
    deleted the contact, before its notification row is written (a process dying there)
    THEN nothing of it stayed: the contact is still there and marked, no row; AND WHEN the
    sender looks again THEN one notification is queued and the contact is gone."""
    store = Store(store_url)
    try:
        events, contacts = _burst(1)
        store.ingest(events)
        with store.db.tx() as tx:
            queue.on_new(tx, events, contacts, now_rfc3339())
        for tx_class in (db._SqliteTx, db._PgTx):
            execute = tx_class.execute

            def dying(self: Any, sql: str, args: Sequence[Any] = (), execute: Any = execute) -> int:
                if sql.startswith("INSERT INTO notifications"):
                    raise SystemExit("killed between the two statements")
                return int(execute(self, sql, args))

            monkeypatch.setattr(tx_class, "execute", dying)
        with pytest.raises(SystemExit):
            promote(store, now_rfc3339())
        monkeypatch.undo()
        assert _count(store, "SELECT COUNT(*) AS n FROM contacts WHERE news > 0") == 1
        assert _count(store, "SELECT COUNT(*) AS n FROM notifications") == 0
        assert promote(store, now_rfc3339()) == 1
        assert promote(store, now_rfc3339()) == 0
        assert _count(store, "SELECT COUNT(*) AS n FROM notifications") == 1
        assert _count(store, "SELECT COUNT(*) AS n FROM contacts") == 0
    finally:
        store.close()


def test_a_refund_that_cannot_be_told_never_holds_the_others_up(tmp_path: Path) -> None:
    """GIVEN two final refunds with addresses, one whose kept contact is damaged (not
    JSON) and whose stored voucher cannot be read WHEN the sender promotes THEN the other
    is queued, the damaged one is not (logged, no longer marked), and nothing raises."""
    store = Store(f"sqlite://{tmp_path / 'host.db'}")
    try:
        events, contacts = _burst(2)
        store.ingest(events)
        with store.db.tx() as tx:
            queue.on_new(tx, events, contacts, now_rfc3339())
            tx.execute("UPDATE contacts SET contact = 'not json' WHERE txn_id = 'R0'")
            tx.execute(
                "UPDATE events SET envelope = '{\"type\": ' WHERE txn_id = 'R0'"
                " AND type = 'receipt.printed'"
            )
        assert promote(store, now_rfc3339()) == 1
        assert store.db.rows("SELECT txn_id FROM notifications") == [{"txn_id": "R1"}]
        assert store.db.rows("SELECT txn_id, news FROM contacts") == [{"txn_id": "R0", "news": 0}]
    finally:
        store.close()

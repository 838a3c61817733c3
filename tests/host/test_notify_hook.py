"""The ingest's notification hook costs per batch, not per refund: a burst of refunds whose
request, outcome and voucher arrive in one batch is queued with one INSERT of all their
notifications, no contact ever written, and nothing rendered at ingest."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from posterm.host.db import Row, Tx
from posterm.host.notify import queue
from posterm.host.store import Store
from posterm.protocol.mqtt.events import envelope, now_rfc3339


class Counting:
    """A transaction that records each statement it is asked to run (one per call)."""

    def __init__(self, tx: Tx) -> None:
        self.tx, self.statements = tx, list[str]()

    def execute(self, sql: str, args: Sequence[Any] = ()) -> int:
        self.statements.append(sql)
        return self.tx.execute(sql, args)

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.statements.append(sql)
        self.tx.execute_many(sql, rows)

    def copy_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.statements.append(f"COPY {table}")
        self.tx.copy_rows(table, columns, rows)

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        self.statements.append(sql)
        return self.tx.rows(sql, args)


def _burst(count: int) -> tuple[list[dict[str, Any]], dict[str, dict[str, str]]]:
    events, contacts = [], {}
    for i in range(count):
        money = {"txn_id": f"R{i}", "amount": "12.50", "currency": "EUR", "reason": "other"}
        request = envelope("pos-a", 3 * i + 1, "refund.requested", {**money, "state": "in_doubt"})
        contacts[str(request["event_id"])] = {"email": f"kunde{i}@example.org"}
        events += [
            request,
            envelope("pos-a", 3 * i + 2, "refund.completed", {**money, "state": "approved"}),
            envelope("pos-a", 3 * i + 3, "receipt.printed", {"txn_id": f"R{i}", "lines": []}),
        ]
    return events, contacts


def test_a_burst_in_one_batch_is_queued_with_a_fixed_number_of_statements(
    tmp_path: Path,
) -> None:
    """GIVEN 200 refunds with an address, request, completion and voucher in one batch
    WHEN the hook runs on the stored batch THEN 200 notifications are queued with the
    facts (not a rendered message) through a handful of statements whatever the count,
    one INSERT into the queue, and no contact is ever written to `contacts`."""
    store = Store(f"sqlite://{tmp_path / 'host.db'}")
    try:
        events, contacts = _burst(200)
        store.ingest(events)
        with store.db.tx() as tx:
            counting = Counting(tx)
            assert queue.on_new(counting, events, contacts, now_rfc3339()) == 200
        inserts = [s for s in counting.statements if s.startswith("INSERT INTO notifications")]
        assert len(inserts) == 1
        assert not [s for s in counting.statements if "contacts" in s.split("(")[0]]
        assert len(counting.statements) <= 4
        rows = store.db.rows("SELECT contact, facts, state FROM notifications ORDER BY txn_id")
        assert len(rows) == 200 and {r["state"] for r in rows} == {"queued"}
        facts = json.loads(rows[0]["facts"])
        assert facts["outcome"] == "completed" and facts["amount"] == "12.50"
        assert store.db.rows("SELECT COUNT(*) AS n FROM contacts")[0]["n"] == 0
    finally:
        store.close()


def test_a_refund_split_over_batches_keeps_its_contact_until_final(tmp_path: Path) -> None:
    """GIVEN a refund's request (with an address) in one batch WHEN its completion and
    voucher come in the next THEN the contact is kept in between, one notification is
    queued at the end, and the contact row is gone."""
    store = Store(f"sqlite://{tmp_path / 'host.db'}")
    try:
        events, contacts = _burst(1)
        for part, expected in ((events[:1], (0, 1)), (events[1:], (1, 0))):
            store.ingest(part)
            with store.db.tx() as tx:
                queued = queue.on_new(tx, part, contacts, now_rfc3339())
            kept = store.db.rows("SELECT COUNT(*) AS n FROM contacts")[0]["n"]
            assert (queued, kept) == expected
        assert store.db.rows("SELECT state FROM notifications")[0]["state"] == "queued"
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
            assert queue.on_new(tx, events, contacts, now_rfc3339()) == 2
        rows = store.db.rows("SELECT txn_id, facts FROM notifications ORDER BY txn_id")
        assert [(r["txn_id"], json.loads(r["facts"])["outcome"]) for r in rows] == [
            ("R0", "failed"),
            ("R1", "completed"),
        ]
    finally:
        store.close()

"""Retention on real SQLite files: acknowledged events and finished transactions past the
cut-off go in bounded batches; unacked events, unresolved transactions, refundable sales,
receipts still to print and kv stay; no foreign key is left dangling."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from posterm.daemon.journal.errors import JournalError
from posterm.daemon.journal.retention import (
    PruneResult,
    default_age,
    prune,
    prune_step,
)
from posterm.daemon.journal.store import Journal, Tx
from posterm.protocol.mqtt.events import rfc3339
from tests.daemon.test_journal import snapshot
from tests.support.fleet import fault_data, receipt_data

WINDOW = 30  # refund window, days
BODY = {"lines": ["posterm", "12.50 EUR"]}


def ago(days: float) -> str:
    return rfc3339(datetime.now(UTC) - timedelta(days=days))


def sql(path: Path, statement: str, args: Any = ()) -> None:
    """Test set-up: write old timestamps straight into the file."""
    db = sqlite3.connect(path)
    try:
        db.execute(statement, args)
        db.commit()
    finally:
        db.close()


def backdate(path: Path, days: float, *txn_ids: str, created: float | None = None) -> None:
    """Make transactions (with their receipts and audit trail) `days` old."""
    marks = ", ".join("?" for _ in txn_ids)
    when, born = ago(days), ago(days if created is None else created)
    sql(
        path,
        f"UPDATE txns SET created_at = ?, updated_at = ? WHERE txn_id IN ({marks})",
        (born, when, *txn_ids),
    )
    sql(path, f"UPDATE receipts SET created_at = ? WHERE txn_id IN ({marks})", (when, *txn_ids))
    sql(path, f"UPDATE transitions SET at = ? WHERE txn_id IN ({marks})", (when, *txn_ids))


def sale(tx: Tx, txn_id: str, state: str = "approved", receipt: str | None = "printed") -> None:
    """A sale in `state`, with a customer receipt (printed or pending) unless None."""
    tx.insert_txn(
        txn_id=txn_id, kind="sale", state="in_doubt", amount=1250, currency="EUR", batch_no=1
    )
    if state in ("approved", "approved_unconfirmed"):
        tx.update_txn(
            txn_id, state="approved_unconfirmed", receipt_no=7, masked_pan="476173******0119"
        )
    if state != "in_doubt":
        tx.update_txn(txn_id, state=state)
    if receipt is not None:
        tx.add_receipt(txn_id=txn_id, copy="customer", mark="original", body=BODY, state=receipt)


def refund(tx: Tx, txn_id: str, sale_id: str, state: str = "approved") -> None:
    tx.insert_txn(
        txn_id=txn_id,
        kind="refund",
        state="in_doubt",
        amount=500,
        currency="EUR",
        ref_txn=sale_id,
        reason="goods_returned",
    )
    if state != "in_doubt":
        tx.update_txn(txn_id, state=state)
    tx.add_receipt(txn_id=txn_id, copy="customer", mark="original", body=BODY, state="printed")


def ids(journal: Journal) -> set[str]:
    return {t.txn_id for t in journal.list_txns(10_000)}


def run(journal: Journal, **kwargs: Any) -> PruneResult:
    return prune(journal, refund_window_days=WINDOW, **kwargs)


# -- the outbox --------------------------------------------------------------------------


def test_given_unacked_events_of_any_age_when_pruned_then_every_one_stays(
    journal: Journal, tmp_path: Path
) -> None:
    with journal.transaction() as tx:
        for i in range(5):
            tx.emit("fault.raised", fault_data(i))
    sql(tmp_path / "journal.db", "UPDATE outbox SET occurred_at = ?", (ago(3650),))
    far = datetime.now(UTC) + timedelta(days=3650)
    result = run(journal, older_than=timedelta(0), now=far)
    assert result.outbox == 0 and journal.outbox_depth() == 5
    assert [e.seq for e in journal.outbox_pending()] == [1, 2, 3, 4, 5]


def test_given_acked_events_when_pruned_then_old_ones_go_and_recent_ones_stay(
    journal: Journal, tmp_path: Path
) -> None:
    with journal.transaction() as tx:
        events = [tx.emit("receipt.printed", receipt_data(i))["event_id"] for i in range(6)]
    journal.outbox_ack(events[:4])
    sql(
        tmp_path / "journal.db",
        "UPDATE outbox SET occurred_at = ? WHERE seq IN (1, 2, 5)",
        (ago(WINDOW + 31),),
    )
    result = run(journal)  # the default age: window + 30 days
    assert result == PruneResult(outbox=2)
    left = journal.outbox_since(1)
    assert [(e.seq, e.acked_at is not None) for e in left] == [
        (3, True),
        (4, True),
        (5, False),
        (6, False),
    ]


# -- transactions ------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["in_doubt", "approved_unconfirmed", "awaiting_approval"])
def test_given_an_unresolved_or_waiting_txn_of_any_age_then_it_stays(
    journal: Journal, tmp_path: Path, state: str
) -> None:
    with journal.transaction() as tx:
        if state == "awaiting_approval":
            tx.insert_txn(
                txn_id="R1",
                kind="refund",
                state=state,
                amount=500,
                currency="EUR",
                reason="goods_returned",
            )
        else:
            sale(tx, "R1", state, receipt=None)
    backdate(tmp_path / "journal.db", 3650, "R1")
    far = datetime.now(UTC) + timedelta(days=3650)
    result = run(journal, older_than=timedelta(0), now=far)
    assert result.txns == 0 and ids(journal) == {"R1"}
    assert len(journal.transitions("R1")) >= 1


def test_given_finished_txns_when_pruned_then_they_go_with_receipts_and_trail(
    journal: Journal, tmp_path: Path
) -> None:
    """GIVEN old approved, declined, failed and voided sales (with a void) and mode changes,
    and a recent approved sale WHEN pruned with the default age THEN the old ones go with
    their receipts and trails, old mode changes go, the recent rows and kv stay."""
    with journal.transaction() as tx:
        sale(tx, "S1")
        sale(tx, "S2", "declined", receipt="printed")
        sale(tx, "S3", "failed", receipt=None)
        sale(tx, "S4")
        tx.insert_txn(
            txn_id="V4", kind="void", state="in_doubt", amount=1250, currency="EUR", ref_txn="S4"
        )
        tx.update_txn("V4", state="approved")
        tx.add_receipt(txn_id="V4", copy="customer", mark="original", body=BODY, state="printed")
        tx.update_txn("S4", state="voided")
        sale(tx, "NEW")
        tx.record_mode("starting", "ready", "started")
        tx.record_mode("ready", "pt_down", "no answer")
        tx.kv_set("batch_no", "7")
    path = tmp_path / "journal.db"
    backdate(path, WINDOW + 31, "S1", "S2", "S3", "S4", "V4")
    sql(
        path,
        "UPDATE transitions SET at = ? WHERE txn_id IS NULL AND to_state = 'ready'",
        (ago(WINDOW + 31),),
    )
    kv_before = snapshot(path)["kv"]
    old_trail = [t for t in journal.transitions() if t.txn_id != "NEW" and t.to_state != "pt_down"]
    result = run(journal)
    assert ids(journal) == {"NEW"}
    assert result.txns == 5 and result.receipts == 4 and not result.more
    assert {r.txn_id for r in journal.receipts_of("NEW")} == {"NEW"}
    assert [r for t in ("S1", "S2", "S4", "V4") for r in journal.receipts_of(t)] == []
    trail = journal.transitions()
    assert {t.txn_id for t in trail} == {"NEW", None}
    assert [t.to_state for t in trail if t.txn_id is None] == ["pt_down"]
    assert result.transitions == len(old_trail)
    assert snapshot(path)["kv"] == kv_before


def test_given_a_sale_within_the_refund_window_then_it_stays_even_with_a_tiny_cut_off(
    journal: Journal,
) -> None:
    """GIVEN sales made now WHEN pruned ten days later with a cut-off of zero THEN they
    stay (a refund may still reference a sale); 31 days later they go, an unreferenced
    refund of the same age does not wait for the window."""
    with journal.transaction() as tx:
        sale(tx, "S1")
        sale(tx, "D1", "declined")
        tx.insert_txn(
            txn_id="U1",
            kind="refund",
            state="awaiting_approval",
            amount=500,
            currency="EUR",
            reason="goods_returned",
        )
        tx.update_txn("U1", state="rejected")
    later = datetime.now(UTC) + timedelta(days=10)
    result = run(journal, older_than=timedelta(0), now=later)
    assert ids(journal) == {"S1", "D1"} and result.txns == 1
    result = run(journal, older_than=timedelta(0), now=later + timedelta(days=21))
    assert ids(journal) == set() and result.txns == 2


def test_given_a_cut_off_as_a_moment_then_the_window_still_guards(journal: Journal) -> None:
    with journal.transaction() as tx:
        sale(tx, "S1")
    result = run(journal, older_than=datetime.now(UTC) + timedelta(days=1))
    assert result.txns == 0 and ids(journal) == {"S1"}


def test_given_a_sale_with_a_recent_refund_then_both_stay_until_both_are_old(
    journal: Journal, tmp_path: Path
) -> None:
    """GIVEN an old sale and its recent refund WHEN pruned THEN both stay (no dangling
    ref_txn); GIVEN both old THEN both go together, no foreign key error."""
    with journal.transaction() as tx:
        sale(tx, "S1")
        refund(tx, "R1", "S1")
        refund(tx, "R2", "S1", state="declined")
    path = tmp_path / "journal.db"
    backdate(path, WINDOW + 60, "S1", "R2")
    backdate(path, 5, "R1")
    assert run(journal).txns == 0 and ids(journal) == {"S1", "R1", "R2"}
    backdate(path, WINDOW + 31, "R1")
    result = run(journal)
    assert result.txns == 3 and result.receipts == 3 and ids(journal) == set()
    assert journal.transitions() == []
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    db.close()


def test_given_a_refund_of_an_old_sale_still_in_doubt_then_both_stay(
    journal: Journal, tmp_path: Path
) -> None:
    with journal.transaction() as tx:
        sale(tx, "S1")
        refund(tx, "R1", "S1", state="in_doubt")
    backdate(tmp_path / "journal.db", 3650, "S1", "R1")
    assert run(journal).txns == 0 and ids(journal) == {"S1", "R1"}


def test_given_a_pending_receipt_then_its_txn_and_its_sale_stay(
    journal: Journal, tmp_path: Path
) -> None:
    """GIVEN old finished transactions whose customer receipt is still pending (the sale
    itself, or a refund of a sale) WHEN pruned THEN they stay with their whole tree."""
    with journal.transaction() as tx:
        sale(tx, "S1", receipt="pending")
        sale(tx, "S2")
        refund(tx, "R2", "S2")
        tx.add_receipt(txn_id="R2", copy="merchant", mark="original", body=BODY)  # pending
    backdate(tmp_path / "journal.db", 3650, "S1", "S2", "R2")
    assert run(journal).txns == 0 and ids(journal) == {"S1", "S2", "R2"}
    assert len(journal.pending_receipts()) == 2


def test_given_an_approved_sale_without_its_customer_receipt_then_it_stays(
    journal: Journal, tmp_path: Path
) -> None:
    """Recovery still owes it a RECOVERED receipt (money rule 3)."""
    with journal.transaction() as tx:
        sale(tx, "S1", receipt=None)
    backdate(tmp_path / "journal.db", 3650, "S1")
    assert run(journal).txns == 0
    assert [t.txn_id for t in journal.approved_without_receipt()] == ["S1"]


# -- batches, kv, the seq ----------------------------------------------------------------


def test_given_a_batch_of_10_then_each_step_deletes_at_most_10_rows_per_table(
    journal: Journal, tmp_path: Path
) -> None:
    """GIVEN 25 old sales (3 trail rows, 1 receipt each), 2 of them with a refund, 35 acked
    events and 12 mode changes WHEN stepped with batch 10 THEN no step deletes more than 10
    rows of a table, the loop ends, and everything old is gone."""
    with journal.transaction() as tx:
        for n in range(25):
            sale(tx, f"S{n:02}")
        refund(tx, "R00", "S00")
        refund(tx, "R01", "S01")
        events = [tx.emit("receipt.printed", receipt_data(i))["event_id"] for i in range(35)]
        for n in range(12):
            tx.record_mode("ready", "busy", f"n{n}")
    journal.outbox_ack(events)
    path = tmp_path / "journal.db"
    backdate(path, WINDOW + 31, *ids(journal))
    sql(path, "UPDATE transitions SET at = ?", (ago(WINDOW + 31),))
    sql(path, "UPDATE outbox SET occurred_at = ?", (ago(WINDOW + 31),))
    total, steps = PruneResult(more=True), 0
    while total.more:
        step = prune_step(journal, refund_window_days=WINDOW, batch=10)
        assert max(step.outbox, step.txns, step.receipts, step.transitions) <= 10, step
        total += step
        steps += 1
        assert steps < 50
    assert total.outbox == 35 and total.txns == 27 and total.receipts == 27
    assert total.transitions == 25 * 3 + 2 * 2 + 12
    assert ids(journal) == set() and journal.transitions() == []
    assert journal.outbox_since(1) == []


def test_given_one_tree_larger_than_the_batch_then_it_goes_whole_in_one_step(
    journal: Journal, tmp_path: Path
) -> None:
    with journal.transaction() as tx:
        sale(tx, "S1")
        for n in range(3):
            refund(tx, f"R{n}", "S1")
    backdate(tmp_path / "journal.db", 3650, *ids(journal))
    step = prune_step(journal, refund_window_days=WINDOW, batch=2)
    assert step.txns == 4 and step.more and ids(journal) == set()


def test_max_steps_bounds_the_loop_and_says_more(journal: Journal, tmp_path: Path) -> None:
    with journal.transaction() as tx:
        for n in range(5):
            sale(tx, f"S{n}")
    backdate(tmp_path / "journal.db", 3650, *ids(journal))
    first = run(journal, batch=3, max_steps=1)
    assert first.txns == 1 and first.more  # 3 trail rows per sale: one sale fills a step
    rest = run(journal, batch=3)
    assert rest.txns == 4 and not rest.more and ids(journal) == set()


def test_given_a_prune_then_kv_is_untouched_and_the_next_seq_follows(
    journal: Journal, tmp_path: Path
) -> None:
    """GIVEN every event acked and old WHEN all are pruned THEN the seq counter in kv is as
    it was and the next event gets the seq after the last one: gapless for the host."""
    with journal.transaction() as tx:
        events = [tx.emit("receipt.printed", receipt_data(i))["event_id"] for i in range(4)]
    journal.outbox_ack(events)
    path = tmp_path / "journal.db"
    sql(path, "UPDATE outbox SET occurred_at = ?", (ago(3650),))
    kv_before = snapshot(path)["kv"]
    assert run(journal).outbox == 4 and journal.outbox_since(1) == []
    assert snapshot(path)["kv"] == kv_before
    with journal.transaction() as tx:
        assert tx.emit("receipt.printed", receipt_data(4))["seq"] == 5
    journal.close()
    reopened = Journal(path, "pos-1")
    with reopened.transaction() as tx:
        assert tx.emit("receipt.printed", receipt_data(5))["seq"] == 6
    reopened.close()


def test_given_a_writer_thread_emitting_while_pruning_then_no_unacked_event_is_lost(
    journal: Journal,
) -> None:
    """GIVEN a thread emitting events and acking every other one WHEN the owner prunes
    with a cut-off in the future all along THEN every unacked event is still there, only
    acked ones went, and the seqs of all events ever emitted are gapless."""
    emitted: list[tuple[int, str]] = []
    acked: set[str] = set()
    errors: list[BaseException] = []
    done = threading.Event()

    def writer() -> None:
        try:
            for i in range(300):
                with journal.transaction() as tx:
                    event = tx.emit("receipt.printed", receipt_data(i))
                emitted.append((event["seq"], event["event_id"]))
                if i % 2:
                    journal.outbox_ack([event["event_id"]])
                    acked.add(event["event_id"])
        except BaseException as exc:  # reported below: a thread's error must fail the test
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    later = datetime.now(UTC) + timedelta(days=1)
    pruned = 0
    while not done.is_set():
        pruned += prune_step(
            journal, older_than=timedelta(0), refund_window_days=WINDOW, batch=7, now=later
        ).outbox
    thread.join(60)
    pruned += run(journal, older_than=timedelta(0), now=later).outbox
    assert errors == []
    assert [seq for seq, _ in emitted] == list(range(1, 301))
    unacked = [event_id for _, event_id in emitted if event_id not in acked]
    assert [e.event_id for e in journal.outbox_pending(1000)] == unacked
    assert pruned == len(acked) == 150 and len(journal.outbox_since(1, 1000)) == 150


# -- telemetry and space -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"batch": 0}, "batch"),
        ({"batch": True}, "batch"),
        ({"older_than": timedelta(days=-1)}, "negative"),
        ({"older_than": datetime(2026, 1, 1)}, "time zone"),
        ({"now": datetime(2026, 1, 1)}, "time zone"),
        ({"older_than": 30}, "datetime or a timedelta"),
        ({"refund_window_days": -1}, "refund_window_days"),
        ({"max_steps": 0}, "max_steps"),
    ],
)
def test_given_bad_arguments_then_refused_and_nothing_deleted(
    journal: Journal, tmp_path: Path, kwargs: dict[str, Any], why: str
) -> None:
    with journal.transaction() as tx:
        sale(tx, "S1")
    backdate(tmp_path / "journal.db", 3650, "S1")
    before = snapshot(tmp_path / "journal.db")
    with pytest.raises(JournalError, match=why):
        prune(journal, **{"refund_window_days": WINDOW, **kwargs})
    assert snapshot(tmp_path / "journal.db") == before


def test_the_default_age_is_the_refund_window_plus_30_days() -> None:
    assert default_age(30) == timedelta(days=60) and default_age(14) == timedelta(days=44)

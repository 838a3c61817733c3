"""The journal on real SQLite files: one transaction per step, rows as frozen dataclasses,
masked PANs only, the audit trail, receipts, kv (the outbox: test_outbox.py)."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from posterm.daemon.journal.errors import JournalError, TransitionError
from posterm.daemon.journal.rows import new_txn_id
from posterm.daemon.journal.store import Journal, Tx
from tests.support.fleet import txn_data


def add_sale(tx: Tx, txn_id: str = "T1", *, amount: int = 1250, key: str | None = None) -> None:
    tx.insert_txn(
        txn_id=txn_id,
        kind="sale",
        state="in_doubt",
        amount=amount,
        currency="EUR",
        idem_key=key,
        batch_no=1,
    )


def approve(tx: Tx, txn_id: str) -> None:
    tx.update_txn(txn_id, state="approved_unconfirmed", receipt_no=7, masked_pan="476173******0119")
    tx.update_txn(txn_id, state="approved", note="completion seen")


def add_refund(tx: Tx, txn_id: str, amount: int, state: str = "in_doubt") -> None:
    tx.insert_txn(
        txn_id=txn_id,
        kind="refund",
        state=state,
        amount=amount,
        currency="EUR",
        ref_txn="T1",
        reason="goods_returned",
    )


def snapshot(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, read through a separate connection."""
    db = sqlite3.connect(path)
    try:
        tables = ("txns", "receipts", "transitions", "outbox", "kv", "schema_version")
        return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables}
    finally:
        db.close()


def test_given_a_new_file_then_it_is_wal_with_full_sync(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.db", "pos-1")
    db = sqlite3.connect(tmp_path / "j.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    assert journal._conn().execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    journal.close()
    journal.close()  # idempotent
    with pytest.raises(JournalError, match="closed"):
        journal.get_txn("T1")


def test_given_a_step_when_committed_then_row_transitions_and_event_are_there(
    journal: Journal,
) -> None:
    with journal.transaction() as tx:
        add_sale(tx)
        approve(tx, "T1")
        event = tx.emit("sale.approved", txn_data("T1", amount="12.50"))
    txn = journal.get_txn("T1")
    assert txn is not None and txn.state == "approved" and txn.receipt_no == 7
    assert txn.masked_pan == "476173******0119" and txn.amount == 1250
    with pytest.raises(dataclasses.FrozenInstanceError):
        txn.state = "declined"  # type: ignore[misc]
    trail = journal.transitions("T1")
    assert [(t.from_state, t.to_state) for t in trail] == [
        (None, "in_doubt"),
        ("in_doubt", "approved_unconfirmed"),
        ("approved_unconfirmed", "approved"),
    ]
    assert trail[-1].note == "completion seen"
    (queued,) = journal.outbox_pending()
    assert queued.envelope == event and queued.seq == 1 and queued.acked_at is None
    assert event["terminal"] == "pos-1" and event["type"] == "sale.approved"


def test_given_an_update_without_a_state_change_then_no_transition(journal: Journal) -> None:
    with journal.transaction() as tx:
        add_sale(tx)
        tx.update_txn("T1", state="in_doubt", trace=12)
    assert len(journal.transitions("T1")) == 1 and journal.get_txn("T1").trace == 12  # type: ignore[union-attr]


def test_given_an_exception_in_the_block_then_nothing_of_it_stays(
    journal: Journal, tmp_path: Path
) -> None:
    before = snapshot(tmp_path / "journal.db")
    with pytest.raises(RuntimeError, match="power"), journal.transaction() as tx:
        add_sale(tx)
        tx.emit("sale.in_doubt", txn_data("T1", state="in_doubt"))
        tx.kv_set("batch_no", "2")
        raise RuntimeError("power cut")
    assert snapshot(tmp_path / "journal.db") == before


def test_given_an_illegal_transition_then_refused_and_unchanged(journal: Journal) -> None:
    with journal.transaction() as tx:
        add_sale(tx)
    with pytest.raises(TransitionError, match="cannot go") as info, journal.transaction() as tx:
        tx.update_txn("T1", state="voided")
    assert isinstance(info.value, JournalError) and isinstance(info.value, ValueError)
    assert journal.get_txn("T1").state == "in_doubt"  # type: ignore[union-attr]
    assert len(journal.transitions("T1")) == 1


SALE = {"txn_id": "T9", "kind": "sale", "state": "in_doubt", "amount": 100, "currency": "EUR"}


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"colour": "red"}, "unknown transaction fields"),
        ({"kind": "gift"}, "unknown transaction kind"),
        ({"amount": 0}, "above zero"),
        ({"amount": -5}, "negative"),
        ({"amount": 12.5}, "whole number"),
        ({"amount": "12.50"}, "whole number"),
        ({"amount": True}, "whole number"),
        ({"currency": "XXX"}, "unknown currency"),
        ({"currency": None}, "needs currency"),
        ({"txn_id": None}, "needs txn_id"),
        ({"txn_id": "T 1"}, "txn_id"),
        ({"txn_id": "T1"}, "already exists"),
        ({"state": "flying"}, "unknown transaction state"),
        ({"state": "approved"}, "cannot go"),
        ({"kind": "void"}, "needs ref_txn"),
        ({"ref_txn": "TNOSUCH"}, "not in the journal"),
        ({"idem_key": "k1"}, "already used"),
        ({"idem_key": ""}, "1-128"),
        ({"trace": "12"}, "whole number"),
        ({"pt_receipt_lines": "one line"}, "list of strings"),
        ({"created_at": "2020-01-01T00:00:00+00:00"}, "set by the journal"),
        ({"card_name": 5}, "must be text"),
    ],
)
def test_given_a_bad_new_transaction_then_refused_and_nothing_written(
    journal: Journal, tmp_path: Path, change: dict[str, Any], why: str
) -> None:
    with journal.transaction() as tx:
        add_sale(tx, key="k1")
    before = snapshot(tmp_path / "journal.db")
    with pytest.raises(JournalError, match=why), journal.transaction() as tx:
        tx.insert_txn(**{**SALE, **change})
    assert snapshot(tmp_path / "journal.db") == before


@pytest.mark.parametrize(
    ("txn_id", "change", "why"),
    [
        ("TNOSUCH", {"trace": 1}, "no transaction"),
        ("T1", {"kind": "refund"}, "cannot update"),
        ("T1", {"idem_key": "other"}, "cannot update"),
        ("T1", {"created_at": "2020-01-01T00:00:00+00:00"}, "cannot update"),
        ("T1", {"amount": 0}, "above zero"),
        ("T1", {"receipt_no": "7"}, "whole number"),
        ("T1", {"ref_txn": "TNOSUCH"}, "not in the journal"),
    ],
)
def test_given_a_bad_update_then_refused_and_nothing_written(
    journal: Journal, tmp_path: Path, txn_id: str, change: dict[str, Any], why: str
) -> None:
    with journal.transaction() as tx:
        add_sale(tx)
    before = snapshot(tmp_path / "journal.db")
    with pytest.raises(JournalError, match=why), journal.transaction() as tx:
        tx.update_txn(txn_id, **change)
    assert snapshot(tmp_path / "journal.db") == before


def test_an_idempotency_key_is_unique_per_kind_only(journal: Journal) -> None:
    with journal.transaction() as tx:
        add_sale(tx, "T1", key="order-1")
        approve(tx, "T1")
        tx.insert_txn(
            txn_id="T2",
            kind="refund",
            state="in_doubt",
            amount=100,
            currency="EUR",
            idem_key="order-1",
            ref_txn="T1",
        )
    assert journal.find_by_idem_key("sale", "order-1").txn_id == "T1"  # type: ignore[union-attr]
    assert journal.find_by_idem_key("refund", "order-1").txn_id == "T2"  # type: ignore[union-attr]
    assert journal.find_by_idem_key("void", "order-1") is None


def test_reads_by_state_and_the_newest_first_listing(journal: Journal) -> None:
    with journal.transaction() as tx:
        for n in range(1, 6):
            add_sale(tx, f"T{n}")
        approve(tx, "T2")
        approve(tx, "T4")
    assert [t.txn_id for t in journal.txns_in_state("in_doubt")] == ["T1", "T3", "T5"]
    assert [t.txn_id for t in journal.txns_in_state("approved", "in_doubt")] == [
        "T1",
        "T2",
        "T3",
        "T4",
        "T5",
    ]
    assert journal.txns_in_state() == []
    assert [t.txn_id for t in journal.list_txns(3)] == ["T5", "T4", "T3"]


def test_refunded_total_counts_every_refund_not_definitively_off(journal: Journal) -> None:
    """GIVEN refunds of a sale in every state WHEN totalled THEN waiting, in-doubt and
    approved ones count (they may still move money) and declined, failed, rejected and
    PT-reversed ones do not."""
    with journal.transaction() as tx:
        add_sale(tx, amount=10000)
        approve(tx, "T1")
        add_refund(tx, "R1", 100)
        tx.update_txn("R1", state="approved")
        add_refund(tx, "R2", 200)  # in doubt
        add_refund(tx, "R3", 400, state="awaiting_approval")
        add_refund(tx, "R4", 800, state="awaiting_approval")
        tx.update_txn("R4", state="rejected")
        add_refund(tx, "R5", 1600)
        tx.update_txn("R5", state="declined")
        add_refund(tx, "R6", 3200)
        tx.update_txn("R6", state="failed")
        add_refund(tx, "R7", 50)
        tx.update_txn("R7", state="approved_unconfirmed")
        tx.update_txn("R7", state="not_charged")
    assert journal.refunded_total("T1") == 100 + 200 + 400
    assert journal.refunded_total("T1", ("approved",)) == 100
    assert journal.refunded_total("TNOSUCH") == 0


def test_receipts_from_pending_to_printed(journal: Journal) -> None:
    with journal.transaction() as tx:
        add_sale(tx)
        approve(tx, "T1")
        first = tx.add_receipt(txn_id="T1", copy="customer", mark="original", body={"n": 1})
        second = tx.add_receipt(txn_id="T1", copy="merchant", mark="original", body={"n": 2})
    assert [r.receipt_id for r in journal.pending_receipts()] == [first, second]
    with journal.transaction() as tx:
        tx.set_receipt_state(first, "pending", mark="recovered")
        tx.set_receipt_state(second, "printed")
    (pending,) = journal.pending_receipts()
    assert pending.receipt_id == first and pending.mark == "recovered" and pending.body == {"n": 1}
    printed = journal.receipts_of("T1")[1]
    assert printed.state == "printed" and printed.printed_at is not None
    with journal.transaction() as tx:
        tx.set_receipt(first, state="printed")
    assert journal.pending_receipts() == []


@pytest.mark.parametrize(
    ("action", "why"),
    [
        (
            lambda tx: tx.add_receipt(txn_id="T1", copy="shop", mark="original", body={}),
            "not 'shop'",
        ),
        (
            lambda tx: tx.add_receipt(txn_id="T1", copy="customer", mark="copy", body={}),
            "not 'customer' / 'copy'",
        ),
        (
            lambda tx: tx.add_receipt(
                txn_id="T1", copy="customer", mark="original", body={}, state="lost"
            ),
            "'lost'",
        ),
        (
            lambda tx: tx.add_receipt(txn_id="T1", copy="customer", mark="original", body=[]),
            "JSON object",
        ),
        (
            lambda tx: tx.add_receipt(
                txn_id="T1", copy="customer", mark="original", body={"x": {1, 2}}
            ),
            "not plain JSON",
        ),
        (
            lambda tx: tx.add_receipt(txn_id="TNOSUCH", copy="customer", mark="original", body={}),
            "no transaction",
        ),
        (lambda tx: tx.set_receipt_state(999, "printed"), "no receipt 999"),
        (lambda tx: tx.set_receipt_state(1, "burnt"), "not 'burnt'"),
        (lambda tx: tx.set_receipt_state(1, "pending"), "printed: it cannot change"),
        (lambda tx: tx.set_receipt_state(1, "printed", mark="recovered"), "cannot change"),
        (
            lambda tx: tx.set_receipt_state(2, "pending", mark="original"),
            "duplicate cannot become original",
        ),
        (lambda tx: tx.set_receipt_state(2, "pending", mark="shiny"), "'shiny'"),
    ],
)
def test_given_a_bad_receipt_change_then_refused_and_nothing_written(
    journal: Journal, tmp_path: Path, action: Any, why: str
) -> None:
    with journal.transaction() as tx:
        add_sale(tx)
        approve(tx, "T1")
        tx.add_receipt(txn_id="T1", copy="customer", mark="original", body={}, state="printed")
        tx.add_receipt(txn_id="T1", copy="customer", mark="duplicate", body={})
    before = snapshot(tmp_path / "journal.db")
    with pytest.raises(JournalError, match=why), journal.transaction() as tx:
        action(tx)
    assert snapshot(tmp_path / "journal.db") == before


def test_kv_values_are_durable_and_the_journal_keeps_its_own(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    journal = Journal(path, "pos-1")
    with journal.transaction() as tx:
        tx.kv_set("batch_no", "4")
        tx.kv_set("batch_no", "5")
        assert tx.kv_get("batch_no") == "5"
    for key, value, why in [
        ("outbox_seq", "1", "belongs to the journal"),
        ("terminal_id", "pos-2", "belongs to the journal"),
        ("", "x", "1-64"),
        ("batch_no", 6, "text"),
    ]:
        with pytest.raises(JournalError, match=why), journal.transaction() as tx:
            tx.kv_set(key, value)  # type: ignore[arg-type]
    journal.close()
    journal = Journal(path, "pos-1")
    assert journal.kv_get("batch_no") == "5" and journal.kv_get("nothing") is None
    journal.close()


def test_transactions_do_not_nest_and_a_finished_tx_is_dead(journal: Journal) -> None:
    with journal.transaction() as tx:
        add_sale(tx)
        with pytest.raises(JournalError, match="do not nest"), journal.transaction():
            pass
        tx.emit("sale.in_doubt", txn_data("T1", state="in_doubt"))
    with pytest.raises(JournalError, match="over"):
        tx.emit("sale.declined", txn_data("T0", state="declined"))
    assert journal.get_txn("T1") is not None and journal.outbox_depth() == 1


def test_given_a_journal_of_another_terminal_then_refused(tmp_path: Path) -> None:
    Journal(tmp_path / "j.db", "pos-1").close()
    with pytest.raises(JournalError, match="journal of terminal 'pos-1', not 'pos-2'"):
        Journal(tmp_path / "j.db", "pos-2")
    with pytest.raises(JournalError, match="terminal id"):
        Journal(tmp_path / "k.db", "pos 1")


def test_given_a_file_that_is_no_journal_then_a_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not an SQLite file at all, just text" * 100)
    with pytest.raises(JournalError, match=r"junk\.db: file is not a database"):
        Journal(junk, "pos-1")
    with pytest.raises(JournalError, match="is a directory"):
        Journal(tmp_path, "pos-1")


def test_new_txn_ids_are_short_readable_and_unique() -> None:
    ids = {new_txn_id() for _ in range(5000)}
    assert len(ids) == 5000
    for txn_id in list(ids)[:50]:
        assert len(txn_id) == 11 and txn_id[0] == "T"
        assert not set(txn_id[1:]) & set("ILOU")

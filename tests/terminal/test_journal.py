"""The journal on real SQLite files: one transaction per step, masked PANs only, a gapless
outbox sequence, migrations, and nothing half-written after a SIGKILL."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from posterm.daemon.journal import migrations
from posterm.daemon.journal.store import Journal, JournalError
from posterm.daemon.states import TxnState


def _sale(tx, txn_id: str = "T1", key: str | None = None) -> None:  # type: ignore[no-untyped-def]
    tx.insert_txn(
        txn_id=txn_id,
        kind="sale",
        state=TxnState.IN_DOUBT,
        amount=1250,
        currency="EUR",
        idem_key=key,
        batch_no=1,
    )


def test_state_change_and_event_commit_together(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.db", "pos-1")
    with journal.transaction() as tx:
        _sale(tx)
        tx.update_txn(
            "T1", state=TxnState.APPROVED_UNCONFIRMED, receipt_no=7, masked_pan="476173******0119"
        )
        event = tx.emit("sale.approved", {"txn_id": "T1"})
    assert journal.get_txn("T1").state == "approved_unconfirmed"  # type: ignore[union-attr]
    (queued,) = journal.outbox()
    assert queued == event and queued["seq"] == 1 and queued["terminal"] == "pos-1"
    assert [t["to_state"] for t in journal.transitions("T1")] == [
        "in_doubt",
        "approved_unconfirmed",
    ]


def test_exception_rolls_back_row_and_event(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.db", "pos-1")
    with pytest.raises(RuntimeError), journal.transaction() as tx:
        _sale(tx)
        tx.emit("sale.approved", {"txn_id": "T1"})
        raise RuntimeError("power cut")
    assert journal.get_txn("T1") is None and journal.outbox() == []


@pytest.mark.parametrize("pan", ["4761739001010119", "476173900101****", "4761*****01190119", "x"])
def test_unmasked_pan_is_refused(tmp_path: Path, pan: str) -> None:
    journal = Journal(tmp_path / "j.db", "pos-1")
    with pytest.raises(JournalError), journal.transaction() as tx:
        _sale(tx)
        tx.update_txn("T1", masked_pan=pan)
    assert journal.get_txn("T1") is None


def test_illegal_transition_is_refused(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.db", "pos-1")
    with journal.transaction() as tx:
        _sale(tx)
    with pytest.raises(ValueError, match="cannot go"), journal.transaction() as tx:
        tx.update_txn("T1", state=TxnState.VOIDED)
    assert journal.get_txn("T1").state == "in_doubt"  # type: ignore[union-attr]


def test_idempotency_key_is_unique_per_kind(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.db", "pos-1")
    with journal.transaction() as tx:
        _sale(tx, "T1", key="k1")
    with pytest.raises(JournalError), journal.transaction() as tx:
        _sale(tx, "T2", key="k1")
    assert journal.find_by_idem_key("sale", "k1").txn_id == "T1"  # type: ignore[union-attr]


def test_seq_is_gapless_across_reopen_and_rollback(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.db", "pos-1")
    with journal.transaction() as tx:
        tx.emit("fault.raised", {})
    with pytest.raises(RuntimeError), journal.transaction() as tx:
        tx.emit("fault.cleared", {})
        raise RuntimeError
    journal.close()
    journal = Journal(tmp_path / "j.db", "pos-1")
    with journal.transaction() as tx:
        tx.emit("fault.cleared", {})
    assert [e["seq"] for e in journal.outbox()] == [1, 2]
    assert journal.outbox_ack([journal.outbox()[0]["event_id"]]) == 1
    assert journal.outbox_depth() == 1


def test_v1_file_is_migrated_with_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path, isolation_level=None)
    migrations.migrate(db, target=1)
    db.execute("INSERT INTO kv (key, value) VALUES ('batch_no', '4')")
    db.close()
    journal = Journal(path, "pos-1")
    assert journal.schema_version == len(migrations.MIGRATIONS) == 2
    assert journal.kv_get("batch_no") == "4"


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    Journal(path, "pos-1").close()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("INSERT INTO schema_version (version) VALUES (99)")
    db.close()
    with pytest.raises(JournalError, match="newer"):
        Journal(path, "pos-1")


def test_sigkill_mid_transaction_leaves_nothing_half_written(tmp_path: Path) -> None:
    """GIVEN a process that wrote a row and its event inside a transaction WHEN it is
    SIGKILLed before COMMIT THEN neither the row nor the event exists afterwards."""
    path = tmp_path / "j.db"
    script = textwrap.dedent(f"""
        import os, signal, sys
        from posterm.daemon.journal.store import Journal
        j = Journal({str(path)!r}, "pos-1")
        with j.transaction() as tx:
            tx.insert_txn(txn_id="T0", kind="sale", state="in_doubt", amount=1, currency="EUR")
        with j.transaction() as tx:
            tx.insert_txn(txn_id="T1", kind="sale", state="in_doubt", amount=1, currency="EUR")
            tx.emit("sale.approved", {{"txn_id": "T1"}})
            print("written", flush=True)
            sys.stdin.readline()
    """)
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "written"
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    journal = Journal(path, "pos-1")
    assert journal.get_txn("T0") is not None
    assert journal.get_txn("T1") is None and journal.outbox() == []

"""The journal's versioned schema: old files are brought up to date with their data, a
failed migration leaves the file as it was, a newer file is refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from posterm.daemon.journal import migrations
from posterm.daemon.journal.errors import MigrationError
from posterm.daemon.journal.migrations import MIGRATIONS, migrate, version
from posterm.daemon.journal.rows import TXN_FIELDS
from posterm.daemon.journal.store import Journal, JournalError
from tests.support.fleet import batch_data


def v1_file(path: Path) -> None:
    """A journal as schema 1 left it, with a sale, a receipt and an unsent event."""
    db = sqlite3.connect(path, isolation_level=None)
    assert migrate(db, target=1) == 1
    db.execute(
        "INSERT INTO txns (txn_id, kind, state, amount, currency, created_at, updated_at)"
        " VALUES ('T1', 'sale', 'approved', 1250, 'EUR', '2026-01-01T00:00:00.000+00:00',"
        " '2026-01-01T00:00:00.000+00:00')"
    )
    db.execute(
        "INSERT INTO receipts (txn_id, copy, mark, state, body, created_at)"
        " VALUES ('T1', 'customer', 'original', 'pending', '{}', '2026-01-01T00:00:00Z')"
    )
    db.execute(
        "INSERT INTO outbox (seq, event_id, type, occurred_at, envelope) VALUES (1,"
        " '0190b3c4-0000-7000-8000-000000000001', 'sale.approved', '2026-01-01T00:00:00Z',"
        " '{\"seq\": 1}')"
    )
    db.execute("INSERT INTO kv (key, value) VALUES ('outbox_seq', '1'), ('batch_no', '4')")
    db.close()


def indexes(path: Path) -> set[str]:
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
        return {r[0] for r in rows}
    finally:
        db.close()


def test_given_a_v1_file_when_opened_then_migrated_with_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    v1_file(path)
    assert indexes(path) == set()
    journal = Journal(path, "pos-1")
    assert journal.schema_version == len(MIGRATIONS)
    assert {"txns_state", "receipts_pending", "outbox_unacked"} <= indexes(path)
    assert journal.get_txn("T1").amount == 1250  # type: ignore[union-attr]
    assert [r.txn_id for r in journal.pending_receipts()] == ["T1"]
    assert journal.kv_get("batch_no") == "4" and journal.outbox_depth() == 1
    with journal.transaction() as tx:  # the seq goes on from the old file's
        assert tx.emit("batch.closed", batch_data())["seq"] == 2
    journal.close()
    db = sqlite3.connect(path)
    assert [r[0] for r in db.execute("SELECT version FROM schema_version ORDER BY version")] == [
        1,
        2,
        3,
        4,
    ]
    db.close()


def test_given_a_current_file_when_reopened_then_nothing_runs_again(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    Journal(path, "pos-1").close()
    Journal(path, "pos-1").close()
    db = sqlite3.connect(path, isolation_level=None)
    assert version(db) == len(MIGRATIONS)
    assert db.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == len(MIGRATIONS)
    db.close()


def test_given_a_failing_migration_then_the_file_stays_at_the_version_before(
    tmp_path: Path,
) -> None:
    """GIVEN a v1 file in which something already holds a name migration 2 needs WHEN
    opened THEN a JournalError names the migration, and the file is still v1 with all
    its data and none of migration 2's indexes."""
    path = tmp_path / "odd.db"
    v1_file(path)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("CREATE TABLE receipts_pending (x)")  # migration 2's 4th index name
    db.close()
    with pytest.raises(JournalError, match="migration to schema 2 failed"):
        Journal(path, "pos-1")
    db = sqlite3.connect(path, isolation_level=None)
    assert version(db) == 1
    assert db.execute("SELECT amount FROM txns WHERE txn_id = 'T1'").fetchone() == (1250,)
    db.close()
    assert indexes(path) == set()


def test_given_a_newer_file_then_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    Journal(path, "pos-1").close()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("INSERT INTO schema_version (version) VALUES (?)", (len(MIGRATIONS) + 1,))
    db.close()
    with pytest.raises(JournalError, match="newer than this posterm"):
        Journal(path, "pos-1")


@pytest.mark.parametrize("target", [-1, len(migrations.MIGRATIONS) + 1])
def test_given_an_unknown_target_then_refused(tmp_path: Path, target: int) -> None:
    db = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    with pytest.raises(MigrationError, match="no schema version"):
        migrate(db, target=target)
    assert version(db) == 0
    db.close()


def test_migrations_are_ordered_and_each_commits_with_its_version(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    for number in range(1, len(MIGRATIONS) + 1):
        assert migrate(db, target=number) == number
        assert version(db) == number and not db.in_transaction
    db.close()


def test_the_txns_table_has_exactly_the_columns_of_txn(tmp_path: Path) -> None:
    """`rows.Txn` is the one definition of a transaction's columns: the migrated schema
    holds exactly those, in that order."""
    db = sqlite3.connect(tmp_path / "j.db", isolation_level=None)
    migrate(db)
    columns = tuple(row[1] for row in db.execute("PRAGMA table_info(txns)"))
    assert columns == TXN_FIELDS

"""The journal's footprint on the SD card: its size (file, WAL, shared memory) as telemetry
reports it, and giving freed pages back where the file allows it."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from posterm.daemon.journal.retention import disk_free, journal_size, reclaim
from posterm.daemon.journal.store import Journal
from tests.daemon.test_retention import ago, run, sql
from tests.support.fleet import receipt_data


def test_journal_size_counts_the_file_its_wal_and_shm(journal: Journal, tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    with journal.transaction() as tx:
        tx.emit("receipt.printed", receipt_data(1, lines=["x" * 200] * 5))
    parts = [path, tmp_path / "journal.db-wal", tmp_path / "journal.db-shm"]
    assert all(p.exists() for p in parts)
    assert journal_size(path) == sum(p.stat().st_size for p in parts) > path.stat().st_size
    assert journal_size(tmp_path / "none.db") == 0
    assert 0 < disk_free(path) <= shutil.disk_usage(tmp_path).total


def test_reclaim_does_nothing_unless_auto_vacuum_is_incremental(journal: Journal) -> None:
    assert journal._conn().execute("PRAGMA auto_vacuum").fetchone()[0] == 0
    assert reclaim(journal) == 0


def test_given_an_incremental_file_when_pruned_then_reclaim_frees_pages(tmp_path: Path) -> None:
    """GIVEN a journal created with auto_vacuum=INCREMENTAL and many old acked events
    WHEN pruned and reclaimed THEN the free pages go back and the file shrinks."""
    path = tmp_path / "inc.db"
    db = sqlite3.connect(path)
    db.execute("PRAGMA auto_vacuum=INCREMENTAL")  # before the first table: takes effect
    db.close()
    journal = Journal(path, "pos-1")
    with journal.transaction() as tx:
        events = [
            tx.emit("receipt.printed", receipt_data(i, lines=["x" * 200] * 10))["event_id"]
            for i in range(200)
        ]
    journal.outbox_ack(events)
    sql(path, "UPDATE outbox SET occurred_at = ?", (ago(3650),))
    journal._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = path.stat().st_size
    assert run(journal).outbox == 200
    freed = reclaim(journal, pages=10_000)
    assert freed > 50 and reclaim(journal) == 0
    journal._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert path.stat().st_size < size / 2
    journal.close()

"""The journal's non-durable commits (`transaction(durable=False)`): no fsync of their
own, synced by the next durable commit, never carrying an event for the host."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from posterm.daemon.journal.errors import JournalError
from posterm.daemon.journal.store import Journal
from tests.daemon.test_journal import add_sale, snapshot

STRACE = ("strace", "-f", "-e", "trace=fsync,fdatasync,write", "-o")
STRACED = """
import os, sys
from posterm.daemon.journal.store import Journal
j = Journal(sys.argv[1], "pos-1")
os.write(2, b"--durable\\n")
for i in range(3):
    with j.transaction() as tx:
        tx.kv_set("k", str(i))
os.write(2, b"--not-durable\\n")
for i in range(3):
    with j.transaction(durable=False) as tx:
        tx.kv_set("k", str(i))
os.write(2, b"--durable-again\\n")
with j.transaction() as tx:
    tx.kv_set("k", "last")
os.write(2, b"--end\\n")
j.close()
"""


def test_given_a_non_durable_tx_when_it_emits_then_refused_and_nothing_written(
    journal: Journal,
) -> None:
    """GIVEN a transaction that is not fsync'ed itself
    WHEN it queues an event for the host (which could leave before a power cut loses it)
    THEN it is refused with a clear error and none of its writes stay."""
    before = snapshot(journal.path)
    with pytest.raises(JournalError, match="durable"), journal.transaction(durable=False) as tx:
        add_sale(tx)
        tx.emit("sale.started", {"txn_id": "T1"})
    assert snapshot(journal.path) == before


def test_given_a_non_durable_tx_then_its_writes_are_read_and_full_sync_is_back(
    journal: Journal,
) -> None:
    """GIVEN a non-durable transaction WHEN it commits
    THEN its rows are there and the connection is back at synchronous=FULL."""
    with journal.transaction(durable=False) as tx:
        add_sale(tx)
    assert journal.txn("T1").state == "in_doubt"
    assert journal._conn().execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


@pytest.mark.slow
def test_non_durable_commits_do_no_fsync_and_durable_ones_one(tmp_path: Path) -> None:
    """GIVEN a journal in a process traced for fsync/fdatasync
    WHEN it commits 3 durable, 3 non-durable, then 1 durable transaction
    THEN the durable ones sync (each at least once), the non-durable ones never."""
    trace = tmp_path / "trace"
    subprocess.run(
        [*STRACE, str(trace), sys.executable, "-c", STRACED, str(tmp_path / "j.db")],
        check=True,
        capture_output=True,
        timeout=120,
    )
    syncs: dict[str, int] = {}
    phase = ""
    for line in trace.read_text().splitlines():
        if 'write(2, "--' in line:
            phase = line.split('"--', 1)[1].split("\\n", 1)[0]
            syncs[phase] = 0
        elif phase and ("fsync(" in line or "fdatasync(" in line):
            syncs[phase] += 1
    assert syncs["not-durable"] == 0
    assert syncs["durable"] >= 3 and syncs["durable-again"] >= 1

"""The journal under SIGKILL, with real subprocesses: a transaction is all or nothing, and
the outbox seq stays gapless across restarts."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from posterm.daemon.journal.store import Journal
from tests.support.fleet import fault_data, txn_data

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)

MID_TRANSACTION = """
import sys
from posterm.daemon.journal.store import Journal
from tests.support.fleet import txn_data
j = Journal(sys.argv[1], "pos-1")
with j.transaction() as tx:
    tx.insert_txn(txn_id="T0", kind="sale", state="in_doubt", amount=100, currency="EUR")
    tx.emit("sale.in_doubt", txn_data("T0", state="in_doubt"))
with j.transaction() as tx:
    tx.insert_txn(txn_id="T1", kind="sale", state="in_doubt", amount=200, currency="EUR")
    tx.emit("sale.in_doubt", txn_data("T1", state="in_doubt"))
    tx.kv_set("batch_no", "9")
    print("inside", flush=True)
    sys.stdin.readline()  # held open until the parent kills us
"""

# Writes sale + event per transaction, forever; reports each committed sale on stdout.
WRITER = """
import sys
from posterm.daemon.journal.store import Journal
from tests.support.fleet import txn_data
j = Journal(sys.argv[1], "pos-1")
n = int(sys.argv[2])
while True:
    n += 1
    with j.transaction() as tx:
        tx.insert_txn(txn_id=f"T{n}", kind="sale", state="in_doubt", amount=n, currency="EUR")
        event = tx.emit("sale.in_doubt", txn_data(f"T{n}", state="in_doubt"))
    print(n, event["seq"], flush=True)
"""


def run(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(60)
    assert proc.returncode == -signal.SIGKILL


def test_given_a_process_killed_mid_transaction_then_neither_row_nor_event(
    tmp_path: Path,
) -> None:
    """GIVEN a process that wrote a txn row, its event and a kv value inside one
    transaction WHEN it is SIGKILLed before COMMIT THEN none of the three exists, and the
    transaction committed before it is whole."""
    path = tmp_path / "j.db"
    proc = run(MID_TRANSACTION, str(path))
    assert proc.stdout is not None and proc.stdout.readline().strip() == "inside"
    kill(proc)
    journal = Journal(path, "pos-1")
    assert journal.get_txn("T0") is not None
    assert journal.get_txn("T1") is None and journal.kv_get("batch_no") is None
    pending = [e.envelope["data"] for e in journal.outbox_pending()]
    assert pending == [txn_data("T0", state="in_doubt")]
    with journal.transaction() as tx:  # the next event follows without a gap
        assert tx.emit("fault.raised", fault_data())["seq"] == 2
    journal.close()


def test_given_writers_killed_again_and_again_then_seq_is_gapless(tmp_path: Path) -> None:
    """GIVEN a writer journaling sale + event per transaction WHEN it is SIGKILLed at an
    arbitrary point, restarted, killed again (four times) THEN every sale it reported as
    committed is there with its event, seqs run 1..n without a gap or a duplicate, and
    every sale row has exactly one event."""
    path = tmp_path / "j.db"
    reported: dict[int, int] = {}
    last = 0
    for _round in range(4):
        proc = run(WRITER, str(path), str(last))
        assert proc.stdout is not None
        for _ in range(25):
            n, seq = map(int, proc.stdout.readline().split())
            reported[n] = seq
        kill(proc)
        journal = Journal(path, "pos-1")
        last = len(journal.list_txns(100_000))
        journal.close()
    journal = Journal(path, "pos-1")
    events = journal.outbox_pending(100_000)
    seqs = [e.seq for e in events]
    assert seqs == list(range(1, len(seqs) + 1))
    by_txn = {e.envelope["data"]["txn_id"]: e.seq for e in events}
    txns = journal.list_txns(100_000)
    assert len(by_txn) == len(events) == len(txns) == last
    for n, seq in reported.items():
        assert by_txn[f"T{n}"] == seq
    journal.close()

"""`posterm` for the cashier, against a real postermd and the simulators: the journal as a
table, `last` and the PT's receipt number instead of a txn id, human output without
reprs, and the exit codes (64 wrong command line, 65 wrong input, 1 declined)."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.support.rig import Rig, make_rig
from tests.support.sim import BIN

pytestmark = pytest.mark.slow  # starts postermd and the simulators (tests/support/tiers.py)

LEAKS = ("{", "}", "'", "detail=", "None")


def human(rig: Rig, *args: str) -> tuple[int, str, str]:
    """`posterm ARGS` without --json: exit code, stdout, stderr."""
    proc = subprocess.run(
        [str(BIN / "posterm"), "--socket", str(rig.socket), "--timeout", "90", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    return proc.returncode, proc.stdout, proc.stderr


def counts(rig: Rig) -> tuple[int, int]:
    with sqlite3.connect(rig.journal) as db:
        return (
            db.execute("SELECT COUNT(*) FROM txns").fetchone()[0],
            db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0],
        )


def test_the_cashier_finds_a_transaction_without_its_id(tmp_path: Path) -> None:
    """GIVEN a running postermd WHEN the journal is empty THEN `posterm journal` says so;
    GIVEN two sales WHEN `posterm journal --last 10` THEN a table with time, kind, amount,
    last 4 and state; `reprint last`, `reprint RECEIPT_NO` and `refund last` act on the
    latest sale; an unknown receipt number or a bad amount exits 65 and changes nothing, a
    wrong command line 64, a declined card 1; status and results read without reprs."""
    rig = make_rig(tmp_path)
    try:
        rig.start()
        assert human(rig, "journal")[:2] == (0, "no transactions yet\n")
        code, out, _ = human(rig, "status")
        assert code == 0 and not [x for x in LEAKS if x in out], out
        assert human(rig, "sale", "3.00")[0] == 0
        code, out, _ = human(rig, "sale", "12.50")
        assert code == 0 and out.startswith("sale T") and "12.50 EUR" in out, out
        assert not [x for x in LEAKS if x in out], out
        txns = {t["amount"]: t for t in rig.txns()}
        latest = txns[1250]

        code, out, _ = human(rig, "journal", "--last", "10")
        head, *rows = out.splitlines()
        assert code == 0 and head.split()[:5] == ["TIME", "KIND", "AMOUNT", "CARD", "STATE"]
        assert len(rows) == 2 and latest["txn_id"] in rows[0]
        assert "12.50 EUR" in rows[0] and "approved" in rows[0] and " sale " in rows[0]
        assert f"..{latest['masked_pan'][-4:]}" in rows[0]
        assert not [x for x in LEAKS if x in out], out

        code, out, _ = human(rig, "reprint", "last")
        assert code == 0 and latest["txn_id"] in out, out
        code, out, _ = human(rig, "reprint", str(latest["receipt_no"]))
        assert code == 0 and latest["txn_id"] in out, out
        before = counts(rig)
        code, out, err = human(rig, "void", "99999")
        assert (code, out) == (65, "") and "unknown_txn" in err and "99999" in err
        assert human(rig, "refund", "last", "1,5")[0] == 65
        assert human(rig, "refund")[0] == 64  # missing TXN and AMOUNT: the usage
        assert counts(rig) == before
        code, out, _ = human(rig, "refund", "last", "2.00")
        assert code == 0 and f"of sale {latest['txn_id']}" in out, out
        assert human(rig, "sale", "10.51")[0] == 1  # the simulator declines it
    finally:
        rig.close()

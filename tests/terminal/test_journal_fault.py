"""A journal that cannot be written (the SD card is full) stops the terminal in a sticky
FAULT that `status` shows; no receipt is printed twice unmarked; the client hears `journal`.

The full file system is made real with RLIMIT_FSIZE on the running postermd: a write
that would grow the journal's WAL file past its present size fails in the kernel (EFBIG),
as a full disk makes it fail (ENOSPC)."""

from __future__ import annotations

import resource
from pathlib import Path

import pytest

from tests.support import money_rules
from tests.support.rig import Rig, make_rig

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)


def _fill_the_disk(rig: Rig) -> None:
    assert rig.daemon is not None
    wal = Path(f"{rig.journal}-wal")
    limit = wal.stat().st_size
    assert limit > 0
    resource.prlimit(rig.daemon.pid, resource.RLIMIT_FSIZE, (limit, limit))


def test_sale_with_a_full_journal_is_refused_before_the_pt(rig: Rig) -> None:
    rig.start()
    code, _ = rig.cli("sale", "5.00")
    assert code == 0
    _fill_the_disk(rig)
    code, error = rig.cli("sale", "25.00")
    assert code == 1 and error["code"] == "journal", error
    status = rig.cli("status")[1]
    assert status["state"] == "fault" and status["selling"] is False
    assert "journal" in status["reason"]
    assert [e["amount"] for e in rig.ledger()] == [500]  # not a byte went to the PT
    code, again = rig.cli("sale", "1.00")
    assert code == 1 and again["code"] == "not_ready"


def test_receipt_printed_while_the_journal_is_full_is_printed_once(tmp_path: Path) -> None:
    """GIVEN a charged sale whose receipt waits for paper, and a journal that can no longer
    be written WHEN the paper comes back THEN the receipt prints once (its `printed` cannot
    be journaled), the terminal is in FAULT, and nothing prints again until a restart,
    which prints one copy marked RECOVERED."""
    rig = make_rig(tmp_path, printer_args=("--cover-open",))
    try:
        rig.start()
        code, sale = rig.cli("sale", "18.00")
        assert code == 0 and sale["receipt_state"] == "pending"
        _fill_the_disk(rig)
        rig.printer.ctl("cover-close")
        status = rig.wait_state("fault")
        assert "journal" in status["reason"] and status["selling"] is False
        assert len(money_rules.receipts_for(rig, sale["txn_id"])) == 1
        for _ in range(4):  # each request on the owner is followed by an idle round
            assert rig.cli("journal")[0] == 0
        assert len(rig.printer.printed()) == 1
        assert rig.cli("status")[1]["state"] == "fault"
        rig.kill()
        rig.start()
        rig.wait_state("ready")
        _, second = money_rules.receipts_for(rig, sale["txn_id"])
        assert "** RECOVERED **" in second
        money_rules.check(rig)
    finally:
        rig.close()

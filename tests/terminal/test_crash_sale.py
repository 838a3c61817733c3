"""Money rules across process deaths: postermd is SIGKILLed at every named step of a sale,
restarted, and the PT's ledger, the journal and the printed receipts must agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import soak_checks
from tests.support import money_rules
from tests.support.rig import make_rig

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)

CHARGED = {
    "sale.journaled": False,  # before the first byte to the PT
    "sale.before_commit": False,  # 04 0F arrived, not journaled: the PT reverses
    "sale.after_commit": False,  # journaled, 04 0F not acknowledged: the PT reverses
    "sale.completed": True,  # acknowledged and completed, no receipt yet
    "sale.receipt_journaled": True,
    "receipt.printing": True,
    "receipt.mid_print": True,
    "receipt.printed": True,  # printed, not yet journaled as printed
}


@pytest.mark.parametrize("link", ["serial", "tcp"])
@pytest.mark.parametrize("step", list(CHARGED))
def test_sale_killed_at_each_step(tmp_path: Path, step: str, link: str) -> None:
    slow = ("--bytes-per-second", "1500") if step == "receipt.mid_print" else ()
    rig = make_rig(tmp_path, link=link, printer_args=slow)
    try:
        rig.start(crash_at=step)
        code, _ = rig.cli("sale", "23.40", "--key", "k-1")
        assert code != 0
        assert rig.wait_exit() == -9  # SIGKILL, at the named step
        rig.start()
        rig.wait_state("ready")
        found = money_rules.check(rig)
        (sale,) = found["txns"]
        receipts = money_rules.receipts_for(rig, sale["txn_id"])
        if CHARGED[step]:
            assert sale["state"] == "approved"
            assert [e["state"] for e in found["ledger"]] == ["booked"]
            assert "** RECOVERED **" in receipts[-1]
            # Killed while the bytes were on their way or already printed, the original
            # comes out whole: the restart cannot know, so one RECOVERED copy follows.
            twice = step in ("receipt.mid_print", "receipt.printed")
            assert len(receipts) == (2 if twice else 1)
        else:
            assert sale["state"] == "not_charged"
            assert [e["state"] for e in found["ledger"]] in ([], ["auto_reversed"])
            assert receipts == []
        # The same key after the restart answers the first result, charging nothing new.
        code, again = rig.cli("sale", "23.40", "--key", "k-1")
        assert again["txn_id"] == sale["txn_id"] and again["state"] == sale["state"]
        # And the terminal sells again.
        code, fresh = rig.cli("sale", "5.00")
        assert code == 0 and fresh["state"] == "approved"
        money_rules.check(rig)
    finally:
        rig.close()


def test_a_recovered_receipt_killed_once_more_is_told_at_each_restart(tmp_path: Path) -> None:
    """GIVEN a sale killed after its approval (its receipt is issued RECOVERED at the
    restart), and that restart killed in the instant after the receipt was cut
    WHEN postermd starts a third time
    THEN the receipt comes out once more, marked RECOVERED, and the journal told the
    host that a restart found it pending (`receipt.pending`), so the second copy is
    accounted for: the soak's check finds no debit without exactly one receipt."""
    rig = make_rig(tmp_path)
    try:
        rig.start(crash_at="sale.completed")
        code, _ = rig.cli("sale", "23.40")
        assert code != 0 and rig.wait_exit() == -9
        rig.start(crash_at="receipt.printed", wait=False)
        assert rig.wait_exit() == -9  # the RECOVERED receipt was cut, not yet journaled
        rig.start()
        rig.wait_state("ready")
        found = money_rules.check(rig)
        (sale,) = found["txns"]
        receipts = money_rules.receipts_for(rig, sale["txn_id"])
        assert len(receipts) == 2 and all("** RECOVERED **" in r for r in receipts)
        told = [
            e
            for e in rig.events()
            if e["type"] == "receipt.pending" and e["data"]["copy"] == "customer"
        ]
        assert [e["data"]["why"] for e in told] == [soak_checks.RESTART_WHY]
        assert soak_checks.debits_without_one_receipt(rig) == ([], [f"sale {sale['txn_id']}"])
    finally:
        rig.close()

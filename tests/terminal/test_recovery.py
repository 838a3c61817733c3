"""Recovery without a crash: paper out mid-receipt, a PT link lost after the debit, a PT
that is down at start-up."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support import money_rules
from tests.support.rig import make_rig

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)


def test_paper_out_mid_receipt_then_refill_prints_one_recovered(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, printer_args=("--paper-out-after-lines", "8"))
    try:
        rig.start()
        code, sale = rig.cli("sale", "18.00")
        assert code == 0 and sale["state"] == "approved" and sale["receipt_state"] == "pending"
        (cut_short,) = rig.printer.printed()
        assert "[PAPER OUT: receipt truncated]" in cut_short
        assert money_rules.receipts_for(rig, sale["txn_id"]) == []
        code, status = rig.cli("status")
        assert status["pending_receipts"] == 1 and "paper out" in status["printer"]
        assert [e["type"] for e in rig.events()][-1] == "receipt.pending"
        rig.printer.ctl("refill")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not money_rules.receipts_for(rig, sale["txn_id"]):
            time.sleep(0.1)
        (recovered,) = money_rules.receipts_for(rig, sale["txn_id"])
        assert "** RECOVERED **" in recovered
        for _ in range(4):  # each request on the owner is followed by an idle round
            assert rig.cli("journal")[0] == 0
        assert len(money_rules.receipts_for(rig, sale["txn_id"])) == 1
        assert [e["type"] for e in rig.events()][-1] == "receipt.recovered"
        code, view = rig.cli("journal")
        assert view[0]["receipt_state"] == "printed"
        money_rules.check(rig)
    finally:
        rig.close()


def test_pending_receipts_print_one_by_one_each_marked(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, printer_args=("--cover-open",))
    try:
        rig.start()
        ids = [rig.cli("sale", amount)[1]["txn_id"] for amount in ("1.00", "2.00", "3.00")]
        assert rig.printer.printed() == []
        rig.printer.ctl("cover-close")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(rig.printer.printed()) < 3:
            time.sleep(0.1)
        pages = rig.printer.printed()
        assert len(pages) == 3  # three cuts: never one surprise batch on one strip
        for txn_id, page in zip(ids, pages, strict=True):
            assert f"[QR: {txn_id}]" in page and "** RECOVERED **" in page
        money_rules.check(rig)
    finally:
        rig.close()


def test_link_lost_after_the_debit_is_recovered_by_repeat_receipt(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    try:
        rig.start()
        rig.pt.fault("drop_before_completion")
        code, error = rig.cli("sale", "31.00")
        assert code == 1 and error["code"] == "in_doubt"
        status = rig.wait_state("ready")
        assert status["in_doubt"] == 0
        (sale,) = rig.txns()
        assert sale["state"] == "approved"
        (receipt,) = money_rules.receipts_for(rig, sale["txn_id"])
        assert "** RECOVERED **" in receipt and "31.00 EUR" in receipt
        # The customer's first and only receipt: its PT part comes from the journaled
        # 04 0F, never from the PT's repeat receipt, which says DUPLICATE.
        assert "DUPLICATE" not in receipt
        assert f"Receipt-No.   {sale['receipt_no']:04d}" in receipt and "APPROVED" in receipt
        types = [e["type"] for e in rig.events()]
        assert types[:2] == ["sale.approved", "sale.in_doubt"] and "sale.recovered" in types
        # The fleet hears that the terminal stopped selling, and that it sells again.
        assert types.index("fault.raised") < types.index("fault.cleared")
        money_rules.check(rig)
    finally:
        rig.close()


def test_link_lost_before_the_status_leaves_no_charge(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, link="tcp")
    try:
        rig.start()
        rig.pt.fault("drop_before_status")
        code, error = rig.cli("sale", "32.00")
        assert code == 1 and error["code"] == "in_doubt"
        rig.wait_state("ready")
        (sale,) = rig.txns()
        assert sale["state"] == "not_charged"
        assert [e["state"] for e in rig.ledger()] == ["auto_reversed"]
        assert rig.printer.printed() == []
        money_rules.check(rig)
    finally:
        rig.close()


def test_no_sale_while_in_doubt_and_status_says_why(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    try:
        rig.start(crash_at="sale.completed")
        rig.cli("sale", "40.00")
        rig.wait_exit()
        rig.pt.stop()  # the PT is gone while the daemon comes back
        rig.start(wait=False)
        status = rig.wait_state("in_doubt")
        assert status["selling"] is False and status["in_doubt"] == 1
        assert "in doubt" in status["reason"]
        code, error = rig.cli("sale", "1.00")
        assert code == 1 and error["code"] == "not_ready" and "doubt" in error["error"]
        assert len(rig.txns()) == 1
    finally:
        rig.close()


def test_pending_receipt_prints_while_the_pt_is_down(tmp_path: Path) -> None:
    """GIVEN a charged sale whose receipt is pending (cover open) and a PT that is gone
    WHEN the printer is ready again THEN the receipt prints, RECOVERED, though the PT is
    still down."""
    rig = make_rig(tmp_path, printer_args=("--cover-open",))
    try:
        rig.start()
        code, sale = rig.cli("sale", "19.00")
        assert code == 0 and sale["receipt_state"] == "pending"
        rig.stop()
        rig.pt.stop()
        rig.start(wait=False)
        status = rig.wait_state("pt_down")
        assert status["pending_receipts"] == 1
        assert status["pt_retry_in"] is not None  # backing off, and says when it tries again
        rig.printer.ctl("cover-close")
        rig.wait_status(lambda s: s["pending_receipts"] == 0, "printed the pending receipt")
        (receipt,) = money_rules.receipts_for(rig, sale["txn_id"])
        assert "** RECOVERED **" in receipt
        assert rig.cli("status")[1]["state"] == "pt_down"
    finally:
        rig.close()

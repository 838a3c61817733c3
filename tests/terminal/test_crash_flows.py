"""The crash matrix for refund, void and reprint: SIGKILL at every named step, restart,
and the PT's ledger, the journal and the printed receipts agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import money_rules
from tests.support.rig import Rig, make_rig

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)

REFUND_KEPT = {
    "refund.journaled": False,
    "refund.before_commit": False,
    "refund.after_commit": False,
    "refund.completed": True,
    "refund.receipt_journaled": True,
    "receipt.printing": True,
}
VOID_KEPT = {
    "void.journaled": False,
    "void.before_commit": False,
    "void.after_commit": False,
    "void.completed": True,
    "void.receipt_journaled": True,
}


def _sale_then_crash_run(tmp_path: Path, link: str, step: str) -> tuple[Rig, dict]:  # type: ignore[type-arg]
    rig = make_rig(tmp_path, link=link)
    rig.start()
    code, sale = rig.cli("sale", "50.00")
    assert code == 0
    rig.stop()
    rig.start(crash_at=step)
    return rig, sale


@pytest.mark.parametrize("link", ["serial", "tcp"])
@pytest.mark.parametrize("step", list(REFUND_KEPT))
def test_refund_killed_at_each_step(tmp_path: Path, step: str, link: str) -> None:
    rig, sale = _sale_then_crash_run(tmp_path, link, step)
    try:
        code, _ = rig.cli("refund", sale["txn_id"], "20.00", "--reason", "goods_returned")
        assert code != 0 and rig.wait_exit() == -9
        rig.start()
        rig.wait_state("ready")
        found = money_rules.check(rig)
        refund = found["txns"][-1]
        refunds = [e for e in found["ledger"] if e["kind"] == "refund"]
        if REFUND_KEPT[step]:
            assert refund["state"] == "approved" and [e["state"] for e in refunds] == ["booked"]
            (voucher,) = money_rules.receipts_for(rig, refund["txn_id"])
            assert "** RECOVERED **" in voucher and "Customer signature" in voucher
        else:
            assert refund["state"] == "not_charged"
            assert [e["state"] for e in refunds] in ([], ["auto_reversed"])
        # What is left to refund follows what the PT really did.
        left = "30.00" if REFUND_KEPT[step] else "50.00"
        code, error = rig.cli("refund", sale["txn_id"], "50.01", "--reason", "other", "--text", "t")
        assert error["code"] == "over_refund" and error["left"] == f"{left} EUR"
    finally:
        rig.close()


def test_a_refund_the_pt_refused_killed_before_it_was_journaled_failed(tmp_path: Path) -> None:
    """GIVEN a PT that refuses the refund command (84 83) WHEN postermd is SIGKILLed after
    the refusal, before the refund is journaled failed (refund.refused), and started again
    THEN recovery asks the PT, finds no refund, ends it not charged and tells the host
    (refund.failed): no money moved, no voucher, the whole sale still refundable."""
    rig, sale = _sale_then_crash_run(tmp_path, "serial", "refund.refused")
    try:
        rig.pt.fault("refund_unsupported")
        code, _ = rig.cli("refund", sale["txn_id"], "20.00", "--reason", "goods_returned")
        assert code != 0 and rig.wait_exit() == -9
        assert rig.txns()[-1]["state"] == "in_doubt"
        rig.start()
        rig.wait_state("ready")
        found = money_rules.check(rig)
        refund = found["txns"][-1]
        assert refund["kind"] == "refund" and refund["state"] == "not_charged"
        assert [e for e in found["ledger"] if e["kind"] == "refund"] == []
        assert money_rules.receipts_for(rig, refund["txn_id"]) == []
        told = [
            (e["type"], e["data"].get("state"))
            for e in rig.events()
            if e["data"].get("txn_id") == refund["txn_id"]
        ]
        assert told[-1] == ("refund.failed", "not_charged"), told
        code, error = rig.cli("refund", sale["txn_id"], "50.01", "--reason", "other", "--text", "t")
        assert error["code"] == "over_refund" and error["left"] == "50.00 EUR"
    finally:
        rig.close()


@pytest.mark.parametrize("link", ["serial", "tcp"])
@pytest.mark.parametrize("step", list(VOID_KEPT))
def test_void_killed_at_each_step(tmp_path: Path, step: str, link: str) -> None:
    rig, sale = _sale_then_crash_run(tmp_path, link, step)
    try:
        code, _ = rig.cli("void", sale["txn_id"])
        assert code != 0 and rig.wait_exit() == -9
        rig.start()
        rig.wait_state("ready")
        found = money_rules.check(rig)
        states = {t["kind"]: t["state"] for t in found["txns"]}
        payment = found["ledger"][0]
        if VOID_KEPT[step]:
            assert states == {"sale": "voided", "void": "approved"}
            assert payment["state"] == "reversed"
        else:
            assert states == {"sale": "approved", "void": "not_charged"}
            assert payment["state"] == "booked"
            # the host hears the void's outcome, not only that it was in doubt
            void_id = next(t["txn_id"] for t in found["txns"] if t["kind"] == "void")
            told = [
                (e["type"], e["data"].get("state"))
                for e in rig.events()
                if e["data"].get("txn_id") == void_id
            ]
            assert told[-1] == ("void.completed", "not_charged"), told
            code, again = rig.cli("void", sale["txn_id"])  # and it can be voided now
            assert code == 0 and again["state"] == "approved"
            money_rules.check(rig)
    finally:
        rig.close()


def test_reprint_killed_while_printing(tmp_path: Path) -> None:
    rig, sale = _sale_then_crash_run(tmp_path, "serial", "receipt.printing")
    try:
        code, _ = rig.cli("reprint", sale["txn_id"])
        assert code != 0 and rig.wait_exit() == -9
        rig.start()
        rig.wait_state("ready")
        original, copy = money_rules.receipts_for(rig, sale["txn_id"])
        assert "DUPLICATE" not in original and "** DUPLICATE **" in copy
        assert len(rig.ledger()) == 1
        money_rules.check(rig)
    finally:
        rig.close()


@pytest.mark.parametrize("step", ["eod.journaled", "eod.completed"])
def test_end_of_day_killed_is_run_again(tmp_path: Path, step: str) -> None:
    """End of day moves no money: killed, it is journaled as failed and the operator runs
    it again; the PT's second close is of an empty batch."""
    rig, sale = _sale_then_crash_run(tmp_path, "serial", step)
    try:
        code, _ = rig.cli("eod")
        assert code != 0 and rig.wait_exit() == -9
        rig.start()
        rig.wait_state("ready")
        eod = rig.txns()[-1]
        assert eod["kind"] == "eod" and eod["state"] == "failed"
        code, again = rig.cli("eod")
        assert code == 0 and again["state"] == "approved"
        closed = [e for e in rig.events() if e["type"] == "batch.closed"]
        assert closed[-1]["data"]["sales"] == "50.00"
        code, late = rig.cli("void", sale["txn_id"])
        assert code == 1 and late["code"] == "batch_closed"
        money_rules.check(rig)
    finally:
        rig.close()

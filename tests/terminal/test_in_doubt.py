"""In-doubt operations are decided on the PT's evidence only: a PT that will not repeat its
receipt, or that aborts after its 04 0F was acknowledged, never gets a kept payment written
off; with no evidence the operator decides (`posterm resolve`), audited."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from posterm.protocol.clitext import EX_DATAERR
from tests.support import money_rules
from tests.support.rig import Rig, make_rig

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)


def _resolve_hint(status: dict) -> None:  # type: ignore[type-arg]
    assert status["state"] == "in_doubt" and status["selling"] is False
    assert status["awaiting_operator"] is True
    assert "posterm resolve" in status["reason"] and "PT's own journal" in status["reason"]


def _lost_completion_with_repeat_refused(rig: Rig, fault: str, amount: str) -> str:
    """GIVEN a sale whose 04 0F was acknowledged (committed, kept by the PT) and whose
    completion never came, on a PT that will not repeat its receipt."""
    rig.pt.fault(fault)
    rig.pt.fault("drop_before_completion")
    code, error = rig.cli("sale", amount)
    assert code == 1 and error["code"] == "in_doubt"
    return str(error["txn_id"])


@pytest.mark.parametrize("fault", ["refuse_repeat_receipt", "repeat_receipt_unsupported"])
def test_repeat_receipt_refused_never_writes_off_a_kept_payment(tmp_path: Path, fault: str) -> None:
    rig = make_rig(tmp_path)
    try:
        rig.start()
        txn_id = _lost_completion_with_repeat_refused(rig, fault, "25.00")
        status = rig.wait_operator()  # recovery has asked the PT, which would not say
        _resolve_hint(status)
        assert [t["txn_id"] for t in status["in_doubt_txns"]] == [txn_id]
        assert [e["state"] for e in rig.ledger()] == ["booked"]
        (sale,) = rig.txns()
        assert sale["state"] == "approved_unconfirmed"  # not written off
        assert rig.printer.printed() == []
        # THEN nothing new is sold while it is unresolved
        code, error = rig.cli("sale", "1.00")
        assert code == 1 and error["code"] == "not_ready"
        # A restart asks the PT again, and still does not guess.
        rig.kill()
        rig.start(wait=False)
        rig.wait_up()
        status = rig.wait_operator()
        assert rig.txns()[0]["state"] == "approved_unconfirmed"
        # The operator checked the PT's own journal: charged.
        code, bad = rig.cli("resolve", txn_id, "charged", "--by", "  ")
        assert code == EX_DATAERR and bad["code"] == "bad_request"
        code, view = rig.cli("resolve", txn_id, "charged", "--by", "alice")
        assert code == 0 and view["state"] == "approved"
        rig.wait_state("ready")
        (receipt,) = money_rules.receipts_for(rig, txn_id)
        assert "** RECOVERED **" in receipt and "25.00 EUR" in receipt
        assert "DUPLICATE" not in receipt
        notes = [t["note"] for t in _transitions(rig, txn_id)]
        assert "resolved by alice: charged (checked on the PT)" in notes
        recovered = [e for e in rig.events() if e["type"] == "sale.recovered"]
        assert recovered[-1]["data"]["resolved_by"] == "alice"
        code, again = rig.cli("resolve", txn_id, "not-charged", "--by", "bob")
        assert code == 1 and again["code"] == "not_in_doubt"
        money_rules.check(rig)
    finally:
        rig.close()


def test_operator_resolves_not_charged_when_the_pt_reversed_it(tmp_path: Path) -> None:
    """GIVEN postermd killed after committing the approval, before acknowledging the 04 0F
    (the PT auto-reverses), on a PT that will not repeat its receipt: the operator finds
    the reversal in the PT's journal and resolves it not charged; no receipt."""
    rig = make_rig(tmp_path, pt_args=("--fault", "repeat_receipt_unsupported"))
    try:
        rig.start(crash_at="sale.after_commit")
        code, _ = rig.cli("sale", "12.00")
        assert code != 0 and rig.wait_exit() == -9
        rig.start(wait=False)
        rig.wait_up()
        rig.wait_operator()
        (sale,) = rig.txns()
        assert sale["state"] == "approved_unconfirmed"
        code, view = rig.cli("resolve", sale["txn_id"], "not-charged", "--by", "alice")
        assert code == 0 and view["state"] == "not_charged"
        rig.wait_state("ready")
        assert [e["state"] for e in rig.ledger()] == ["auto_reversed"]
        assert rig.printer.printed() == []
        money_rules.check(rig)
    finally:
        rig.close()


def test_uncommitted_operation_is_not_charged_even_without_repeat_receipt(
    tmp_path: Path,
) -> None:
    """Never committed here means its 04 0F was never acknowledged: the PT reversed it by
    itself (rule 2), evidence enough without the PT's repeat receipt."""
    rig = make_rig(tmp_path, pt_args=("--fault", "refuse_repeat_receipt"))
    try:
        rig.start(crash_at="sale.before_commit")
        rig.cli("sale", "13.00")
        assert rig.wait_exit() == -9
        rig.start()
        rig.wait_state("ready")
        (sale,) = rig.txns()
        assert sale["state"] == "not_charged"
        money_rules.check(rig)
    finally:
        rig.close()


def test_pt_abort_after_acknowledged_status_is_in_doubt_then_kept(tmp_path: Path) -> None:
    """GIVEN the PT ends with 06 1E after the ECR acknowledged its 04 0F (the payment is
    kept): the terminal does not sell on as if declined; recovery finds it kept."""
    rig = make_rig(tmp_path)
    try:
        rig.start()
        rig.pt.fault("refuse_repeat_receipt")  # hold it in doubt to look at it
        rig.pt.fault("abort_after_status")
        code, error = rig.cli("sale", "25.00")
        assert code == 1 and error["code"] == "in_doubt", error
        status = rig.cli("status")[1]
        assert status["state"] in ("in_doubt", "recovering") and status["selling"] is False
        code, refused = rig.cli("sale", "2.00")
        assert code == 1 and refused["code"] == "not_ready"
        assert [e["state"] for e in rig.ledger()] == ["booked"]
        (sale,) = rig.txns()
        assert sale["state"] == "approved_unconfirmed"
        types = [e["type"] for e in rig.events()]
        assert "sale.in_doubt" in types and "sale.declined" not in types
        # AND after a crash and a PT that answers again, the evidence decides: kept.
        rig.kill()
        rig.pt.fault("refuse_repeat_receipt", on=False)
        rig.start()
        rig.wait_state("ready")
        (sale,) = rig.txns()
        assert sale["state"] == "approved"
        (receipt,) = money_rules.receipts_for(rig, sale["txn_id"])
        assert "** RECOVERED **" in receipt and "DUPLICATE" not in receipt
        code, fresh = rig.cli("sale", "3.00")
        assert code == 0 and fresh["state"] == "approved"
        money_rules.check(rig)
    finally:
        rig.close()


def test_pt_abort_after_status_recovered_without_restart(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, link="tcp")
    try:
        rig.start()
        rig.pt.fault("abort_after_status")
        code, error = rig.cli("sale", "26.00")
        assert code == 1 and error["code"] == "in_doubt"
        rig.wait_state("ready")
        (sale,) = rig.txns()
        assert sale["state"] == "approved"
        assert len(money_rules.receipts_for(rig, sale["txn_id"])) == 1
        money_rules.check(rig)
    finally:
        rig.close()


@pytest.mark.parametrize("how", ["recovery", "operator"])
def test_killed_between_resolution_and_receipt(tmp_path: Path, how: str) -> None:
    """SIGKILL after a kept operation is journaled approved, before its receipt: the next
    start prints its receipt, RECOVERED, exactly once."""
    pt_args = ("--fault", "refuse_repeat_receipt") if how == "operator" else ()
    rig = make_rig(tmp_path, pt_args=pt_args)
    try:
        rig.start(crash_at="sale.completed")
        rig.cli("sale", "27.00")
        assert rig.wait_exit() == -9
        rig.start(crash_at="recovery.kept", wait=False)
        if how == "operator":
            rig.wait_up()
            status = rig.wait_operator()
            txn_id = status["in_doubt_txns"][0]["txn_id"]
            rig.cli("resolve", txn_id, "charged", "--by", "alice")
        assert rig.wait_exit() == -9
        rig.start()
        rig.wait_state("ready")
        (sale,) = rig.txns()
        assert sale["state"] == "approved"
        (receipt,) = money_rules.receipts_for(rig, sale["txn_id"])
        assert "** RECOVERED **" in receipt
        money_rules.check(rig)
    finally:
        rig.close()


def _transitions(rig: Rig, txn_id: str) -> list[dict]:  # type: ignore[type-arg]
    db = sqlite3.connect(rig.journal)
    db.row_factory = sqlite3.Row
    try:
        return [
            dict(r) for r in db.execute("SELECT * FROM transitions WHERE txn_id = ?", (txn_id,))
        ]
    finally:
        db.close()

"""Idempotency keys: a retry answers exactly as the first answer did (same `ok`, `code`,
exit status), or with the final outcome once known; a key is bound to its kind, its target
transaction and its amount."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import money_rules
from tests.support.rig import Rig, make_rig

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)


def test_declined_sale_retried_is_declined_again(rig: Rig) -> None:
    rig.start()
    first = rig.cli("sale", "10.51", "--key", "K")
    assert first[0] == 1 and first[1]["code"] == "declined"
    again = rig.cli("sale", "10.51", "--key", "K")
    assert again == first
    assert len(rig.txns()) == 1 and rig.ledger() == []


def test_approved_sale_retried_is_the_same_approval(rig: Rig) -> None:
    rig.start()
    code, first = rig.cli("sale", "10.00", "--key", "K")
    code2, again = rig.cli("sale", "10.00", "--key", "K")
    assert (code, code2) == (0, 0) and again["txn_id"] == first["txn_id"]
    assert again["state"] == "approved" and len(rig.ledger()) == 1


def test_in_doubt_sale_retried_is_in_doubt_then_the_final_outcome(rig: Rig) -> None:
    rig.start()
    rig.pt.fault("refuse_repeat_receipt")
    rig.pt.fault("drop_before_completion")
    first = rig.cli("sale", "20.00", "--key", "D")
    assert first[0] == 1 and first[1]["code"] == "in_doubt"
    rig.wait_operator()
    code, again = rig.cli("sale", "20.00", "--key", "D")
    assert code == 1 and again["code"] == "in_doubt" and again["txn_id"] == first[1]["txn_id"]
    rig.cli("resolve", first[1]["txn_id"], "charged", "--by", "alice")
    code, final = rig.cli("sale", "20.00", "--key", "D")
    assert code == 0 and final["state"] == "approved" and final["txn_id"] == again["txn_id"]
    assert len(rig.ledger()) == 1
    money_rules.check(rig)


def test_not_charged_sale_retried_says_not_charged(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, link="tcp")
    try:
        rig.start()
        rig.pt.fault("drop_before_status")
        code, first = rig.cli("sale", "32.00", "--key", "N")
        assert code == 1 and first["code"] == "in_doubt"
        rig.wait_state("ready")
        code, again = rig.cli("sale", "32.00", "--key", "N")
        assert code == 1 and again["code"] == "not_charged" and again["state"] == "not_charged"
        assert [e["state"] for e in rig.ledger()] == ["auto_reversed"]
    finally:
        rig.close()


def test_refused_refund_and_rejected_refund_retried(rig: Rig) -> None:
    rig.start()
    code, sale = rig.cli("sale", "80.00")
    rig.pt.fault("refuse_refunds")
    first = rig.cli("refund", sale["txn_id"], "5.00", "--key", "R")
    assert first[0] == 1 and first[1]["code"] == "pt_refused"
    assert rig.cli("refund", sale["txn_id"], "5.00", "--key", "R") == first
    rig.pt.fault("refuse_refunds", on=False)
    code, waiting = rig.cli("refund", sale["txn_id"], "60.00", "--key", "W")
    assert code == 0 and waiting["state"] == "awaiting_approval"
    code, same = rig.cli("refund", sale["txn_id"], "60.00", "--key", "W")
    assert code == 0 and same["txn_id"] == waiting["txn_id"]
    rig.cli("reject", waiting["txn_id"])
    code, rejected = rig.cli("refund", sale["txn_id"], "60.00", "--key", "W")
    assert code == 1 and rejected["code"] == "rejected"


def test_one_key_never_serves_two_targets(rig: Rig) -> None:
    rig.start()
    ids = [rig.cli("sale", amount)[1]["txn_id"] for amount in ("30.00", "30.00", "9.00", "9.00")]
    a, b, c, d = ids
    code, first = rig.cli("refund", a, "10.00", "--key", "R1")
    assert code == 0 and first["ref_txn"] == a
    code, error = rig.cli("refund", b, "10.00", "--key", "R1")
    assert code == 1 and error["code"] == "key_conflict" and error["txn_id"] == first["txn_id"]
    code, error = rig.cli("refund", a, "11.00", "--key", "R1")
    assert code == 1 and error["code"] == "key_conflict"
    code, voided = rig.cli("void", c, "--key", "V1")
    assert code == 0 and voided["ref_txn"] == c
    code, error = rig.cli("void", d, "--key", "V1")
    assert code == 1 and error["code"] == "key_conflict"
    # a key of one kind is not another kind's key
    code, error = rig.cli("sale", "10.00", "--key", "R1")
    assert code == 1 and error["code"] == "key_conflict"
    txns = {t["txn_id"]: t for t in rig.txns()}
    assert txns[d]["state"] == "approved"  # D was never voided
    assert [t["ref_txn"] for t in txns.values() if t["kind"] == "refund"] == [a]
    kinds = [e["kind"] for e in rig.ledger()]
    assert kinds == ["payment"] * 4 + ["refund", "reversal"]
    money_rules.check(rig)

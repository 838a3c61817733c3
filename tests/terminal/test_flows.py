"""Sale, refund, void, reprint and end of day through the real postermd and `posterm`."""

from __future__ import annotations

import pytest

from tests.support import money_rules
from tests.support.rig import Rig

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)


def _sale(rig: Rig, amount: str) -> dict:  # type: ignore[type-arg]
    code, sale = rig.cli("sale", amount)
    assert code == 0, sale
    return sale  # type: ignore[no-any-return]


def _types(rig: Rig) -> list[str]:
    return [e["type"] for e in rig.events()]


def test_sale_prints_receipt_and_journals_events(rig: Rig) -> None:
    rig.start()
    sale = _sale(rig, "12.50")
    assert sale["state"] == "approved" and sale["receipt_state"] == "printed"
    assert sale["masked_pan"] == "476173******0119" and sale["amount"] == "12.50"
    (receipt,) = money_rules.receipts_for(rig, sale["txn_id"])
    assert "TOTAL" in receipt and "12.50 EUR" in receipt and "Test Shop" in receipt
    assert _types(rig) == ["sale.approved", "receipt.printed"]
    seqs = [e["seq"] for e in rig.events()]
    assert seqs == [1, 2]


def test_partial_refunds_never_exceed_the_sale(rig: Rig) -> None:
    rig.start()
    sale = _sale(rig, "30.00")
    code, refund = rig.cli("refund", sale["txn_id"], "10.00", "--reason", "goods_returned")
    assert code == 0 and refund["state"] == "approved" and refund["ref_txn"] == sale["txn_id"]
    (voucher,) = money_rules.receipts_for(rig, refund["txn_id"])
    assert "REFUND" in voucher and "Reason: goods returned" in voucher
    assert "Customer signature" in voucher
    before = (rig.txns(), rig.ledger())
    code, error = rig.cli("refund", sale["txn_id"], "20.01", "--reason", "wrong_amount")
    assert code == 1 and error["code"] == "over_refund" and error["left"] == "20.00 EUR"
    assert (rig.txns(), rig.ledger()) == before
    code, last = rig.cli("refund", sale["txn_id"], "20.00", "--reason", "other", "--text", "x")
    assert code == 0 and last["reason_text"] == "x"
    assert [e["kind"] for e in rig.ledger()] == ["payment", "refund", "refund"]
    money_rules.check(rig)
    assert "refund.requested" in _types(rig) and "refund.completed" in _types(rig)
    for event in rig.events():
        if event["type"].startswith("refund."):
            assert event["data"]["reason"] in ("goods_returned", "other")


def test_refund_above_the_limit_waits_for_approval(rig: Rig) -> None:
    rig.start()
    sale = _sale(rig, "200.00")
    code, refund = rig.cli("refund", sale["txn_id"], "80.00", "--reason", "service_problem")
    assert code == 0 and refund["state"] == "awaiting_approval"
    assert rig.ledger()[1:] == []
    code, status = rig.cli("status")
    assert status["awaiting_approval"] == [refund["txn_id"]]
    code, done = rig.cli("approve", refund["txn_id"], "--by", "supervisor Ann")
    assert code == 0 and done["state"] == "approved"
    code, error = rig.cli("approve", refund["txn_id"])
    assert code == 1 and error["code"] == "not_awaiting"
    code, second = rig.cli("refund", sale["txn_id"], "70.00", "--reason", "wrong_amount")
    code, rejected = rig.cli("reject", second["txn_id"])
    assert code == 0 and rejected["state"] == "rejected"
    assert [(e["kind"], e["amount"]) for e in rig.ledger()] == [
        ("payment", 20000),
        ("refund", 8000),
    ]
    approved = [e for e in rig.events() if e["type"] == "refund.approved"]
    assert approved[0]["data"]["by"] == "supervisor Ann"
    assert "refund.rejected" in _types(rig)
    money_rules.check(rig)


def test_void_same_batch_then_refund_after_end_of_day(rig: Rig) -> None:
    rig.start()
    first = _sale(rig, "15.00")
    code, void = rig.cli("void", first["txn_id"])
    assert code == 0 and void["kind"] == "void" and void["state"] == "approved"
    assert [e["state"] for e in rig.ledger()] == ["reversed", "booked"]
    code, again = rig.cli("void", first["txn_id"])
    assert code == 1 and again["code"] == "not_allowed"
    second = _sale(rig, "9.00")
    code, eod = rig.cli("eod")
    assert code == 0 and eod["kind"] == "eod"
    before = (rig.txns(), rig.ledger())
    code, late = rig.cli("void", second["txn_id"])
    assert code == 1 and late["code"] == "batch_closed" and "refund it instead" in late["error"]
    assert (rig.txns(), rig.ledger()) == before
    code, _ = rig.cli("refund", second["txn_id"], "9.00", "--reason", "wrong_card")
    assert code == 0
    batch = [e for e in rig.events() if e["type"] == "batch.closed"]
    assert batch[0]["data"]["sales"] == "24.00" and batch[0]["data"]["voids"] == "15.00"
    assert batch[0]["data"]["net"] == "9.00"
    report = [p for p in rig.printer.printed() if "END OF DAY" in p]
    assert report and "NET" in report[0]
    money_rules.check(rig)


def test_reprint_is_marked_duplicate(rig: Rig) -> None:
    rig.start()
    sale = _sale(rig, "7.00")
    code, _ = rig.cli("reprint", sale["txn_id"])
    assert code == 0
    original, copy = money_rules.receipts_for(rig, sale["txn_id"])
    assert "DUPLICATE" not in original and "** DUPLICATE **" in copy
    assert _types(rig)[-1] == "receipt.reprinted"


def test_pt_refusing_refunds_is_reported_as_such(rig: Rig) -> None:
    rig.start()
    sale = _sale(rig, "10.00")
    rig.pt.fault("refuse_refunds")
    code, error = rig.cli("refund", sale["txn_id"], "5.00", "--reason", "goods_returned")
    assert code == 1 and error["code"] == "pt_refused" and "refuses refunds" in error["error"]
    refund = rig.txns()[-1]
    assert refund["state"] == "declined" and refund["result_code"] == 0x83
    assert "refund.failed" in _types(rig)
    money_rules.check(rig)


def test_a_refund_the_pt_refuses_to_start_is_told_failed(rig: Rig) -> None:
    """GIVEN a PT that answers the refund command itself with 84 83 (not supported: nothing
    happened) WHEN a refund is asked THEN it ends failed in the journal AND the host is
    told (refund.failed), so a customer who left an address hears that it did not go
    through, instead of nothing."""
    rig.start()
    sale = _sale(rig, "10.00")
    rig.pt.fault("refund_unsupported")
    code, error = rig.cli("refund", sale["txn_id"], "5.00", "--reason", "goods_returned")
    assert code != 0, error
    refund = rig.txns()[-1]
    assert refund["kind"] == "refund" and refund["state"] == "failed", refund
    told = [
        (e["type"], e["data"].get("state"))
        for e in rig.events()
        if e["data"].get("txn_id") == refund["txn_id"]
    ]
    assert told[-1] == ("refund.failed", "failed"), told
    money_rules.check(rig)


def test_declined_sale_prints_nothing(rig: Rig) -> None:
    rig.start()
    code, error = rig.cli("sale", "10.78")
    assert code == 1 and error["code"] == "declined" and "expired" in error["error"]
    assert rig.ledger() == [] and rig.printer.printed() == []
    assert _types(rig) == ["sale.declined"]


def test_control_socket_is_group_only(rig: Rig) -> None:
    rig.start()
    assert rig.socket.stat().st_mode & 0o777 == 0o660

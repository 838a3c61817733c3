"""Refunds without a sale: off by default; when configured, each waits for approval, is
bounded by refunds.max_amount, and survives a SIGKILL at every step like any refund."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from posterm.daemon.control.client import ControlClient
from tests.support import money_rules
from tests.support.rig import Rig, make_rig
from tests.terminal.test_crash_flows import REFUND_KEPT

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)


def _counts(rig: Rig) -> tuple[int, int, int]:
    with sqlite3.connect(rig.journal) as db:
        txns = db.execute("SELECT COUNT(*) FROM txns").fetchone()[0]
        events = db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
    return txns, events, len(rig.ledger())


def test_off_by_default_refused_and_nothing_changes(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    try:
        rig.start()
        before = _counts(rig)
        code, error = rig.cli("refund", "none", "5.00", "--reason", "goods_returned")
        assert code != 0 and error["code"] == "not_allowed"
        assert "refunds.unreferenced" in error["error"]
        assert _counts(rig) == before and rig.printer.printed() == []
    finally:
        rig.close()


def test_waits_for_approval_whatever_the_amount_then_refunds_with_a_voucher(
    tmp_path: Path,
) -> None:
    rig = make_rig(tmp_path, unreferenced=True)
    try:
        rig.start()
        code, refund = rig.cli("refund", "none", "5.00", "--reason", "wrong_card")
        assert code == 0 and refund["state"] == "awaiting_approval"  # below the 50.00 limit
        assert refund["kind"] == "refund" and refund["amount"] == "5.00"
        assert [e for e in rig.ledger() if e["kind"] == "refund"] == []
        code, done = rig.cli("approve", refund["txn_id"], "--by", "supervisor")
        assert code == 0 and done["state"] == "approved" and done["receipt_state"] == "printed"
        (booked,) = [e for e in rig.ledger() if e["kind"] == "refund"]
        assert booked["amount"] == 500 and booked["state"] == "booked"
        (voucher,) = money_rules.receipts_for(rig, refund["txn_id"])
        assert "refund without a sale" in voucher and "Reason: wrong card" in voucher
        assert "Customer signature" in voucher
        flow = [e for e in rig.events() if e["type"].startswith(("refund.", "receipt."))]
        assert [e["type"] for e in flow] == [
            "refund.requested",
            "refund.approved",
            "refund.completed",
            "receipt.printed",
        ]
        assert flow[0]["data"]["reason"] == "wrong_card" and "ref_txn" not in flow[0]["data"]
        money_rules.check(rig)
    finally:
        rig.close()


@pytest.mark.parametrize(
    ("request_", "code"),
    [
        ({"txn": "T1", "unreferenced": True}, "bad_request"),  # both: which one is meant?
        ({"unreferenced": "yes"}, "bad_request"),
        ({"unreferenced": 1}, "bad_request"),
        ({"unreferenced": False}, "bad_request"),  # then the sale is required
        ({"unreferenced": True, "amount": "1000.01"}, "bad_amount"),  # over refunds.max_amount
        ({"unreferenced": True, "amount": "0"}, "bad_amount"),
        ({"unreferenced": True, "reason": "because"}, "bad_request"),
    ],
)
def test_bad_unreferenced_requests_change_nothing(
    tmp_path: Path, request_: dict[str, Any], code: str
) -> None:
    rig = make_rig(tmp_path, unreferenced=True)
    try:
        rig.start()
        before = _counts(rig)
        request = {"cmd": "refund", "amount": "5.00", "reason": "other", "text": "t", **request_}
        reply = ControlClient(str(rig.socket), timeout=30).request(request)
        assert reply["ok"] is False and reply["code"] == code, reply
        assert _counts(rig) == before
    finally:
        rig.close()


def test_same_key_never_refunds_twice(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, unreferenced=True)
    try:
        rig.start()
        args = ("refund", "none", "7.00", "--reason", "duplicate_charge", "--key", "k-1")
        _, first = rig.cli(*args)
        _, again = rig.cli(*args)
        assert again["txn_id"] == first["txn_id"]
        rig.cli("approve", first["txn_id"])
        _, third = rig.cli(*args)
        assert third["txn_id"] == first["txn_id"] and third["state"] == "approved"
        assert len([e for e in rig.ledger() if e["kind"] == "refund"]) == 1
        money_rules.check(rig)
    finally:
        rig.close()


@pytest.mark.parametrize("step", list(REFUND_KEPT))
def test_unreferenced_refund_killed_at_each_step(tmp_path: Path, step: str) -> None:
    rig = make_rig(tmp_path, unreferenced=True)
    try:
        rig.start()
        code, refund = rig.cli("refund", "none", "20.00", "--reason", "goods_returned")
        assert code == 0 and refund["state"] == "awaiting_approval"
        rig.stop()
        rig.start(crash_at=step)
        code, _ = rig.cli("approve", refund["txn_id"])
        assert code != 0 and rig.wait_exit() == -9
        rig.start()
        rig.wait_state("ready")
        found = money_rules.check(rig)
        (txn,) = [t for t in found["txns"] if t["txn_id"] == refund["txn_id"]]
        refunds = [e for e in found["ledger"] if e["kind"] == "refund"]
        if REFUND_KEPT[step]:
            assert txn["state"] == "approved" and [e["state"] for e in refunds] == ["booked"]
            (voucher,) = money_rules.receipts_for(rig, refund["txn_id"])
            assert "** RECOVERED **" in voucher and "refund without a sale" in voucher
        else:
            assert txn["state"] == "not_charged"
            assert [e["state"] for e in refunds] in ([], ["auto_reversed"])
    finally:
        rig.close()

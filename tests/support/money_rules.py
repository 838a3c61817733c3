"""The money rules checked across the three sources of truth: the PT simulator's ledger
(what cards were charged), the journal, and the receipts that came out of the printer."""

from __future__ import annotations

import base64
import re
from typing import Any

from tests.support.rig import Rig

KIND_OF = {"payment": "sale", "refund": "refund", "reversal": "void"}


_QR = re.compile(r"\[QR: ([^\]\s]+)\]")
_LINK = re.compile(r"https?://\S+/r/([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]+")


def _names(qr: str, txn_id: str) -> bool:
    """A QR code of `txn_id`: its id, or a refund status link whose token names it (the
    token's payload read, not verified: protocol/refundlink.py)."""
    if qr == txn_id:
        return True
    link = _LINK.fullmatch(qr)
    if link is None:
        return False
    head = link.group(1)
    payload = base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))
    return payload.split(b"\n")[1:2] == [txn_id.encode()]


def receipts_for(rig: Rig, txn_id: str) -> list[str]:
    """Complete customer receipts of `txn_id` (a complete one ends with its QR code: the
    id, or a refund voucher's status link)."""
    out = []
    for page in rig.printer.printed():
        start = 0
        for qr in _QR.finditer(page):
            block, start = page[start : qr.start()], qr.end()
            if _names(qr.group(1), txn_id) and "CUSTOMER COPY" in block.rsplit("Test Shop", 1)[-1]:
                out.append(block)
    return out


def check(rig: Rig) -> dict[str, Any]:
    """Assert the rules; return what was found for further, flow-specific checks."""
    txns = rig.txns()
    ledger = rig.ledger()
    unresolved = [t for t in txns if t["state"] in ("in_doubt", "approved_unconfirmed")]
    assert not unresolved, f"unresolved after recovery: {unresolved}"
    # Every entry the PT kept (booked, or booked then reversed) is journaled as approved
    # (or voided) with the same receipt number and amount, and vice versa.
    kept = {
        (e["receipt_no"], e["amount"], KIND_OF[e["kind"]])
        for e in ledger
        if e["state"] in ("booked", "reversed")
    }
    journaled = {
        (t["receipt_no"], t["amount"], t["kind"])
        for t in txns
        if t["kind"] != "eod" and t["state"] in ("approved", "voided")
    }
    assert kept == journaled, f"ledger {kept} != journal {journaled}"
    # No money twice: one ledger entry per journaled approval.
    assert len([e for e in ledger if e["state"] in ("booked", "reversed")]) == len(kept)
    # Exactly one complete customer receipt per approved operation: the original, or one
    # marked RECOVERED; a second one only ever marked RECOVERED or DUPLICATE.
    for txn in txns:
        got = receipts_for(rig, txn["txn_id"])
        if txn["kind"] == "eod" or txn["state"] not in ("approved", "voided"):
            assert got == [], f"receipt printed for {txn['state']} {txn['txn_id']}"
            continue
        assert got, f"no receipt for approved {txn['txn_id']}"
        unmarked = [r for r in got if "RECOVERED" not in r and "DUPLICATE" not in r]
        assert len(unmarked) <= 1, f"{txn['txn_id']} printed unmarked twice"
    return {"txns": txns, "ledger": ledger}

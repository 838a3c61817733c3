"""The money rules checked across the three sources of truth: the PT simulator's ledger
(what cards were charged), the journal, and the receipts that came out of the printer."""

from __future__ import annotations

from typing import Any

from tests.support.rig import Rig

KIND_OF = {"payment": "sale", "refund": "refund", "reversal": "void"}


def receipts_for(rig: Rig, txn_id: str) -> list[str]:
    """Complete customer receipts of `txn_id` (a complete one ends with its QR code)."""
    out = []
    for page in rig.printer.printed():
        blocks = page.split(f"[QR: {txn_id}]")
        out += [b for b in blocks[:-1] if "CUSTOMER COPY" in b.rsplit("Test Shop", 1)[-1]]
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

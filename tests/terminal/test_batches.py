"""End of day: an operation counts in the batch the PT booked it in, so the terminal's
totals agree with the PT's on every end-of-day receipt and `batch.closed` event."""

from __future__ import annotations

import re

import pytest

from tests.support.rig import Rig

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)


def _pt_total(receipt: str) -> str:
    (total,) = re.findall(r"^Total (-?\d+\.\d\d)\s*$", receipt, re.MULTILINE)
    return total


def _net(receipt: str) -> str:
    (net,) = re.findall(r"NET\s+(-?\d+\.\d\d) EUR", receipt)
    return net


def test_refund_approved_after_end_of_day_is_in_the_next_batch(rig: Rig) -> None:
    rig.start()
    code, sale = rig.cli("sale", "100.00")
    assert code == 0
    # GIVEN a refund requested in batch 1 that waits for the supervisor
    code, refund = rig.cli("refund", sale["txn_id"], "60.00", "--reason", "goods_returned")
    assert code == 0 and refund["state"] == "awaiting_approval"
    code, _ = rig.cli("eod")
    assert code == 0
    # WHEN it is approved after the end of day
    code, done = rig.cli("approve", refund["txn_id"])
    assert code == 0 and done["state"] == "approved"
    code, _ = rig.cli("eod")
    assert code == 0
    # THEN it counts in the second batch, as on the PT
    closed = [e["data"] for e in rig.events() if e["type"] == "batch.closed"]
    assert [
        (c["batch_no"], c["sales"], c["refunds"], c["refunds_count"], c["net"]) for c in closed
    ] == [(1, "100.00", "0.00", 0, "100.00"), (2, "0.00", "60.00", 1, "-60.00")]
    pages = [p for p in rig.printer.printed() if "END OF DAY" in p]
    assert len(pages) == 2
    assert [(c["pt_total"], c["pt_trace"]) for c in closed] == [("100.00", 1), ("0.00", 2)]
    for page, event in zip(pages, closed, strict=True):
        assert _net(page) == _pt_total(page) == event["net"]
        assert f"Refunds {event['refunds']} EUR ({event['refunds_count']})" in " ".join(
            page.split()
        )
    (refund_row,) = [t for t in rig.txns() if t["kind"] == "refund"]
    assert refund_row["batch_no"] == 2

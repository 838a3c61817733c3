"""A terminal's refund events for the status page's tests, stored through the host's own
ingest (the envelopes the wire carries)."""

from __future__ import annotations

from typing import Any

from posterm.host.store import Store
from posterm.protocol.mqtt.events import envelope

SALE = {
    "txn_id": "S-1",
    "kind": "sale",
    "state": "approved",
    "amount": "30.00",
    "currency": "EUR",
    "masked_pan": "411111******1111",
    "card_name": "Visa",
    "trace": 17,
    "receipt_no": 40,
}


def refund(state: str, **more: Any) -> dict[str, Any]:
    data = {
        "txn_id": "R-1",
        "kind": "refund",
        "state": state,
        "amount": "12.50",
        "currency": "EUR",
        "ref_txn": "S-1",
        "reason": "goods_returned",
    }
    return {**data, **more}


DONE = {"masked_pan": "411111******1111", "card_name": "Visa", "trace": 18, "receipt_no": 41}
CLOSING = {
    "txn_id": "E-1",
    "batch_no": 7,
    "currency": "EUR",
    "sales": "30.00",
    "refunds": "12.50",
    "voids": "0.00",
    "net": "17.50",
}


class Terminal:
    """One terminal's events, numbered in order, stored at once."""

    def __init__(self, store: Store, tid: str = "pos-7") -> None:
        self.store, self.tid, self.seq = store, tid, 0

    def send(self, type_: str, data: dict[str, Any], at: str) -> None:
        self.seq += 1
        self.store.ingest([envelope(self.tid, self.seq, type_, data, occurred_at=at)])

    def sale(self) -> None:
        self.send("sale.approved", SALE, "2026-03-05T09:00:00.000Z")

    def completed_refund(self, **more: Any) -> None:
        """Under the approval limit: requested, then completed at the PT."""
        self.send("refund.requested", refund("in_doubt"), "2026-03-06T10:00:00.000Z")
        self.send(
            "refund.completed", refund("approved", **(DONE | more)), "2026-03-06T10:00:05.000Z"
        )

    def close_day(self) -> None:
        self.send("batch.closed", CLOSING, "2026-03-06T18:00:00.000Z")  # a Friday

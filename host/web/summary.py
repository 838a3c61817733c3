"""The first screen's summary cards: terminals online / offline / not able to take
payments, today's takings and refunds (count and amount per currency, summed in integer
minor units), open alerts by severity, refunds waiting for approval."""

from __future__ import annotations

import json
import threading
from datetime import date, timedelta
from typing import Any

from posterm.host.alerts.rules import SEVERITY_NAMES
from posterm.host.reconcile import ReconcileError, minor
from posterm.host.store import Store
from posterm.protocol.money import format_amount
from posterm.protocol.mqtt.events import not_charged

# the event that books a sale or a refund (as host/reconcile.py's BOOKING)
SALES = ("sale.approved", "sale.recovered")
REFUNDS = ("refund.completed",)
UNBOOKS = ("refund.failed",)  # a refund told completed at its commit, then not kept


def counts(terminals: list[dict[str, Any]]) -> dict[str, int]:
    """Online, offline (offline, stale or never seen) and not able to take payments."""
    online = sum(1 for t in terminals if t["state"] == "online")
    return {
        "terminals": len(terminals),
        "online": online,
        "offline": len(terminals) - online,
        "not_paying": sum(1 for t in terminals if t["payments"]["level"] == "no"),
    }


class DayMoney:
    """Today's takings and refunds, kept up to date by reading only the booking events
    received since the last look (a poll every 1.5 s must not re-read a busy day's tens of
    thousands of events). Each operation counts once, by its booking event of the highest
    seq: a refund completed then failed is not a refund, even when a resend brought the
    two in the other order. One per web process; its lock makes polls take turns."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._day = ""
        self._after = ""  # received_at of the newest event read
        self._seen: set[str] = set()  # the event_ids read at exactly `_after`
        # (terminal, txn_id) -> (seq, kind, currency, minor); kind None: not booked
        self._booked: dict[tuple[str, str], tuple[int, str | None, str, int]] = {}

    def totals(self, store: Store, day: str) -> dict[str, list[dict[str, Any]]]:
        """`takings` and `refunds` of `day` (YYYY-MM-DD, by occurred_at): a row per
        currency with `count`, `minor` and `amount` (the decimal string)."""
        with self._lock:
            if day != self._day:  # a new day: start again from the day before's arrivals
                before = (date.fromisoformat(day) - timedelta(days=1)).isoformat()
                self._day, self._after, self._seen, self._booked = day, before, set(), {}
            self._read(store)
            return self._sums()

    def _read(self, store: Store) -> None:
        types = (*SALES, *REFUNDS, *UNBOOKS)
        rows = store.db.rows(
            "SELECT event_id, terminal, seq, type, occurred_at, received_at, envelope"
            f" FROM events WHERE type IN ({', '.join('?' for _ in types)})"
            " AND received_at >= ? ORDER BY received_at",
            (*types, self._after),
        )
        for row in rows:
            if row["event_id"] in self._seen:
                continue
            if row["received_at"] != self._after:
                self._after, self._seen = row["received_at"], set()
            self._seen.add(row["event_id"])
            if str(row["occurred_at"]).startswith(self._day):
                self._book(row["terminal"], int(row["seq"]), row["type"], row["envelope"])

    def _book(self, tid: str, seq: int, type_: str, text: str) -> None:
        data = json.loads(text).get("data") or {}
        key = (tid, str(data.get("txn_id")))
        if key in self._booked and self._booked[key][0] > seq:
            return  # a later word on it is in already
        currency = str(data.get("currency", "EUR"))
        kept = type_ not in UNBOOKS and not not_charged(data)
        if type_ == "sale.recovered" and data.get("state") not in ("approved", "voided"):
            kept = False
        amount = 0
        if kept:
            try:
                amount = minor(data.get("amount"), currency)
            except ReconcileError:
                kept = False  # stored before the wire schemas: not money the card saw
        kind = ("takings" if type_ in SALES else "refunds") if kept else None
        self._booked[key] = (seq, kind, currency, amount)

    def _sums(self) -> dict[str, list[dict[str, Any]]]:
        totals: dict[str, dict[str, list[int]]] = {"takings": {}, "refunds": {}}
        for _, kind, currency, amount in self._booked.values():
            if kind is None:
                continue
            count_sum = totals[kind].setdefault(currency, [0, 0])
            count_sum[0] += 1
            count_sum[1] += amount
        return {
            kind: [
                {"currency": c, "count": n, "minor": m, "amount": format_amount(m, c)}
                for c, (n, m) in sorted(by_currency.items())
            ]
            for kind, by_currency in totals.items()
        }


def money_today(store: Store, day: str) -> dict[str, list[dict[str, Any]]]:
    """`DayMoney.totals` read once, from scratch."""
    return DayMoney().totals(store, day)


def alerts_by_severity(alerts: list[dict[str, Any]]) -> dict[str, int]:
    out = dict.fromkeys(SEVERITY_NAMES, 0)
    for a in alerts:
        out[a["severity"]] = out.get(a["severity"], 0) + 1
    return out


def cards(
    store: Store,
    terminals: list[dict[str, Any]],
    alerts: list[dict[str, Any]],
    pending_refunds: int,
    day: str,
    *,
    money: DayMoney,
) -> dict[str, Any]:
    """Everything the cards show, as the page and `/api/fleet` give it."""
    return {
        "day": day,
        **counts(terminals),
        **money.totals(store, day),
        "alerts": alerts_by_severity(alerts),
        "pending_refunds": pending_refunds,
    }

"""The first screen's summary cards: terminals online / offline / not able to take
payments, today's takings and refunds (count and amount per currency, summed in integer
minor units), open alerts by severity, refunds waiting for approval."""

from __future__ import annotations

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
DAY_EVENTS = 100_000  # at most this many of today's booking events are summed


def counts(terminals: list[dict[str, Any]]) -> dict[str, int]:
    """Online, offline (offline, stale or never seen) and not able to take payments."""
    online = sum(1 for t in terminals if t["state"] == "online")
    return {
        "terminals": len(terminals),
        "online": online,
        "offline": len(terminals) - online,
        "not_paying": sum(1 for t in terminals if t["payments"]["level"] == "no"),
    }


def money_today(store: Store, day: str) -> dict[str, list[dict[str, Any]]]:
    """`takings` and `refunds` of `day` (YYYY-MM-DD, by occurred_at): a row per currency
    with `count`, `minor` and `amount` (the decimal string); each operation counted once,
    by its latest booking event."""
    booked: dict[tuple[str, str], tuple[str, str, int]] = {}  # (tid, txn) -> kind, cur, minor
    for env in store.events(types=(*SALES, *REFUNDS, *UNBOOKS), since=day, limit=DAY_EVENTS):
        if not env["occurred_at"].startswith(day):
            continue
        data, key = env["data"], (env["terminal"], str(env["data"].get("txn_id")))
        booked.pop(key, None)
        if env["type"] in UNBOOKS or not_charged(data):
            continue
        if env["type"] == "sale.recovered" and data.get("state") not in ("approved", "voided"):
            continue
        currency = str(data.get("currency", "EUR"))
        try:
            amount = minor(data.get("amount"), currency)
        except ReconcileError:
            continue  # stored before the wire schemas: not money the card saw
        kind = "takings" if env["type"] in SALES else "refunds"
        booked[key] = (kind, currency, amount)
    totals: dict[str, dict[str, list[int]]] = {"takings": {}, "refunds": {}}
    for kind, currency, amount in booked.values():
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
) -> dict[str, Any]:
    """Everything the cards show, as the page and `/api/fleet` give it."""
    return {
        "day": day,
        **counts(terminals),
        **money_today(store, day),
        "alerts": alerts_by_severity(alerts),
        "pending_refunds": pending_refunds,
    }

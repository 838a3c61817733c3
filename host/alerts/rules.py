"""The alert rules, pure: what should be open now, from the fleet's state, the store's
unresolved operations and seq gaps, or a newly stored event, and a clock (`now`, RFC 3339
UTC). No I/O here; `host/alerts/engine.py` stores, publishes and sends what they find.

Two sorts of rule:
- *level* rules (`LEVEL_KINDS`) say which conditions hold now; an alert of that kind is
  raised when its condition appears and cleared when it is gone;
- *event* rules raise on an event: `double_charge` (open while the card's two sales,
  less their confirmed voids and refunds, still charge more than one sale: `net_charged`),
  `refunds_count` / `refunds_amount` (cleared when the day is over).

An alert is keyed by (kind, terminal, subject): at most one is open per key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from posterm.host.alerts.names import next_step
from posterm.host.fleet import seconds
from posterm.protocol.money import AmountError, format_amount, parse_amount
from posterm.protocol.mqtt.events import not_charged

LEVEL_KINDS = (
    "terminal_offline",
    "terminal_stale",
    "paper_out",
    "outbox_stale",
    "seq_gap",
    "in_doubt",
    "receipt_pending",
    "terminal_reset",
    "pt_down",
    "fault",
    "printer_problem",
    "pi_hot",
    "pi_power",
    "pi_disk",
    "pi_clock",
)
EVENT_KINDS = (
    "double_charge",
    "refunds_count",
    "refunds_amount",
    "reconcile_mismatch",
    "bad_message",
)
DAILY_KINDS = ("refunds_count", "refunds_amount", "bad_message")  # cleared when the day ends
KINDS = LEVEL_KINDS + EVENT_KINDS
APPROVED_SALES = ("sale.approved", "sale.recovered")  # a recovered sale only when kept
IN_DOUBT = ("sale.in_doubt", "void.in_doubt", "refund.in_doubt")
RESOLVES = (
    "sale.approved",
    "sale.declined",
    "sale.recovered",
    "void.completed",
    "refund.completed",
    "refund.failed",
)  # an operation's outcome
RECEIPT_DONE = ("receipt.printed", "receipt.recovered", "receipt.reprinted")
# how bad each kind is (0 worst): listings show the worst first, then the newest
SEVERITY = {
    "double_charge": 0,
    "in_doubt": 0,
    "receipt_pending": 1,
    "paper_out": 1,
    "terminal_offline": 1,
    "seq_gap": 1,
    "outbox_stale": 2,
    "terminal_stale": 2,
    "refunds_count": 2,
    "refunds_amount": 2,
    "reconcile_mismatch": 1,
    "terminal_reset": 1,
    "pt_down": 0,  # cannot take payments
    "fault": 0,
    "printer_problem": 1,
    "pi_power": 1,  # under-voltage corrupts SD cards
    "pi_disk": 1,
    "pi_hot": 2,
    "pi_clock": 2,
}
SEVERITY_NAMES = ("critical", "warning", "notice")


@dataclass(frozen=True)
class Limits:
    """`[alerts]`: the defaults are those of deploy/posterm-host.toml.example."""

    offline_s: float = 300.0  # offline (retained status) this long
    stale_s: float = 0.0  # stale (telemetry silent 3 periods) this much longer
    in_doubt_s: float = 0.0  # an operation in doubt unresolved this long (0: at once)
    receipt_pending_s: float = 900.0  # a customer receipt pending this long
    outbox_s: float = 900.0  # the terminal's oldest unsent event older than this
    seq_gap_s: float = 120.0  # a missing seq not filled in this long (resend asked)
    refunds_per_day: int = 20  # completed refunds per terminal per UTC day, more: alert
    refund_minor_per_day: int = 100_000  # their sum in minor units (1000.00 EUR), more: alert
    double_charge_s: float = 600.0  # same amount, same masked PAN, one terminal, this close
    reset_s: float = 86400.0  # a terminal re-flashed (a new journal, host/lives.py): this long
    pt_down_s: float = 30.0  # its telemetry says pt_down this long (the grace)
    fault_s: float = 10.0  # its telemetry says fault this long
    printer_s: float = 60.0  # its printer offline, cover open, in error or silent this long
    cpu_temp_c: float = 80.0  # pi_hot: the Pi's CPU at or over this (the Pi throttles at 80-85)
    disk_free_mb: int = 200  # pi_disk: less than this many MB (10^6 bytes) free
    clock_s: float = 600.0  # pi_clock: unsynchronised while postermd has run this long (NTP
    # needs a while after a boot)
    interval_s: float = 1.0  # how often the time-based rules run


@dataclass(frozen=True)
class Finding:
    """A condition that deserves an alert (or, from an event rule, a new one)."""

    kind: str
    terminal: str
    subject: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        return self.kind, self.terminal, self.subject


def later(now: str, s: float) -> str:
    moment = datetime.fromisoformat(now) + timedelta(seconds=s)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- level rules ------------------------------------------------------------------------------
def fleet_findings(fleet: Iterable[dict[str, Any]], limits: Limits, now: str) -> list[Finding]:
    """Offline or stale too long, paper out, an outbox that does not drain, re-flashed lately
    (`Store.fleet()` rows as of `now`)."""
    out = []
    for t in fleet:
        tid = t["terminal"]
        if t["state"] == "offline":
            down = seconds(t["status_since"], now)
            if down is not None and down > limits.offline_s:
                since = {"since": t["status_since"], "session": t["session"]}
                out.append(Finding("terminal_offline", tid, "", since))
        if t["state"] == "stale":
            silent = seconds(t["telemetry_at"] or t["status_since"], now)
            if silent is not None and silent - t["stale_after_s"] > limits.stale_s:
                out.append(
                    Finding(
                        "terminal_stale",
                        tid,
                        "",
                        {"telemetry_at": t["telemetry_at"], "stale_after_s": t["stale_after_s"]},
                    )
                )
        if t["paper"] == "out":
            out.append(Finding("paper_out", tid, "", {"printer": t["printer"]}))
        reset = seconds(t.get("reset_at"), now)
        if reset is not None and reset < limits.reset_s:  # what the old journal held is lost
            out.append(
                Finding(
                    "terminal_reset",
                    tid,
                    f"life {t['life']}",
                    {"reset_at": t["reset_at"], "life": t["life"]},
                )
            )
        age = t["oldest_unsent_age_s"]
        if isinstance(age, int | float) and not isinstance(age, bool) and age > limits.outbox_s:
            out.append(
                Finding(
                    "outbox_stale",
                    tid,
                    "",
                    {
                        "oldest_unsent_age_s": age,
                        "outbox_depth": t["outbox_depth"],
                        "telemetry_at": t["telemetry_at"],
                    },
                )
            )
    return out


def gap_findings(gaps: Iterable[dict[str, Any]], limits: Limits, now: str) -> list[Finding]:
    """`gaps`: {terminal, missing (the first missing seq), since (when a later seq came)}."""
    out = []
    for gap in gaps:
        waited = seconds(gap["since"], now)
        if waited is not None and waited > limits.seq_gap_s:
            out.append(
                Finding(
                    "seq_gap",
                    gap["terminal"],
                    "",
                    {"missing_seq": gap["missing"], "since": gap["since"]},
                )
            )
    return out


def unresolved_findings(items: Iterable[dict[str, Any]], limits: Limits, now: str) -> list[Finding]:
    """`items`: unresolved operations and pending receipts, {kind (in_doubt or
    receipt_pending), terminal, subject, since (received at the host), detail}."""
    out = []
    for item in items:
        limit = limits.in_doubt_s if item["kind"] == "in_doubt" else limits.receipt_pending_s
        waited = seconds(item["since"], now)
        if waited is not None and (waited > limit or limit <= 0):  # 0: at once
            out.append(
                Finding(
                    item["kind"],
                    item["terminal"],
                    item["subject"],
                    {**item["detail"], "since": item["since"]},
                )
            )
    return out


def open_item(env: dict[str, Any], received_at: str) -> dict[str, Any]:
    """The `unresolved_findings` item of an open in-doubt or pending-receipt event."""
    data = env["data"]
    if env["type"] == "receipt.pending":
        return {
            "kind": "receipt_pending",
            "terminal": env["terminal"],
            "subject": f"{data.get('txn_id')}/{data.get('receipt_id')}",
            "since": received_at,
            "detail": {
                "txn_id": data.get("txn_id"),
                "receipt_id": data.get("receipt_id"),
                "copy": data.get("copy"),
                "why": data.get("why"),
            },
        }
    return {
        "kind": "in_doubt",
        "terminal": env["terminal"],
        "subject": str(data.get("txn_id")),
        "since": received_at,
        "detail": {
            "txn_id": data.get("txn_id"),
            "type": env["type"],
            "amount": data.get("amount"),
            "currency": data.get("currency"),
            "why": data.get("why"),
            "next_step": next_step(str(data.get("txn_id")), env["terminal"]),
        },
    }


# -- event rules -------------------------------------------------------------------------------
def minor(data: dict[str, Any]) -> int | None:
    """An event's amount in minor units (None when it has none or it is malformed)."""
    return _minor(str(data.get("amount")), str(data.get("currency")))


@lru_cache(maxsize=4096)  # ingest compares each sale with its card's recent ones
def _minor(amount: str, currency: str) -> int | None:
    try:
        return parse_amount(amount, currency)
    except AmountError:
        return None


def approved_sale(env: dict[str, Any]) -> bool:
    if env["type"] == "sale.approved":
        return True
    return bool(env["type"] == "sale.recovered" and env["data"].get("state") == "approved")


def double_charge(
    sale: dict[str, Any], others: Iterable[dict[str, Any]], window_s: float
) -> Finding | None:
    """A likely double charge: `sale` (just stored) and an earlier approved sale on the same
    terminal, same amount and currency, same masked PAN, at most `window_s` apart (by the
    terminal's `occurred_at`). Detail names both transactions."""
    data = sale["data"]
    for other in others:
        if not alike(sale, other):
            continue
        apart = seconds(other["occurred_at"], sale["occurred_at"])
        if apart is None or abs(apart) > window_s:
            continue
        first, second = sorted((other, sale), key=lambda e: (e["occurred_at"], e["seq"]))
        txns = [str(first["data"].get("txn_id")), str(second["data"].get("txn_id"))]
        return Finding(
            "double_charge",
            sale["terminal"],
            "+".join(txns),
            {
                "txns": txns,
                "amount": data.get("amount"),
                "currency": data.get("currency"),
                "masked_pan": data.get("masked_pan"),
                "seconds_apart": abs(apart),
                "occurred_at": [first["occurred_at"], second["occurred_at"]],
            },
        )
    return None


def alike(sale: dict[str, Any], other: dict[str, Any]) -> bool:
    """Two approved sales of different transactions on the same terminal, with the same
    amount, currency and masked PAN (not yet: how far apart)."""
    data, odata = sale["data"], other["data"]
    pan = data.get("masked_pan")
    if not pan or not approved_sale(sale) or not approved_sale(other):
        return False
    return bool(
        other["event_id"] != sale["event_id"]
        and other["terminal"] == sale["terminal"]
        and odata.get("txn_id") != data.get("txn_id")
        and odata.get("masked_pan") == pan
        and odata.get("currency") == data.get("currency")
        and minor(data) is not None
        and minor(odata) == minor(data)
    )


def refunds_done(told: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each refund once, by its latest `refund.completed` (told at its commit, maybe again
    by recovery), leaving out those a later `refund.failed` says the PT did not keep."""
    latest: dict[Any, dict[str, Any]] = {}
    for env in told:
        latest[env["data"].get("txn_id")] = env
    return [e for e in latest.values() if e["type"] == "refund.completed"]


def refund_day(
    terminal: str, day: str, completed: Iterable[dict[str, Any]], limits: Limits
) -> list[Finding]:
    """The day's completed refunds of one terminal over the count or the amount limit (the
    amount per currency, in minor units). `day` is the UTC date of their `occurred_at`."""
    rows = [e for e in completed if e["type"] == "refund.completed"]
    out = []
    if len(rows) > limits.refunds_per_day:
        count = {"day": day, "count": len(rows), "limit": limits.refunds_per_day}
        out.append(Finding("refunds_count", terminal, day, count))
    totals: dict[str, int] = {}
    for env in rows:
        amount = minor(env["data"])
        if amount is not None:
            currency = str(env["data"].get("currency"))
            totals[currency] = totals.get(currency, 0) + amount
    for currency, total in sorted(totals.items()):
        if total > limits.refund_minor_per_day:
            out.append(
                Finding(
                    "refunds_amount",
                    terminal,
                    f"{day}/{currency}",
                    {
                        "day": day,
                        "currency": currency,
                        "total": format_amount(total, currency),
                        "total_minor": total,
                        "limit_minor": limits.refund_minor_per_day,
                        "count": len(rows),
                    },
                )
            )
    return out


CLEARS_DOUBLE_CHARGE = (
    "void.completed",
    "refund.completed",
    "sale.recovered",
    "receipt.printed",
    "receipt.pending",
    "receipt.recovered",
)
# the events that tell what stays charged of a sale: recovery's word on it, its voids and
# refunds (each by its latest outcome)
NET_EVENTS = ("sale.recovered", "void.completed", "refund.completed", "refund.failed")


def net_charged(
    amount: int, sales: Iterable[str], told: Iterable[dict[str, Any]], receipted: Iterable[str]
) -> int:
    """What a card is still charged, net, by `sales` (txn ids of approved sales of `amount`
    minor units each), whatever order the events came in: each sale less its confirmed
    voids (the whole sale) and refunds (their amount), nothing of one recovery found not
    kept. `told`: the `NET_EVENTS` of those sales and of their voids and refunds, in seq
    order; `receipted`: the txn ids among those voids and refunds with a receipt told.

    A void or refund is told completed at its commit, before the PT's completion: it counts
    once confirmed, by its receipt (issued only after the completion) or by recovery
    finding it kept (state approved); not when its latest outcome says the PT did not keep
    it. A double charge is open while this is more than one sale's `amount`."""
    net = dict.fromkeys(sales, amount)
    latest: dict[str, dict[str, Any]] = {}
    kept: set[str] = set()
    for env in told:
        txn = env["data"].get("txn_id")
        if isinstance(txn, str):
            latest[txn] = env
            if env["data"].get("state") == "approved":
                kept.add(txn)
    confirmed = kept | set(receipted)
    for txn, env in latest.items():
        data = env["data"]
        if txn in net:  # one of the sales: recovery's word on it
            if env["type"] == "sale.recovered" and (
                not_charged(data) or data.get("state") not in ("approved", None)
            ):
                net[txn] = 0
            continue
        ref = data.get("ref_txn")
        if (
            ref not in net
            or env["type"] not in ("void.completed", "refund.completed")
            or not_charged(data)
            or txn not in confirmed
        ):
            continue
        back = amount if env["type"] == "void.completed" else (minor(data) or 0)
        net[str(ref)] -= back
    return sum(max(left, 0) for left in net.values())


def day_over(subject: str, now: str) -> bool:
    """A daily alert's day (its subject starts with the date) is over by `now`."""
    return subject[:10] < now[:10]

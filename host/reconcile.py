"""The daily reconciliation: per terminal and batch, the sales, refunds and voids as the
stored events tell them, side by side with the terminal's totals and the PT's own total
from `batch.closed`, and every difference with the transactions involved.

A day is a UTC calendar day: the batches whose `batch.closed` occurred on it. Amounts are
integer minor units inside, decimal strings outside.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from posterm.host.store import Store
from posterm.protocol import money
from posterm.protocol.errorcodes import ErrorCode
from posterm.protocol.mqtt.events import not_charged

KINDS = ("sales", "refunds", "voids")
# the event that books each kind of operation (a sale found approved on recovery counts too)
BOOKING = {
    "sale.approved": "sales",
    "sale.recovered": "sales",
    "refund.completed": "refunds",
    "void.completed": "voids",
}
IN_DOUBT = ("sale.in_doubt", "refund.in_doubt", "void.in_doubt")
SETTLES = {
    "sale.approved",
    "sale.recovered",
    "sale.declined",
    "refund.completed",
    "refund.failed",
    "refund.rejected",
    "void.completed",
}


class ReconcileError(Exception):
    """The reconciliation cannot run: `status` 2 for bad input, 1 for an unknown terminal."""

    def __init__(self, code: ErrorCode, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass
class Figures:
    """Counts and totals (minor units) of one batch, by kind."""

    amounts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    txns: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in KINDS})

    @property
    def net(self) -> int:
        return self.amounts["sales"] - self.amounts["refunds"] - self.amounts["voids"]

    def add(self, kind: str, txn_id: str, amount: int) -> None:
        self.amounts[kind] += amount
        self.counts[kind] += 1
        self.txns[kind].append(txn_id)


def minor(text: Any, currency: str) -> int:
    """A decimal string of the events ('12.50', '0.00', '-60.00') in minor units."""
    if not isinstance(text, str):
        raise ReconcileError(ErrorCode.BAD_EVENT, f"an amount is a decimal string, not {text!r}")
    sign = -1 if text.startswith("-") else 1
    digits = text.removeprefix("-")
    if digits.replace("0", "").replace(".", "") == "":
        return 0
    return sign * money.parse_amount(digits, currency)


def parse_day(text: str | None) -> date:
    if text is None:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ReconcileError(
            ErrorCode.BAD_REQUEST, f"--date is YYYY-MM-DD, not {text!r}", 2
        ) from None


def reconcile(store: Store, *, day: date, terminal: str | None = None) -> list[dict[str, Any]]:
    """One row per terminal and batch closed on `day`, and one per terminal that booked
    operations on `day` with no end of day after them (`_never_closed`)."""
    if terminal is not None and not store.knows_terminal(terminal):
        raise ReconcileError(ErrorCode.UNKNOWN_TERMINAL, f"no terminal {terminal} in the store")
    closes = [
        e
        for e in store.events(type_="batch.closed", terminal=terminal, limit=None)
        if _day(e["occurred_at"]) == day
    ]
    sold = {
        str(e["terminal"])
        for e in store.events(
            types=tuple(BOOKING), terminal=terminal, since=day.isoformat(), limit=None
        )
        if _day(e["occurred_at"]) == day
    }
    out = []
    for tid in sorted({str(e["terminal"]) for e in closes} | sold):
        history = store.events(terminal=tid, limit=None)
        gap = store.gap(tid)
        for close in (e for e in closes if e["terminal"] == tid):
            out.append(_batch(tid, close, history, gap))
        if tid in sold and (open_ := _never_closed(tid, day, history)) is not None:
            out.append(open_)
    return out


def _never_closed(tid: str, day: date, history: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The row of the terminal's operations booked on `day` with no `batch.closed` after
    them (by seq): money in no batch, that no reconciliation has seen (None: there are
    none). Its `batch_no` and `closed_at` are null, and it is never ok."""
    closed = max((e["seq"] for e in history if e["type"] == "batch.closed"), default=0)
    booked: dict[str, tuple[str, dict[str, Any]]] = {}  # txn_id -> (kind, latest booking)
    for env in history:
        txn_id = env["data"].get("txn_id")
        if env["seq"] <= closed or not isinstance(txn_id, str):
            continue
        if env["type"] == "refund.failed":
            booked.pop(txn_id, None)
        kind = BOOKING.get(env["type"])
        if kind is None:
            continue
        booked.pop(txn_id, None)
        if not_charged(env["data"]) or (
            env["type"] == "sale.recovered"
            and env["data"].get("state") not in ("approved", "voided")
        ):
            continue  # found never charged on recovery
        booked[txn_id] = (kind, env)
    today = {t: b for t, b in booked.items() if _day(b[1]["occurred_at"]) == day}
    if not today:
        return None
    currency = str(next(iter(today.values()))[1]["data"].get("currency", "EUR"))
    told = Figures()
    for txn_id, (kind, env) in today.items():
        told.add(kind, txn_id, minor(env["data"].get("amount"), currency))
    shown = _show(told, currency)
    detail = (
        f"{shown['sales_count']} sales ({shown['sales']}), {shown['refunds_count']}"
        f" refunds ({shown['refunds']}), {shown['voids_count']} voids ({shown['voids']})"
        f" on {day.isoformat()} and no end of day after them: in no batch"
    )
    return {
        "terminal": tid,
        "batch_no": None,
        "closed_at": None,
        "currency": currency,
        "events": shown,
        "terminal_totals": _show(Figures(), currency),
        "pt_total": None,
        "differences": [{"what": "never_closed", "detail": detail, "txns": sorted(today)}],
        "ok": False,
    }


def _batch(
    tid: str, close: dict[str, Any], history: list[dict[str, Any]], gap: int | None
) -> dict[str, Any]:
    data = close["data"]
    currency = str(data.get("currency", "EUR"))
    batch = data.get("batch_no")
    told = Figures()
    booked: dict[str, tuple[str, int]] = {}  # txn_id -> (kind, amount) of its latest booking
    last: dict[str, dict[str, Any]] = {}  # txn_id -> its latest event of its own
    named: set[str] = set()  # txn_ids of the receipts printed in this batch's time span
    since = _previous_close(history, close)
    for env in history:
        d = env["data"]
        txn_id = d.get("txn_id")
        if not isinstance(txn_id, str):
            continue
        if env["type"].startswith("receipt."):
            if since < _at(env["occurred_at"]) <= _at(close["occurred_at"]):
                named.add(txn_id)
            continue
        last[txn_id] = env
        if env["type"] == "refund.failed":  # told completed at its commit, then not kept
            booked.pop(txn_id, None)
        kind = BOOKING.get(env["type"])
        if kind is None or d.get("batch_no") != batch:
            continue
        # an operation is booked by its latest booking event: a sale approved, then in doubt
        # (the link lost before the completion), then recovered counts once, or not at all
        # when recovery found it never charged
        booked.pop(txn_id, None)
        if not_charged(d) or (
            env["type"] == "sale.recovered" and d.get("state") not in ("approved", "voided")
        ):
            continue  # found never charged on recovery
        booked[txn_id] = (kind, minor(d.get("amount"), currency))
    for txn_id, (kind, amount) in booked.items():
        told.add(kind, txn_id, amount)
    terminal = Figures()
    for kind in KINDS:
        terminal.amounts[kind] = minor(data.get(kind, "0"), currency)
        terminal.counts[kind] = int(data.get(f"{kind}_count", 0))
    differences = []
    for kind in KINDS:
        if (told.amounts[kind], told.counts[kind]) != (
            terminal.amounts[kind],
            terminal.counts[kind],
        ):
            differences.append(
                {
                    "what": f"{kind}_differ",
                    "detail": f"{kind}: the events tell {told.counts[kind]} for "
                    f"{money.format_amount(told.amounts[kind], currency)}, the terminal"
                    f" closed {terminal.counts[kind]} for "
                    f"{money.format_amount(terminal.amounts[kind], currency)}",
                    "txns": told.txns[kind],
                }
            )
    pt_total = minor(data["pt_total"], currency) if "pt_total" in data else None
    if pt_total is not None and pt_total != max(terminal.net, 0):
        net = money.format_amount(terminal.net, currency)
        differences.append(
            {
                "what": "pt_differs",
                "txns": [str(data.get("txn_id"))],
                "detail": f"the PT closed {data['pt_total']}, the terminal {net}",
            }
        )
    missing = sorted(named - set(last))
    if missing:
        differences.append(
            {
                "what": "events_missing",
                "txns": missing,
                "detail": "transactions with a receipt but no event of their own in the store",
            }
        )
    doubt = sorted(
        t
        for t, env in last.items()
        if env["type"] in IN_DOUBT and env["data"].get("batch_no") in (batch, None)
    )
    if doubt:
        differences.append(
            {
                "what": "in_doubt",
                "txns": doubt,
                "detail": "operations still in doubt: the PT may have booked them",
            }
        )
    late = sorted(
        t
        for t, env in last.items()
        if env["type"] == "refund.completed"
        and isinstance(batch, int)
        and env["data"].get("batch_no") == batch + 1
        and _requested_before(history, t, close["occurred_at"])
    )
    if late:
        differences.append(
            {
                "what": "refund_after_close",
                "txns": late,
                "detail": f"refunds requested before this end of day, booked in"
                f" batch {batch + 1 if isinstance(batch, int) else '?'}",
            }
        )
    if gap is not None:
        differences.append(
            {
                "what": "seq_gap",
                "txns": [],
                "detail": f"events from seq {gap} are missing: totals may be short",
            }
        )
    return {
        "terminal": tid,
        "batch_no": batch,
        "closed_at": close["occurred_at"],
        "currency": currency,
        "events": _show(told, currency),
        "terminal_totals": _show(terminal, currency),
        "pt_total": data.get("pt_total"),
        "differences": differences,
        "ok": not differences,
    }


def _previous_close(history: list[dict[str, Any]], close: dict[str, Any]) -> datetime:
    before = [
        _at(e["occurred_at"])
        for e in history
        if e["type"] == "batch.closed" and e["seq"] < close["seq"]
    ]
    return max(before, default=datetime.min.replace(tzinfo=UTC))


def _requested_before(history: list[dict[str, Any]], txn_id: str, moment: str) -> bool:
    return any(
        e["type"] == "refund.requested"
        and e["data"].get("txn_id") == txn_id
        and _at(e["occurred_at"]) <= _at(moment)
        for e in history
    )


def _show(figures: Figures, currency: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in KINDS:
        out[kind] = money.format_amount(figures.amounts[kind], currency)
        out[f"{kind}_count"] = figures.counts[kind]
    out["net"] = money.format_amount(figures.net, currency)
    return out


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _day(text: str) -> date:
    return _at(text).astimezone(UTC).date()


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet reads these as a formula
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def csv_cell(value: Any) -> str:
    """A cell a spreadsheet shows as text, never runs (OWASP CSV injection): one that starts
    with = + - @ tab or CR gets a leading ' (a plain number such as -5.00 stays one)."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


class _SafeWriter:
    """csv.writer whose every cell goes through `csv_cell` (terminal-supplied text:
    batch numbers, totals, transaction ids)."""

    def __init__(self, buf: io.StringIO) -> None:
        self._out = csv.writer(buf)

    def writerow(self, row: list[Any]) -> None:
        self._out.writerow([csv_cell(v) for v in row])


def to_csv(rows: list[dict[str, Any]]) -> str:
    """One line per terminal, batch and kind (plus the net and the PT), then the
    differences: a file an accountant can open, every cell escaped (`csv_cell`)."""
    buf = io.StringIO()
    out = _SafeWriter(buf)
    out.writerow(
        [
            "terminal",
            "batch",
            "closed_at",
            "currency",
            "figure",
            "events_count",
            "events_amount",
            "terminal_count",
            "terminal_amount",
            "difference",
        ]
    )
    for row in rows:
        head = [row["terminal"], row["batch_no"], row["closed_at"], row["currency"]]
        ev, te = row["events"], row["terminal_totals"]
        for kind in KINDS:
            same = (ev[kind], ev[f"{kind}_count"]) == (te[kind], te[f"{kind}_count"])
            out.writerow(
                [
                    *head,
                    kind,
                    ev[f"{kind}_count"],
                    ev[kind],
                    te[f"{kind}_count"],
                    te[kind],
                    "" if same else "DIFFERS",
                ]
            )
        out.writerow(
            [
                *head,
                "net",
                "",
                ev["net"],
                "",
                te["net"],
                "" if ev["net"] == te["net"] else "DIFFERS",
            ]
        )
        out.writerow([*head, "pt_total", "", "", "", row["pt_total"] or "", ""])
        for diff in row["differences"]:
            out.writerow(
                [
                    *head,
                    diff["what"],
                    "",
                    "",
                    "",
                    "",
                    f"{diff['detail']}: {' '.join(diff['txns'])}".strip(),
                ]
            )
    return buf.getvalue()

"""Queries over the stored events for the back office: refunds and their timeliness
(request -> approval -> completion, from the `refund.*` events' `occurred_at`), and
transactions with the text of their customer receipt (the `receipt.*` events' `lines`)."""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from posterm.host.notify import queue as notify_queue
from posterm.host.store import Store
from posterm.protocol.errorcodes import ErrorCode
from posterm.protocol.mqtt.events import not_charged

TXN_EVENTS = ("sale.approved", "sale.recovered", "void.completed", "refund.completed")
SHOWN_RECEIPTS = ("receipt.printed", "receipt.recovered")
NOT_PRINTED = "NOT PRINTED YET"
_AMOUNT = re.compile(r"[0-9]+(\.[0-9]+)?")
_LAST4 = re.compile(r"[0-9]{4}")


class LookupFailed(Exception):
    """A query that cannot be answered: `status` 2 for bad input, 1 for unknown things."""

    def __init__(self, code: ErrorCode, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


# -- input --------------------------------------------------------------------------------
def parse_amount(text: str) -> Decimal:
    if not _AMOUNT.fullmatch(text) or Decimal(text) <= 0:
        raise LookupFailed(
            ErrorCode.BAD_REQUEST, f"--amount is a decimal like 12.50, not {text!r}", 2
        )
    return Decimal(text)


def parse_last4(text: str) -> str:
    if not _LAST4.fullmatch(text):
        raise LookupFailed(ErrorCode.BAD_REQUEST, f"--last4 is four digits, not {text!r}", 2)
    return text


def parse_time(text: str, option: str) -> datetime:
    """An ISO 8601 time; without a zone it is UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise LookupFailed(
            ErrorCode.BAD_REQUEST, f"{option} is an ISO 8601 time, not {text!r}", 2
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _seconds(start: str | None, end: str | None) -> float | None:
    if start is None or end is None:
        return None
    return round((_at(end) - _at(start)).total_seconds(), 3)


# -- refunds ------------------------------------------------------------------------------
def refunds(store: Store, *, pending: bool = False) -> list[dict[str, Any]]:
    """Every refund the terminals told about, oldest request first."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for env in store.events(kind="refund", limit=None):
        data, step = env["data"], env["type"].split(".", 1)[1]
        txn_id = data.get("txn_id")
        if not isinstance(txn_id, str):
            continue
        row = found.setdefault(
            (env["terminal"], txn_id),
            {
                "terminal": env["terminal"],
                "txn_id": txn_id,
                "state": None,
                "amount": None,
                "currency": None,
                "sale": None,
                "reason": None,
                "reason_text": None,
                "approved_by": None,
                "rejected_by": None,
                "requested_at": None,
                "approved_at": None,
                "rejected_at": None,
                "completed_at": None,
                "failed_at": None,
            },
        )
        row["state"] = step
        for key, field in (
            ("amount", "amount"),
            ("currency", "currency"),
            ("sale", "ref_txn"),
            ("reason", "reason"),
            ("reason_text", "reason_text"),
        ):
            if data.get(field) is not None:
                row[key] = data[field]
        if step in ("requested", "approved", "rejected", "completed", "failed"):
            row[f"{step}_at"] = row[f"{step}_at"] or env["occurred_at"]
        if step in ("approved", "rejected"):
            row[f"{step}_by"] = data.get("by")
        if step == "requested":
            row["requested_state"] = data.get("state")
    out = []
    told = notify_queue.states(store)
    for row in found.values():
        row["notification"] = told.get((row["terminal"], row["txn_id"]))
        asked = row.pop("requested_state", None)
        row["over_limit"] = row["approved_at"] is not None
        row["awaiting_approval"] = (
            row["requested_at"] is not None
            and asked in (None, "awaiting_approval")
            and not any(row[f"{s}_at"] for s in ("approved", "rejected", "completed", "failed"))
        )
        row["request_to_approval_s"] = _seconds(row["requested_at"], row["approved_at"])
        row["approval_to_completion_s"] = _seconds(row["approved_at"], row["completed_at"])
        row["request_to_completion_s"] = _seconds(row["requested_at"], row["completed_at"])
        if not pending or row["awaiting_approval"]:
            out.append(row)
    return sorted(out, key=lambda r: (r["requested_at"] or r["completed_at"] or "", r["txn_id"]))


def _p95(values: list[float]) -> float:
    """Nearest rank: the smallest value with at least 95 % of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(math.ceil(0.95 * len(ordered)), 1) - 1]


def refund_stats(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per terminal and fleet-wide: refunds, completed, median and p95 of the seconds from
    request to completion, and how many went over the approval limit."""

    def summary(part: list[dict[str, Any]]) -> dict[str, Any]:
        times = [
            r["request_to_completion_s"] for r in part if r["request_to_completion_s"] is not None
        ]
        return {
            "count": len(part),
            "completed": len(times),
            "median_s": round(statistics.median(times), 3) if times else None,
            "p95_s": _p95(times) if times else None,
            "over_limit": sum(1 for r in part if r["over_limit"]),
        }

    terminals = sorted({r["terminal"] for r in rows})
    return {
        "terminals": {t: summary([r for r in rows if r["terminal"] == t]) for t in terminals},
        "fleet": summary(rows),
    }


# -- transactions and receipts --------------------------------------------------------------
def _txn(env: dict[str, Any]) -> dict[str, Any]:
    data = env["data"]
    return {
        "txn_id": data["txn_id"],
        "terminal": env["terminal"],
        "kind": data.get("kind") or env["type"].split(".", 1)[0],
        "event": env["type"],
        "occurred_at": env["occurred_at"],
        "amount": data.get("amount"),
        "currency": data.get("currency"),
        "masked_pan": data.get("masked_pan"),
        "card_name": data.get("card_name"),
        "receipt_no": data.get("receipt_no"),
        "ref_txn": data.get("ref_txn"),
    }


def receipt_of(store: Store, terminal: str, txn_id: str) -> dict[str, Any]:
    """The customer receipt of a terminal's transaction: the last printed or recovered
    one, else the last pending one (NOT PRINTED YET), else none. Only that terminal's
    receipt events count (another may have used the same txn_id)."""
    return _receipt(
        store.events(
            terminal=terminal, kind="receipt", txn_id=txn_id, customer_copy=True, limit=None
        )
    )


def _receipt(events: list[dict[str, Any]]) -> dict[str, Any]:
    """`receipt_of` out of a transaction's customer-copy receipt events, in seq order."""
    shown = [e for e in events if e["type"] in SHOWN_RECEIPTS]
    pending = [e for e in events if e["type"] == "receipt.pending"]
    if not shown and not pending:
        return {"state": "none", "note": "no receipt event for this transaction", "lines": []}
    env = (shown or pending)[-1]
    state = env["type"].split(".", 1)[1]
    out: dict[str, Any] = {
        "state": state,
        "mark": env["data"].get("mark"),
        "occurred_at": env["occurred_at"],
        "lines": list(env["data"].get("lines") or []),
    }
    if not shown:
        out["note"] = NOT_PRINTED + (f" ({env['data']['why']})" if env["data"].get("why") else "")
    if "lines" not in env["data"]:
        out["note"] = (out.get("note", "") + " the terminal sent no receipt text").strip()
    return out


FIND_LIMIT = 200  # the most matches a search shows (the newest): more, narrow the search
RECEIPTS = (*SHOWN_RECEIPTS, "receipt.pending")
VOIDS = ("void.completed", "void.in_doubt")
IN_DOUBT = ("sale.in_doubt", "void.in_doubt", "refund.in_doubt")
_ZONES = timedelta(days=1)  # the SQL prefilter's slack for terminals' zone offsets


def find(
    store: Store,
    terminal: str | None,
    *,
    amount: str | None = None,
    last4: str | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The sales, refunds and voids that match, with their receipts, oldest first: of one
    terminal, or of the whole fleet (`terminal` None: then at least one of amount, last 4
    or a time range is required). Each carries its terminal (a txn_id is unique only per
    terminal). With `limit`: the newest `limit` of them. One SQL query (`txn_events`);
    the store is asked whether a named terminal exists only when nothing matched."""
    want = parse_amount(amount) if amount is not None else None
    digits = parse_last4(last4) if last4 is not None else None
    start = parse_time(since, "--from") if since is not None else None
    end = parse_time(until, "--to") if until is not None else None
    if start and end and start > end:
        raise LookupFailed(ErrorCode.BAD_REQUEST, "--from is after --to", 2)
    if terminal is None and want is None and digits is None and not (start or end):
        raise LookupFailed(
            ErrorCode.BAD_REQUEST,
            "a search of every terminal needs an amount, the last 4 digits or a time range"
            " (--amount, --last4, --from/--to), or name the terminal",
            2,
        )
    events = store.txn_events(
        (*TXN_EVENTS, "refund.failed"),
        (*IN_DOUBT, *RECEIPTS),
        VOIDS,
        terminal=terminal,
        since=_slack(start, -_ZONES),
        until=_slack(end, _ZONES),
        pan_ends=digits,
    )
    out = []
    outcomes = _outcomes_of(e for e in events if e["type"] in (*TXN_EVENTS, "refund.failed"))
    voids = _voids_of(e for e in events if e["type"] in VOIDS)
    doubts: dict[tuple[str, str], int] = {}
    receipts: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for env in events:
        key = (str(env["terminal"]), str(env["data"].get("txn_id")))
        if env["type"] in IN_DOUBT:
            doubts[key] = env["seq"]
        elif env["type"] in RECEIPTS:
            receipts.setdefault(key, []).append(env)
    for key, (first, last) in outcomes.items():
        if not _charged(last):
            continue  # no money moved
        data = first["data"]  # what was asked, when: the time the customer knows
        if want is not None and (data.get("amount") is None or Decimal(data["amount"]) != want):
            continue
        if digits is not None and not str(data.get("masked_pan") or "").endswith(digits):
            continue
        moment = _at(first["occurred_at"])
        if (start and moment < start) or (end and moment > end):
            continue
        out.append(
            {
                **_txn(first),
                "event": last["type"],
                **_standing(last, doubts.get(key), voids.get(key, [])),
                "receipt": _receipt(receipts.get(key, [])),
            }
        )
    if not out and terminal is not None and not store.knows_terminal(terminal):
        raise LookupFailed(ErrorCode.UNKNOWN_TERMINAL, f"no terminal {terminal} in the store")
    out.sort(key=lambda t: (_at(t["occurred_at"]), t["terminal"]))
    return out[-limit:] if limit is not None and len(out) > limit else out


def search(
    store: Store, terminal: str | None, *, limit: int | None = None, **criteria: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """`find`'s newest `limit` (FIND_LIMIT) matches, newest first, and a note when more
    matched."""
    limit = FIND_LIMIT if limit is None else limit
    found = find(store, terminal, limit=limit + 1, **criteria)[::-1]
    if len(found) <= limit:
        return found, None
    return found[:limit], f"first {limit} shown (the newest): narrow the search"


def _slack(moment: datetime | None, by: timedelta) -> str | None:
    """A bound for the SQL prefilter, widened by `by`: the terminals' `occurred_at` are
    compared as text, and a terminal may tell its time in another zone."""
    return None if moment is None else (moment + by).astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def _outcomes(
    store: Store, **where: Any
) -> dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]]:
    """(terminal, txn_id) -> (its first, its latest) outcome event, in seq order, in the
    order first told: an approval is told at its commit, and a crash before the PT's
    completion is followed by recovery's word (kept, or not charged: `sale.recovered`,
    `refund.failed`, `void.completed`)."""
    return _outcomes_of(store.events(types=(*TXN_EVENTS, "refund.failed"), limit=None, **where))


def _outcomes_of(
    events: Iterable[dict[str, Any]],
) -> dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]]:
    found: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] = {}
    for env in events:
        txn_id = env["data"].get("txn_id")
        if isinstance(txn_id, str):
            key = (str(env["terminal"]), txn_id)
            found[key] = (found[key][0] if key in found else env, env)
    return found


def _charged(last: dict[str, Any]) -> bool:
    """Whether a transaction's latest outcome event says money moved."""
    data = last["data"]
    lost = last["type"] == "sale.recovered" and data.get("state") != "approved"
    return not (lost or not_charged(data) or last["type"] == "refund.failed")


def one_terminal(txn_id: str, terminals: list[str], terminal: str | None, what: str) -> str:
    """The terminal a transaction id names: `terminal` when it used the id, else the one
    terminal that did; none, or several without `terminal`: refused (status 1)."""
    if terminal is not None:
        if terminal not in terminals:
            raise LookupFailed(
                ErrorCode.UNKNOWN_TXN, f"no {what} {txn_id} of terminal {terminal} in the events"
            )
        return terminal
    if not terminals:
        raise LookupFailed(ErrorCode.UNKNOWN_TXN, f"no {what} {txn_id} in the events")
    if len(terminals) > 1:
        raise LookupFailed(
            ErrorCode.AMBIGUOUS_TXN,
            f"{txn_id} names a {what} of several terminals"
            f" ({', '.join(terminals)}): name the terminal (--terminal)",
        )
    return terminals[0]


def refund_terminal(store: Store, txn_id: str, terminal: str | None = None) -> str:
    """The terminal whose refund `txn_id` is (`one_terminal`)."""
    return one_terminal(txn_id, store.refund_terminals(txn_id), terminal, "refund")


def show(store: Store, txn_id: str, terminal: str | None = None) -> dict[str, Any]:
    """One transaction of a terminal as its latest outcome tells it, and its customer
    receipt. Without `terminal`: the one terminal that used the id (several: refused,
    `ambiguous_txn`). `charged` is true only when money moved and stayed moved: false when
    the PT did not keep it or a void of it was kept (`voided` true), null while it or its
    void is in doubt (`state` says which: charged, not_charged, in_doubt, voided or
    void_in_doubt)."""
    found = _outcomes(store, txn_id=txn_id)
    doubts = store.events(types=IN_DOUBT, txn_id=txn_id, limit=None)
    terminals = sorted({t for t, _ in found} | {str(e["terminal"]) for e in doubts})
    tid = one_terminal(txn_id, terminals, terminal, "sale, refund or void")
    mine = [e for e in doubts if e["terminal"] == tid]
    first, last = found.get((tid, txn_id)) or (mine[0], None)
    doubt = max((e["seq"] for e in mine), default=None)
    return {
        **_txn(first),
        "event": (last or mine[-1])["type"],
        **_standing(last, doubt, _voids(store, tid).get(txn_id, [])),
        "receipt": receipt_of(store, tid, txn_id),
    }


def _voids(store: Store, terminal: str) -> dict[str, list[dict[str, Any]]]:
    """ref_txn -> the latest event of each void of it (`void.completed` or `.in_doubt`)."""
    found = _voids_of(store.events(types=VOIDS, terminal=terminal, limit=None))
    return {ref: voids for (_, ref), voids in found.items()}


def _voids_of(events: Iterable[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(terminal, ref_txn) -> the latest event of each void of it, from void events."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for env in events:
        if isinstance(env["data"].get("txn_id"), str):
            latest[(str(env["terminal"]), env["data"]["txn_id"])] = env
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for env in latest.values():
        ref = env["data"].get("ref_txn")
        if isinstance(ref, str):
            out.setdefault((str(env["terminal"]), ref), []).append(env)
    return out


def _standing(
    last: dict[str, Any] | None, doubt_seq: int | None, voids: list[dict[str, Any]]
) -> dict[str, Any]:
    """`charged`, `state` and `voided` of a transaction: its latest outcome event (None:
    none yet), the seq of its latest in-doubt event, the latest events of its voids."""
    kept = [v for v in voids if v["type"] == "void.completed" and not not_charged(v["data"])]
    doubtful = [v for v in voids if v["type"] == "void.in_doubt"]
    voided = True if kept else None if doubtful else False
    out: dict[str, Any] = {"voided": voided}
    if kept:
        out["voided_by"] = kept[-1]["data"]["txn_id"]
    if last is None or (doubt_seq is not None and doubt_seq > last["seq"]):
        return {**out, "charged": None, "state": "in_doubt"}
    if not _charged(last):
        return {**out, "charged": False, "state": "not_charged"}
    if voided is None:
        return {**out, "charged": None, "state": "void_in_doubt"}
    return {**out, "charged": not voided, "state": "voided" if voided else "charged"}

"""The event rules' reads for one ingested batch, one statement each whatever the batch's
size (`host/alerts/engine.py`): the approved sales near each new sale (same terminal, card
and amount: a likely double charge), the refunds of each (terminal, UTC day) a new refund
falls on, the open alerts of some kinds on some terminals.

Each read takes its keys as a table (`WITH k AS (VALUES …)` on SQLite, `unnest` of arrays
on PostgreSQL: a handful of parameters, one prepared statement) driving an index lookup
per key, so a batch of 500 events costs one round trip, not 500."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from posterm.host import sql_values
from posterm.host.alerts.rules import alike, minor
from posterm.host.db import Row, Tx

SALES = "('sale.approved', 'sale.recovered')"
REFUNDS = "('refund.completed', 'refund.failed')"
NEAR_KEYS = (
    ("sale", "text"),
    ("terminal", "text"),
    ("pan", "text"),
    ("low", "text"),
    ("high", "text"),
    ("amount", "bigint"),
)


def window(at: str, s: float) -> tuple[str, str] | None:
    """`at` less and plus `s` seconds, as the events' occurred_at are written (None: `at`
    is no time, or its window leaves the calendar). Terminals write UTC to the millisecond
    (`…T10:11:12.345Z`): for those the whole seconds are shifted once per distinct second
    (`_seconds_window`, cached: a batch's sales share a handful), the fraction kept."""
    if (
        len(at) == 24
        and at[19] == "."
        and at[23] == "Z"
        and at[20:23].isdigit()
        and s == int(s)
        and (whole := _seconds_window(at[:19], int(s))) is not None
    ):
        return whole[0] + at[19:], whole[1] + at[19:]
    try:
        return _shifted(datetime.fromisoformat(at), s, "milliseconds")
    except (ValueError, OverflowError):
        return None


@lru_cache(maxsize=4096)
def _seconds_window(seconds: str, s: int) -> tuple[str, str] | None:
    """`YYYY-MM-DDTHH:MM:SS` less and plus `s` seconds (None: no such moment, or out of
    datetime's range)."""
    try:
        return _shifted(datetime.fromisoformat(seconds), s, "seconds")
    except (ValueError, OverflowError):
        return None


def _shifted(moment: datetime, s: float, timespec: str) -> tuple[str, str]:
    low, high = (
        (moment + timedelta(seconds=d)).isoformat(timespec=timespec).replace("+00:00", "Z")
        for d in (-s, s)
    )
    return low, high


def sales_near(
    tx: Tx, dialect: str, sales: list[dict[str, Any]], window_s: float
) -> dict[str, list[dict[str, Any]]]:
    """For each approved sale of `sales` with a masked PAN and an amount, by its event_id:
    the other approved sales of its terminal, card and amount (or no amount column) told
    within `window_s` of it (by `occurred_at`), newest first, that `rules.alike` takes."""
    keys: list[tuple[Any, ...]] = []
    by_id: dict[str, dict[str, Any]] = {}
    for sale in sales:
        pan, amount = sale["data"].get("masked_pan"), minor(sale["data"])
        span = window(str(sale["occurred_at"]), window_s)
        if not isinstance(pan, str) or amount is None or span is None:
            continue
        by_id[str(sale["event_id"])] = sale
        keys.append((str(sale["event_id"]), sale["terminal"], pan, *span, amount))
    if not keys:
        return {}
    rows = sql_values.keyed(
        tx,
        dialect,
        NEAR_KEYS,
        keys,
        " UNION ALL ".join(  # each half one index range per key (events_card_amount)
            sql_values.per_key(
                dialect,
                "k.sale AS sale, e.envelope AS envelope, e.occurred_at AS occurred_at",
                "events e",
                f"e.terminal = k.terminal AND e.masked_pan = k.pan AND {amount} AND"
                " e.occurred_at >= k.low AND e.occurred_at <= k.high AND e.event_id <> k.sale"
                f" AND e.type IN {SALES}",
            )
            for amount in ("e.amount_minor = k.amount", "e.amount_minor IS NULL")
        ),
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for row in sorted(rows, key=lambda r: str(r["occurred_at"]), reverse=True):
        sale = by_id[str(row["sale"])]
        other = json.loads(row["envelope"])
        if alike(sale, other):
            out.setdefault(str(row["sale"]), []).append(other)
    return out


def refund_days(
    tx: Tx, dialect: str, days: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """The refund.completed and refund.failed events of each (terminal, UTC day), in seq
    order."""
    if not days:
        return {}
    rows = sql_values.keyed(
        tx,
        dialect,
        [("terminal", "text"), ("day", "text"), ("before", "text")],
        [(tid, day, day + "T99") for tid, day in days],
        sql_values.per_key(
            dialect,
            "k.terminal AS terminal, k.day AS day, e.envelope AS envelope",
            "events e",
            f"e.terminal = k.terminal AND e.type IN {REFUNDS} AND e.occurred_at >= k.day"
            " AND e.occurred_at < k.before",
        )
        + " ORDER BY k.terminal, k.day, e.seq",
    )
    out: dict[tuple[str, str], list[dict[str, Any]]] = {key: [] for key in days}
    for row in rows:
        out[(str(row["terminal"]), str(row["day"]))].append(json.loads(row["envelope"]))
    return out


def open_alerts(
    tx: Tx, dialect: str, kinds: Sequence[str], terminals: Sequence[str]
) -> dict[str, list[Row]]:
    """The open alerts of `kinds` on `terminals`, by terminal: one index lookup per (kind,
    terminal) (alerts_one_open), in statements of a few shapes (`sql_values.keyed`)."""
    out: dict[str, list[Row]] = {tid: [] for tid in terminals}
    if not terminals:
        return out
    rows = sql_values.keyed(
        tx,
        dialect,
        [("kind", "text"), ("terminal", "text")],
        [(kind, tid) for tid in terminals for kind in kinds],
        sql_values.per_key(
            dialect,
            "a.*",
            "alerts a",
            "a.kind = k.kind AND a.terminal = k.terminal AND a.cleared_at IS NULL",
        ),
    )
    for row in rows:
        out[str(row["terminal"])].append(row)
    return out

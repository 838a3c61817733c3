"""What the status page reads and writes in the host's store: a refund's events named by
(terminal, txn_id) only (never another terminal's), its sale, the terminal's first closing
after it, the language its customer asked for (never the contact itself), and the page's
open count."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from posterm.host.public.timeline import Event
from posterm.host.store import Store


@dataclass(frozen=True)
class Found:
    events: list[Event]  # the refund's, in seq order
    sale: dict[str, Any] | None  # the sale's approved data, when the refund names one
    closing: Event | None  # the terminal's first batch.closed after the refund completed
    lang: str | None  # the refund's notification language, if the customer gave one
    last_heard: datetime | None = None  # when the host received the refund's last event


def _event(row: dict[str, Any]) -> Event:
    env = json.loads(row["envelope"])
    return Event(str(row["type"]), _when(env["occurred_at"]), dict(env.get("data") or {}))


def find(store: Store, terminal: str, txn_id: str) -> Found | None:
    """The refund `txn_id` of `terminal` (its latest life), or None when there is none."""
    rows = store.db.rows(
        "SELECT type, seq, life, envelope, received_at FROM events WHERE terminal = ?"
        " AND txn_id = ? AND type LIKE 'refund.%' ORDER BY life, seq",
        (terminal, txn_id),
    )
    if not rows:
        return None
    life = max(int(r["life"]) for r in rows)
    rows = [r for r in rows if int(r["life"]) == life]
    events = [_event(r) for r in rows]
    sale = None
    ref = events[0].data.get("ref_txn")
    if isinstance(ref, str):
        sales = store.db.rows(
            "SELECT type, seq, life, envelope FROM events WHERE terminal = ? AND txn_id = ?"
            " AND life = ? AND type IN ('sale.approved', 'sale.recovered') ORDER BY seq",
            (terminal, ref, life),
        )
        sale = _event(sales[-1]).data if sales else None
    closing = None
    done = [int(r["seq"]) for r in rows if r["type"] == "refund.completed"]
    if done:
        after = store.db.rows(
            "SELECT type, seq, life, envelope FROM events WHERE terminal = ? AND life = ?"
            " AND type = 'batch.closed' AND seq > ? ORDER BY seq LIMIT 1",
            (terminal, life, min(done)),
        )
        closing = _event(after[0]) if after else None
    heard = max(_when(r["received_at"]) for r in rows)
    return Found(events, sale, closing, _lang(store, terminal, txn_id), heard)


def _when(value: Any) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _lang(store: Store, terminal: str, txn_id: str) -> str | None:
    """The notification's language, or the pending contact's (only its `lang`)."""
    for sql in (
        "SELECT lang FROM notifications WHERE terminal = ? AND txn_id = ?",
        "SELECT contact AS lang FROM contacts WHERE terminal = ? AND txn_id = ?",
    ):
        rows = store.db.rows(sql, (terminal, txn_id))
        if rows and rows[0]["lang"]:
            value = str(rows[0]["lang"])
            if value.startswith("{"):
                lang = json.loads(value).get("lang")
                return lang if isinstance(lang, str) else None
            return value
    return None


def opened(store: Store, terminal: str, txn_id: str, at: str) -> None:
    """Count one opening of the refund's page by its customer."""
    with store.transaction() as tx:
        tx.execute(
            "INSERT INTO public_opens (terminal, txn_id, opens, last_at) VALUES (?, ?, 1, ?)"
            " ON CONFLICT (terminal, txn_id) DO UPDATE SET opens = public_opens.opens + 1,"
            " last_at = excluded.last_at",
            (terminal, txn_id, at),
        )


def opens(store: Store, keys: list[tuple[str, str]]) -> dict[tuple[str, str], tuple[int, str]]:
    """(terminal, txn_id) -> (opens, last_at) of those opened at least once."""
    out: dict[tuple[str, str], tuple[int, str]] = {}
    wanted = set(keys)
    txns = sorted({txn for _, txn in keys})
    for i in range(0, len(txns), 500):
        part = txns[i : i + 500]
        marks = ", ".join("?" for _ in part)
        for r in store.db.rows(
            f"SELECT terminal, txn_id, opens, last_at FROM public_opens WHERE txn_id IN ({marks})",
            part,
        ):
            key = (str(r["terminal"]), str(r["txn_id"]))
            if key in wanted:
                out[key] = (int(r["opens"]), str(r["last_at"]))
    return out


def with_opens(store: Store, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The dashboard's refund rows with `opened`: "customer opened the status page N
    times" (or "" when never) and `opened_at`, the last time (RFC 3339, or None): the
    page shows it as a time in the operator's own zone."""
    seen = opens(store, [(str(r["terminal"]), str(r["txn_id"])) for r in rows])
    out = []
    for r in rows:
        n, last = seen.get((str(r["terminal"]), str(r["txn_id"])), (0, ""))
        times = "once" if n == 1 else f"{n} times"
        opened = f"customer opened the status page {times}" if n else ""
        out.append({**r, "opened": opened, "opened_at": last or None})
    return out

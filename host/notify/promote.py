"""The sender's half of refund notifications (host/notify/queue.py keeps the contacts at
ingest): each contact the ingest marked (`news` > 0) is looked at here, out of the
ingest's transaction. Its refund's events are read; once the outcome is final (`decide`)
the contact leaves `contacts` and its notification row, with the facts of the message,
enters `notifications` in one transaction; a refund not final yet has its `news` set back
to 0 (unless the ingest marked it again meanwhile) until more of it arrives.

Told once, whatever dies when: the move is one transaction (a process killed before it
commits left the contact marked, looked at again), a contact is moved only by the
transaction that deleted it, and `notifications` holds one row per (terminal, txn_id).
The reads take no write lock (SQLite's WAL readers, PostgreSQL's snapshots): the contacts
first, then the events, so an event committed after them marks the contact again."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from typing import Any, Protocol

import msgspec

from posterm.host.db import Row
from posterm.host.notify.queue import OUTCOME_EVENTS, RECEIPTS, ROWS, TOLD_TYPES
from posterm.host.store import Store

log = logging.getLogger("posterm.host.notify")
# at most this many contacts per call, then more calls while a whole lot was looked at
LOOKS = 10
_decode = msgspec.json.Decoder(dict[str, Any]).decode  # a stored envelope: a JSON object


class Reads(Protocol):
    """A transaction or the database itself: whatever runs a read."""

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]: ...


def promote(store: Store, now: str, limit: int = ROWS) -> int:
    """Queue the notifications of the marked contacts whose refund is now final; how many
    were queued. `now`: the rows' created_at and first attempt."""
    queued = 0
    for _ in range(LOOKS):
        looked, moved = _promote(store, now, limit)
        queued += moved
        if looked < limit:
            break
    return queued


def _promote(store: Store, now: str, limit: int) -> tuple[int, int]:
    """One lot of marked contacts: (how many were looked at, how many queued)."""
    marked = store.db.rows(
        "SELECT terminal, txn_id, contact, news FROM contacts WHERE news > 0"
        " ORDER BY received_at LIMIT ?",
        (limit,),
    )
    if not marked:
        return 0, 0
    told = told_events(store.db, sorted({str(r["txn_id"]) for r in marked}))
    final: dict[tuple[str, str], tuple[Any, ...]] = {}  # (terminal, txn_id) -> its row
    waiting: list[tuple[str, str, int]] = []
    for r in marked:
        tid, txn_id = str(r["terminal"]), str(r["txn_id"])
        try:
            who = dict(json.loads(r["contact"]))
            row = _row((txn_id, tid), who, told.get((txn_id, tid), []), now)
        except (KeyError, TypeError, ValueError) as exc:  # one refund never stops the others
            log.error(
                "notify: %s %s: cannot be told (%s: %s)", tid, txn_id, type(exc).__name__, exc
            )
            row = None  # looked at: again only when more of it arrives
        if row is None:
            waiting.append((tid, txn_id, int(r["news"])))
        else:
            final[(tid, txn_id)] = row
    queued = 0
    with store.db.tx() as tx:
        if final:
            keys = sorted(final)
            gone = tx.rows(  # only the contacts this transaction took are told
                "DELETE FROM contacts WHERE (terminal, txn_id) IN (SELECT column1, column2"
                f" FROM (VALUES {', '.join(['(?, ?)'] * len(keys))}) AS final)"
                " RETURNING terminal, txn_id",
                [v for key in keys for v in key],
            )
            rows = [final[(str(g["terminal"]), str(g["txn_id"]))] for g in gone]
            if rows:
                queued = tx.execute(
                    "INSERT INTO notifications (notification_id, txn_id, terminal, channel,"
                    " contact, lang, facts, state, created_at, next_attempt_at) VALUES "
                    + ", ".join(["(?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)"] * len(rows))
                    + " ON CONFLICT (terminal, txn_id) DO NOTHING",
                    [v for row in rows for v in row],
                )
        if waiting:  # looked at: not final yet (marked again meanwhile: looked at again)
            tx.execute_many(
                "UPDATE contacts SET news = 0 WHERE terminal = ? AND txn_id = ? AND news = ?",
                waiting,
            )
    return len(marked), queued


def told_events(db: Reads, txn_ids: list[str]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(txn_id, terminal) -> the stored request, outcome and receipt events of `txn_ids`,
    in their terminal's order."""
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for i in range(0, len(txn_ids), ROWS):
        part = txn_ids[i : i + ROWS]
        # by txn_id alone, the types picked here: with `type IN (…)` SQLite takes the
        # type's index and reads every told event of the fleet
        rows = db.rows(
            "SELECT txn_id, terminal, seq, type, envelope FROM events WHERE txn_id IN"
            f" ({', '.join('?' for _ in part)})",
            part,
        )
        told = [r for r in rows if r["type"] in TOLD_TYPES]
        for row in sorted(told, key=lambda r: int(r["seq"])):  # each terminal's order
            key = (str(row["txn_id"]), str(row["terminal"]))
            try:
                found.setdefault(key, []).append(_decode(row["envelope"]))
            except msgspec.DecodeError as exc:  # checked at ingest: a damaged row, left out
                log.error(
                    "notify: %s %s seq %s: stored event unreadable: %s", *key, row["seq"], exc
                )
    return found


def final_outcome(db: Reads, terminal: str, txn_id: str) -> tuple[str, dict[str, Any]] | None:
    """The refund's outcome once it is final, with the event that tells it; None before
    (see `decide`)."""
    return decide(told_events(db, [txn_id]).get((txn_id, terminal), []))


def decide(told: list[dict[str, Any]]) -> tuple[str, dict[str, Any]] | None:
    """The outcome told by a refund's events (in seq order) once it is final; None before.

    `refund.failed` and `refund.rejected` are final. `refund.completed` is sent when the
    PT's approval is committed, before its completion (state `approved_unconfirmed`): a
    crash in between may end with the PT not keeping it, told by a `refund.failed` after
    the `refund.completed`. So it is final when recovery found it kept (state `approved`)
    or once one of its receipts is told (the terminal issues them only after the PT's
    completion): the customer never hears "refunded" of money that did not move."""
    ends = [e for e in told if e["type"] in ("refund.failed", "refund.rejected")]
    if ends:
        return OUTCOME_EVENTS[ends[-1]["type"]], ends[-1]
    done = [e for e in told if e["type"] == "refund.completed"]
    confirmed = any(e["data"].get("state") == "approved" for e in done) or any(
        e["type"] in RECEIPTS for e in told
    )
    return ("completed", done[-1]) if done and confirmed else None


def _row(
    key: tuple[str, str], who: dict[str, str], told: list[dict[str, Any]], now: str
) -> tuple[Any, ...] | None:
    """The notification row of a refund whose outcome is final (None: not final yet)."""
    final = decide(told)
    if final is None:
        return None
    name, outcome = final
    txn_id, terminal = key
    data = outcome["data"]
    asked: dict[str, Any] = {}
    if not all(data.get(k) for k in ("amount", "currency", "reason")):  # else the request's
        requests = [e for e in told if e["type"] == "refund.requested"]
        asked = requests[0]["data"] if requests else {}
    facts = {
        "outcome": name,
        "at": outcome["occurred_at"],
        "amount": data.get("amount") or asked.get("amount"),
        "currency": data.get("currency") or asked.get("currency"),
        "reason": data.get("reason") or asked.get("reason") or "other",
        "card": data.get("masked_pan") or "",
        "reference": txn_id,
    }
    channel = "email" if "email" in who else "sms"
    return (
        str(uuid.uuid4()),
        txn_id,
        terminal,
        channel,
        who[channel if channel == "email" else "phone"],
        who.get("lang", ""),
        json.dumps(facts),
        now,
        now,
    )

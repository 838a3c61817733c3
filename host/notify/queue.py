"""Refund notifications, durable in the host's database.

At ingest (inside its transaction): a `refund.requested` event's contact is taken out of
the stored envelope into `contacts`; when the refund's outcome is final (`refund.failed`,
`refund.rejected`, or `refund.completed` confirmed: see `final_outcome`; request and
outcome in either order) a row goes into `notifications` with the contact and the facts of
the message, and the contact row goes. The delivery queue (host/delivery/) marks each
row sent (and forgets the contact), tries again later, or after its last attempt marks it
failed with the reason. Contacts never delivered are forgotten after `keep_days`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from posterm.host.db import Tx
from posterm.host.delivery.queue import Table
from posterm.host.store import Store
from posterm.protocol import contact
from posterm.protocol.mqtt.events import rfc3339

OUTCOME_EVENTS = {
    "refund.completed": "completed",
    "refund.failed": "failed",
    "refund.rejected": "rejected",
}
RECEIPTS = ("receipt.printed", "receipt.pending", "receipt.recovered")
# its rows in the delivery queue (host/delivery/queue.py): the contact goes once delivered
TABLE = Table("notifications", "notification_id", "queued", forget_on_sent=("contact",))


def take_contacts(
    envelopes: Iterable[dict[str, Any]],
) -> tuple[dict[str, dict[str, str]], set[str]]:
    """Take every contact out of the envelopes (in place): (event_id -> checked contact of
    a refund request, every event_id that held one). The stored envelope never holds one;
    an unusable contact is dropped."""
    found: dict[str, dict[str, str]] = {}
    held: set[str] = set()
    for env in envelopes:
        data = env.get("data")
        if not isinstance(data, dict) or "notify" not in data:
            continue
        held.add(str(env.get("event_id")))
        checked = contact.from_event(data)
        env["data"] = {k: v for k, v in data.items() if k != "notify"}
        if checked is not None and env.get("type") == "refund.requested":
            found[str(env["event_id"])] = checked
    return found, held


def on_new(
    tx: Tx, envelopes: list[dict[str, Any]], contacts: dict[str, dict[str, str]], now: str
) -> int:
    """For the newly stored events: queue the notifications of the refunds whose outcome is
    now final, keep the contacts of those not final yet. Returns how many were queued (to
    wake a sender in this process).

    Each refund the batch tells of is looked at once, after the whole batch is stored (its
    request, outcome and voucher often come in one batch), and only those with a contact.
    The cost is per batch, not per refund: one query for the contacts kept by earlier
    batches (of refunds whose request is not in this one), one for whether any refund
    completed within the batch ended otherwise before (see `_decided_here`), one for the
    told events of the other refunds with a contact, then one INSERT of all their
    notifications; a contact is
    written to `contacts` only when its refund is not final yet. Nothing is rendered here:
    the sender renders each message (host/notify/sender.py)."""
    fresh: dict[tuple[str, str], dict[str, str]] = {}  # (txn_id, terminal) -> its contact
    touched: dict[tuple[str, str], None] = {}  # in the batch's order
    for env in envelopes:
        txn_id = env["data"].get("txn_id")
        if not isinstance(txn_id, str):
            continue
        key = (txn_id, str(env["terminal"]))
        if env["type"] == "refund.requested" and str(env["event_id"]) in contacts:
            fresh.setdefault(key, contacts[str(env["event_id"])])
        elif env["type"] not in OUTCOME_EVENTS and env["type"] not in RECEIPTS:
            continue
        touched[key] = None
    kept = _contacts_of(tx, sorted({txn_id for txn_id, t in touched if (txn_id, t) not in fresh}))
    who = {key: fresh.get(key) or _loaded(kept.get(key)) for key in touched}
    told = _decided_here(tx, envelopes, fresh)
    told.update(
        _told(
            tx,
            sorted({key[0] for key, c in who.items() if c is not None and key not in told}),
            {str(env["event_id"]): env for env in envelopes},
        )
    )
    rows: list[tuple[Any, ...]] = []
    waiting: list[tuple[str, str, str, str]] = []
    for key, person in who.items():
        if person is None:
            continue  # no contact (yet, or any more): queued when it arrives
        row = _row(key, person, told.get(key, []), now)
        if row is not None:
            rows.append(row)
        elif key in fresh:  # not final yet: kept until its outcome is
            waiting.append((key[0], key[1], json.dumps(person), now))
    if waiting:
        tx.execute_many(
            "INSERT INTO contacts (txn_id, terminal, contact, received_at) VALUES"
            " (?, ?, ?, ?) ON CONFLICT (terminal, txn_id) DO NOTHING",
            waiting,
        )
    if rows:
        tx.execute_many(
            "INSERT INTO notifications (notification_id, txn_id, terminal, channel, contact,"
            " lang, facts, state, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?,"
            " 'queued', ?, ?) ON CONFLICT (terminal, txn_id) DO NOTHING",
            rows,
        )
    gone = [(r[1], r[2]) for r in rows if (r[1], r[2]) in kept]
    if gone:
        tx.execute_many("DELETE FROM contacts WHERE txn_id = ? AND terminal = ?", gone)
    return len(rows)


_ENDS = ("refund.failed", "refund.rejected")


def _decided_here(
    tx: Tx, envelopes: list[dict[str, Any]], fresh: dict[tuple[str, str], dict[str, str]]
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """The refunds whose request (with a contact) and completed outcome are both in this
    batch, with their events of the batch: the common burst, decided without reading the
    events back. Only a `refund.failed` or `refund.rejected` stored before (a terminal's
    events out of order) could change that outcome: one query looks for those, and such a
    refund is left to `_told`."""
    here: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for env in envelopes:
        txn_id = env["data"].get("txn_id")
        key = (txn_id if isinstance(txn_id, str) else "", str(env["terminal"]))
        if key in fresh and env["type"] in TOLD_TYPES:
            here.setdefault(key, []).append(env)
    for key, events in list(here.items()):
        events.sort(key=lambda e: int(e["seq"]))
        final = decide(events)
        if final is None or final[0] != "completed":
            del here[key]
    txn_ids = sorted({txn_id for txn_id, _ in here})
    marks_ends = ", ".join(f"'{t}'" for t in _ENDS)
    for i in range(0, len(txn_ids), 500):
        part = txn_ids[i : i + 500]
        marks = ", ".join("?" for _ in part)
        for row in tx.rows(
            f"SELECT txn_id, terminal FROM events WHERE txn_id IN ({marks}) AND type IN"
            f" ({marks_ends})",
            part,
        ):
            here.pop((str(row["txn_id"]), str(row["terminal"])), None)
    return here


def _loaded(contact_json: str | None) -> dict[str, str] | None:
    return None if contact_json is None else dict(json.loads(contact_json))


def _contacts_of(tx: Tx, txn_ids: list[str], chunk: int = 500) -> dict[tuple[str, str], str]:
    """(txn_id, terminal) -> the stored contact, for those of `txn_ids` that have one."""
    found: dict[tuple[str, str], str] = {}
    for i in range(0, len(txn_ids), chunk):
        part = txn_ids[i : i + chunk]
        marks = ", ".join("?" for _ in part)
        for row in tx.rows(
            f"SELECT txn_id, terminal, contact FROM contacts WHERE txn_id IN ({marks})", part
        ):
            found[(str(row["txn_id"]), str(row["terminal"]))] = str(row["contact"])
    return found


TOLD_TYPES = frozenset(("refund.requested", *OUTCOME_EVENTS, *RECEIPTS))
_TOLD = ", ".join(f"'{t}'" for t in sorted(TOLD_TYPES))


def _told(
    tx: Tx, txn_ids: list[str], batch: dict[str, dict[str, Any]] | None = None, chunk: int = 500
) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(txn_id, terminal) -> the stored request, outcome and receipt events of `txn_ids`,
    in their terminal's order. `batch` (event_id -> envelope): the events just stored,
    taken as they are (only the envelopes of earlier batches are read and parsed)."""
    batch = batch or {}
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for i in range(0, len(txn_ids), chunk):
        part = txn_ids[i : i + chunk]
        marks = ", ".join("?" for _ in part)
        rows = tx.rows(
            f"SELECT event_id, txn_id, terminal, seq FROM events WHERE txn_id IN ({marks})"
            f" AND type IN ({_TOLD})",
            part,
        )
        earlier = [str(r["event_id"]) for r in rows if str(r["event_id"]) not in batch]
        read = _envelopes(tx, earlier)
        for row in sorted(rows, key=lambda r: int(r["seq"])):  # each terminal's order
            event_id = str(row["event_id"])
            key = (str(row["txn_id"]), str(row["terminal"]))
            found.setdefault(key, []).append(batch.get(event_id) or read[event_id])
    return found


def _envelopes(tx: Tx, event_ids: list[str]) -> dict[str, dict[str, Any]]:
    """event_id -> its stored envelope."""
    found: dict[str, dict[str, Any]] = {}
    for i in range(0, len(event_ids), 500):
        part = event_ids[i : i + 500]
        marks = ", ".join("?" for _ in part)
        for row in tx.rows(
            f"SELECT event_id, envelope FROM events WHERE event_id IN ({marks})", part
        ):
            found[str(row["event_id"])] = json.loads(row["envelope"])
    return found


def final_outcome(tx: Tx, terminal: str, txn_id: str) -> tuple[str, dict[str, Any]] | None:
    """The refund's outcome once it is final, with the event that tells it; None before
    (see `decide`)."""
    return decide(_told(tx, [txn_id]).get((txn_id, terminal), []))


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


def forget_old(tx: Tx, now: datetime, keep_days: int) -> int:
    """Contacts older than `keep_days`: out of both tables (their rows stay, contact-less)."""
    cutoff = rfc3339(now - timedelta(days=keep_days))
    gone = tx.execute("DELETE FROM contacts WHERE received_at < ?", (cutoff,))
    gone += tx.execute(
        "UPDATE notifications SET contact = NULL WHERE contact IS NOT NULL AND created_at < ?",
        (cutoff,),
    )
    return gone


def states(store: Store) -> dict[tuple[str, str], dict[str, Any]]:
    """(terminal, txn_id) -> its notification's delivery state, for the refunds listing:
    queued, sent or failed with the reason (never the contact)."""
    rows = store.db.rows(
        "SELECT terminal, txn_id, channel, state, attempts, last_error, sent_at FROM notifications"
    )
    return {
        (r["terminal"], r["txn_id"]): {
            k: r[k] for k in ("channel", "state", "attempts", "last_error", "sent_at")
        }
        for r in rows
    }

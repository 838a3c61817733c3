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
    """For the newly stored events: keep contacts, queue the notifications of the refunds
    whose outcome is now final. Returns how many were queued (to wake the sender).

    Each refund the batch tells of is looked at once, after the whole batch is stored (its
    request, outcome and voucher often come in one batch), and only those with a contact:
    one query finds them for the batch (most receipts are a sale's, with none)."""
    touched: dict[tuple[str, str], None] = {}  # (txn_id, terminal), in the batch's order
    for env in envelopes:
        txn_id = env["data"].get("txn_id")
        if not isinstance(txn_id, str):
            continue
        if env["type"] == "refund.requested" and str(env["event_id"]) in contacts:
            tx.execute(
                "INSERT INTO contacts (txn_id, terminal, contact, received_at) VALUES"
                " (?, ?, ?, ?) ON CONFLICT (terminal, txn_id) DO NOTHING",
                (txn_id, env["terminal"], json.dumps(contacts[str(env["event_id"])]), now),
            )
        elif env["type"] not in OUTCOME_EVENTS and env["type"] not in RECEIPTS:
            continue
        touched[(txn_id, str(env["terminal"]))] = None
    known = _contacts_of(tx, sorted({txn_id for txn_id, _ in touched}))
    queued = 0
    for txn_id, terminal in touched:
        who = known.get((txn_id, terminal))
        if who is not None:  # else no contact (yet, or any more): queued when it arrives
            queued += _queue(tx, terminal, txn_id, who, now)
    return queued


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


def final_outcome(tx: Tx, terminal: str, txn_id: str) -> tuple[str, dict[str, Any]] | None:
    """The refund's outcome once it is final, with the event that tells it; None before.

    `refund.failed` and `refund.rejected` are final. `refund.completed` is sent when the
    PT's approval is committed, before its completion (state `approved_unconfirmed`): a
    crash in between may end with the PT not keeping it, told by a `refund.failed` after
    the `refund.completed`. So it is final when recovery found it kept (state `approved`)
    or once one of its receipts is told (the terminal issues them only after the PT's
    completion): the customer never hears "refunded" of money that did not move."""
    types = ", ".join(f"'{t}'" for t in (*OUTCOME_EVENTS, *RECEIPTS))
    rows = tx.rows(
        f"SELECT envelope FROM events WHERE terminal = ? AND txn_id = ? AND type IN"
        f" ({types}) ORDER BY seq",
        (terminal, txn_id),
    )
    told = [json.loads(r["envelope"]) for r in rows]
    ends = [e for e in told if e["type"] in ("refund.failed", "refund.rejected")]
    if ends:
        return OUTCOME_EVENTS[ends[-1]["type"]], ends[-1]
    done = [e for e in told if e["type"] == "refund.completed"]
    confirmed = any(e["data"].get("state") == "approved" for e in done) or any(
        e["type"] in RECEIPTS for e in told
    )
    return ("completed", done[-1]) if done and confirmed else None


def _queue(tx: Tx, terminal: str, txn_id: str, contact_json: str, now: str) -> int:
    final = final_outcome(tx, terminal, txn_id)
    if final is None:
        return 0  # queued when the outcome is final
    name, outcome = final
    data = outcome["data"]
    who = json.loads(contact_json)
    asked: dict[str, Any] = {}
    if not all(data.get(k) for k in ("amount", "currency", "reason")):  # else the request's
        request = tx.rows(
            "SELECT envelope FROM events WHERE terminal = ? AND txn_id = ? AND"
            " type = 'refund.requested' ORDER BY seq LIMIT 1",
            (terminal, txn_id),
        )
        asked = json.loads(request[0]["envelope"])["data"] if request else {}
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
    count = tx.execute(
        "INSERT INTO notifications (notification_id, txn_id, terminal, channel, contact, lang,"
        " facts, state, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)"
        " ON CONFLICT (terminal, txn_id) DO NOTHING",
        (
            str(uuid.uuid4()),
            txn_id,
            terminal,
            channel,
            who[channel if channel == "email" else "phone"],
            who.get("lang", ""),
            json.dumps(facts),
            now,
            now,
        ),
    )
    tx.execute("DELETE FROM contacts WHERE txn_id = ? AND terminal = ?", (txn_id, terminal))
    return count


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

"""Refund notifications, durable in the host's database: the ingest's half.

At ingest (inside its transaction, a fixed few statements per batch, no reads): each
`refund.requested` event's contact is taken out of the stored envelope (`take_contacts`)
into `contacts`, and every contact whose refund the batch tells more of (its outcome or
a receipt) is marked, its `news` counted up (`on_new`). The sender process does the rest
(host/notify/promote.py): for each marked contact it reads the refund's events, and once
the outcome is final (see `decide`) it moves the contact into a `notifications` row with
the facts of the message, in one transaction. The delivery queue (host/delivery/) marks
each row sent (and forgets the contact), tries again later, or after its last attempt
marks it failed with the reason. Contacts never delivered are forgotten after
`keep_days`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import msgspec

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
TOLD_TYPES = frozenset(("refund.requested", *OUTCOME_EVENTS, *RECEIPTS))
NEWS_TYPES = frozenset((*OUTCOME_EVENTS, *RECEIPTS))  # what may make a refund's outcome final
# its rows in the delivery queue (host/delivery/queue.py): the contact goes once delivered
TABLE = Table("notifications", "notification_id", "queued", forget_on_sent=("contact",))
ROWS = 500  # rows per statement (a batch of posterm-host run holds at most 500 events)
_encode = msgspec.json.Encoder().encode


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
        event_id = str(env.get("event_id"))
        held.add(event_id)
        checked = contact.from_event(data)
        data = data.copy()
        del data["notify"]
        env["data"] = data
        if checked is not None and env.get("type") == "refund.requested":
            found[event_id] = checked
    return found, held


def on_new(
    tx: Tx, envelopes: list[dict[str, Any]], contacts: dict[str, dict[str, str]], now: str
) -> int:
    """For the newly stored events: keep the contacts of the batch's refund requests
    (`contacts`: event_id -> the checked contact) and mark those the batch tells more of.
    Returns how many contacts were written or marked (to wake a sender in this process).

    No reads and nothing decided or rendered here: one INSERT of the batch's contacts
    (`news` 1: the sender looks at each once) and one UPDATE counting up the `news` of the
    contacts kept by earlier batches whose refund's outcome or receipt is in this one (a
    refund without a contact matches no row); the sender process does the rest
    (host/notify/promote.py), so a refund is told once, of its final outcome, even when
    the request, the outcome and the voucher come in any order or batches."""
    fresh: dict[tuple[str, str], dict[str, str]] = {}  # (terminal, txn_id) -> its contact
    news: set[tuple[str, str]] = set()
    for env in envelopes:
        kind = env["type"]
        if kind == "refund.requested":
            who = contacts.get(str(env["event_id"]))
            if who is None:
                continue
            txn_id = env["data"].get("txn_id")
            if isinstance(txn_id, str):
                fresh.setdefault((str(env["terminal"]), txn_id), who)
        elif kind in NEWS_TYPES:
            txn_id = env["data"].get("txn_id")
            if isinstance(txn_id, str):
                news.add((str(env["terminal"]), txn_id))
    marked = 0
    if fresh:
        rows = [(tid, txn_id, _encode(who).decode(), now) for (tid, txn_id), who in fresh.items()]
        for i in range(0, len(rows), ROWS):
            part = rows[i : i + ROWS]
            marked += tx.execute(
                "INSERT INTO contacts (terminal, txn_id, contact, received_at, news) VALUES "
                + ", ".join(["(?, ?, ?, ?, 1)"] * len(part))
                + " ON CONFLICT (terminal, txn_id) DO UPDATE SET news = contacts.news + 1",
                [v for row in part for v in row],
            )
    keys = sorted(news - fresh.keys())
    for i in range(0, len(keys), ROWS):
        told = keys[i : i + ROWS]
        marked += tx.execute(
            "UPDATE contacts SET news = news + 1 WHERE (terminal, txn_id) IN (SELECT column1,"
            f" column2 FROM (VALUES {', '.join(['(?, ?)'] * len(told))}) AS batch)",
            [v for key in told for v in key],
        )
    return marked


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

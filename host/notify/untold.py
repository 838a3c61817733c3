"""A refund request carrying the customer's contact, ingested by a host without
`[notify]`: nobody can tell that customer, and the operators are told so. A
`notifications` row is written `failed` with the reason and no contact (the contact is
dropped at once, as every contact is), so `posterm-host refunds` and the dashboard's
refunds page show that this customer was not told."""

from __future__ import annotations

import json
import uuid
from typing import Any

from posterm.host.db import Tx

UNTOLD = "the back office has no [notify]: the customer was not told"


def record(
    tx: Tx, envelopes: list[dict[str, Any]], contacts: dict[str, dict[str, str]], now: str
) -> int:
    """For each newly stored `refund.requested` whose contact was taken out of it
    (`contacts`: event_id -> the checked contact): a failed notification without the
    contact. Returns how many were written (a refund already told of: none)."""
    written = 0
    for env in envelopes:
        who = contacts.get(str(env["event_id"]))
        data = env["data"]
        txn_id = data.get("txn_id")
        if env["type"] != "refund.requested" or who is None or not isinstance(txn_id, str):
            continue
        facts = {
            "outcome": "untold",
            "at": env["occurred_at"],
            "amount": data.get("amount"),
            "currency": data.get("currency"),
            "reason": data.get("reason") or "other",
            "card": "",
            "reference": txn_id,
        }
        written += tx.execute(
            "INSERT INTO notifications (notification_id, txn_id, terminal, channel, contact,"
            " lang, facts, state, attempts, created_at, next_attempt_at, last_error) VALUES"
            " (?, ?, ?, ?, NULL, ?, ?, 'failed', 0, ?, ?, ?) ON CONFLICT (terminal, txn_id)"
            " DO NOTHING",
            (
                str(uuid.uuid4()),
                txn_id,
                env["terminal"],
                "email" if "email" in who else "sms",
                who.get("lang", ""),
                json.dumps(facts),
                now,
                now,
                UNTOLD,
            ),
        )
    return written


class UntoldHooks:
    """The ingest's hooks on a host without `[notify]` (the counterpart of
    host/notify/sender.py's `IngestHooks`): the batch's contacts, then their rows."""

    def __init__(self) -> None:
        self._contacts: dict[str, dict[str, str]] = {}

    def prepare(self, contacts: dict[str, dict[str, str]]) -> None:
        """The contacts taken out of the batch before the store saw it (event_id -> it)."""
        self._contacts = contacts

    def on_new(self, tx: Tx, envelopes: list[dict[str, Any]], now: str) -> None:
        record(tx, envelopes, self._contacts, now)

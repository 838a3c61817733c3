"""What the host's CLI prints: a result as JSON (`--json`) or as a table or sentences
(protocol/clitext.py: never a repr or `k=v`), an empty result as a sentence that says so,
a failure with its code (exit status: `clitext.exit_code`, 65 for bad input, 1 refused);
a reader that goes away (`| head`) ends it quietly (141)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from posterm.protocol.clitext import cell, exit_code, fields, table
from posterm.protocol.errorcodes import ErrorCode

Columns = Sequence[tuple[str, str]]
# the columns of each listing (key, TITLE); what is not here is in --json
EVENTS = (
    ("occurred_at", "TIME"),
    ("terminal", "TERMINAL"),
    ("seq", "SEQ"),
    ("type", "TYPE"),
    ("txn_id", "TXN"),
    ("event_id", "EVENT"),
)
QUARANTINE = (
    ("last_at", "LAST"),
    ("terminal", "TERMINAL"),
    ("topic", "TOPIC"),
    ("reason", "REASON"),
    ("size", "BYTES"),
    ("seen", "SEEN"),
    ("first_at", "FIRST"),
)
WEBHOOKS = (
    ("created_at", "CREATED"),
    ("kind", "KIND"),
    ("state", "STATE"),
    ("attempts", "TRIES"),
    ("url", "URL"),
    ("sent_at", "SENT"),
    ("last_error", "LAST ERROR"),
    ("delivery_id", "ID"),
)
ALERTS = (
    ("severity", "SEVERITY"),
    ("name", "ALERT"),
    ("terminal", "TERMINAL"),
    ("since", "SINCE"),
    ("status", "STATUS"),
    ("alert_id", "ID"),
    ("what", "DETAIL"),
)
REFUNDS = (
    ("requested_at", "REQUESTED"),
    ("terminal", "TERMINAL"),
    ("txn_id", "TXN"),
    ("money", "AMOUNT"),
    ("state", "STATE"),
    ("reason", "REASON"),
    ("sale", "SALE"),
    ("decided", "DECIDED BY"),
    ("told", "CUSTOMER TOLD"),
)
TXNS = (
    ("occurred_at", "TIME"),
    ("terminal", "TERMINAL"),
    ("txn_id", "TXN"),
    ("kind", "KIND"),
    ("money", "AMOUNT"),
    ("card", "CARD"),
    ("state", "STATE"),
    ("receipt_no", "PT RECEIPT"),
)


def fail(as_json: bool, code: ErrorCode, message: str) -> int:
    """Print a refusal; its exit status (65 bad input, else 1)."""
    if as_json:
        print(json.dumps({"ok": False, "code": code, "error": message}))
    else:
        print(f"posterm-host: {message} [{code}]", file=sys.stderr)
    return exit_code(code)


def show(data: Any, as_json: bool, columns: Columns | None = None, empty: str = "none") -> None:
    """JSON, or a table of `columns` (every key when None), or `empty` for no rows."""
    if as_json:
        print(json.dumps(data))
    elif isinstance(data, list) and not data:
        print(empty)
    elif isinstance(data, list):
        keys = list(dict.fromkeys(k for row in data for k in row))
        print(table(data, columns or [(k, k.upper()) for k in keys]))
    else:
        print(fields(data))


def money(row: dict[str, Any]) -> str | None:
    amount = row.get("amount")
    return None if amount is None else f"{amount} {row.get('currency') or ''}".strip()


def alert_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Alerts with their status in a word and their detail as words."""

    def status(row: dict[str, Any]) -> str:
        if row.get("cleared_at"):
            return f"cleared {row['cleared_at']}"
        if row.get("muted"):
            return f"muted until {row.get('muted_until')}"
        if row.get("acked_by"):
            return f"acknowledged by {row['acked_by']}"
        return "open"

    def what(row: dict[str, Any]) -> str:
        detail = row.get("detail")
        if isinstance(detail, dict):
            detail = {k: v for k, v in detail.items() if k != "since"}
        return cell(detail)

    return [row | {"status": status(row), "what": what(row)} for row in rows]


def refund_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def told(row: dict[str, Any]) -> str | None:
        note = row.get("notification")
        if not isinstance(note, dict):
            return None
        why = f" ({note['last_error']})" if note.get("last_error") else ""
        return f"{note.get('channel')} {note.get('state')}{why}"

    return [
        row
        | {
            "money": money(row),
            "decided": row.get("approved_by") or row.get("rejected_by"),
            "told": told(row),
        }
        for row in rows
    ]


def reply_text(tid: str, name: str, reply: dict[str, Any]) -> str:
    """A terminal's reply to a command as sentences."""
    if not reply.get("ok"):
        return f"{tid} refused {name}: {reply.get('error') or '-'} [{reply.get('code') or '-'}]"
    result = reply.get("result")
    if isinstance(result, dict) and result:
        return f"{tid}: {name} done\n" + "\n".join("  " + x for x in fields(result).splitlines())
    return f"{tid}: {name} done" + ("" if result in (None, "", {}) else f": {cell(result)}")

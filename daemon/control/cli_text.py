"""How `posterm` shows a reply to people: a transaction as one sentence, the journal as a
table (time, kind, amount, card, state), the status as `label: value` lines; an empty
journal says so. `--json` prints the reply's result as it came."""

from __future__ import annotations

from typing import Any

from posterm.protocol.clitext import cell, fields, last4, table

JOURNAL_COLUMNS = (
    ("time", "TIME"),
    ("kind", "KIND"),
    ("money", "AMOUNT"),
    ("card", "CARD"),
    ("state", "STATE"),
    ("txn_id", "TXN"),
    ("receipt_no", "PT RECEIPT"),
    ("receipt_state", "RECEIPT"),
)
IN_DOUBT_COLUMNS = (
    ("txn_id", "TXN"),
    ("kind", "KIND"),
    ("amount", "AMOUNT"),
    ("pt_receipt_no", "PT RECEIPT"),
    ("state", "STATE"),
)


def human(command: str, result: Any) -> str:
    if command == "journal" and isinstance(result, list):
        return journal(result)
    if command == "status" and isinstance(result, dict):
        return status(result)
    if isinstance(result, dict) and "txn_id" in result:
        return transaction(result)
    if isinstance(result, dict):
        return fields(result)
    return cell(result)


def _time(at: str | None) -> str | None:
    """An RFC 3339 time as `YYYY-MM-DD HH:MM:SS` (the journal keeps UTC)."""
    return at[:19].replace("T", " ") if at else None


def journal(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no transactions yet"
    shown = [
        row
        | {
            "time": _time(row.get("created_at")),
            "money": f"{row['amount']} {row['currency']}",
            "card": last4(row.get("masked_pan")),
        }
        for row in rows
    ]
    return table(shown, JOURNAL_COLUMNS)


def transaction(txn: dict[str, Any]) -> str:
    """`sale T… approved: 12.50 EUR, card ..1234, PT receipt 17; customer receipt printed`."""
    parts = [f"{txn['amount']} {txn['currency']}"]
    card = last4(txn.get("masked_pan"))
    if card:
        parts.append(f"card {card}")
    if txn.get("ref_txn"):
        parts.append(f"of sale {txn['ref_txn']}")
    if txn.get("receipt_no") is not None:
        parts.append(f"PT receipt {txn['receipt_no']}")
    if txn.get("result_text"):
        parts.append(str(txn["result_text"]))
    receipt = txn.get("receipt_state")
    tail = f"; customer receipt {receipt}" if receipt and receipt != "none" else ""
    return f"{txn['kind']} {txn['txn_id']} {txn['state']}: {', '.join(parts)}{tail}"


def status(data: dict[str, Any]) -> str:
    text = fields(data, skip=("in_doubt_txns",))
    doubtful = data.get("in_doubt_txns") or []
    if doubtful:
        text += "\n\nin doubt (decide with `posterm resolve TXN charged|not-charged`):\n"
        text += table(doubtful, IN_DOUBT_COLUMNS)
    return text

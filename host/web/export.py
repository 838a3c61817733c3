"""The dashboard's CSV of transactions: what the receipt lookup found, a line each, every
cell escaped against spreadsheet formulas (`reconcile.csv_cell`); the card by its last four
digits only."""

from __future__ import annotations

import csv
import io
from typing import Any

from posterm.host.reconcile import csv_cell

COLUMNS = (
    "terminal",
    "txn_id",
    "kind",
    "occurred_at",
    "amount",
    "currency",
    "state",
    "voided",
    "card_name",
    "last4",
    "receipt_no",
    "ref_txn",
    "receipt",
)


def last4(masked_pan: Any) -> str:
    """The last four digits of the PT's masked PAN, else nothing."""
    text = str(masked_pan or "")
    return text[-4:] if len(text) >= 4 and text[-4:].isdigit() else ""


def transactions_csv(rows: list[dict[str, Any]]) -> str:
    """A header line, then a line per transaction of `lookup.find`."""
    buf = io.StringIO()
    out = csv.writer(buf)
    out.writerow(COLUMNS)
    for row in rows:
        values = {
            **row,
            "last4": last4(row.get("masked_pan")),
            "voided": "yes" if row.get("voided") else "",
            "receipt": (row.get("receipt") or {}).get("state"),
        }
        out.writerow([csv_cell(values.get(key)) for key in COLUMNS])
    return buf.getvalue()

"""The dashboard's CSV files: the transactions the receipt lookup found and the refunds,
a line each, every cell escaped against spreadsheet formulas (`reconcile.csv_cell`); the
card by its last four digits only. (Reconciliation: `reconcile.to_csv`.)"""

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


REFUND_COLUMNS = (
    "terminal",
    "txn_id",
    "sale",
    "amount",
    "currency",
    "state",
    "reason",
    "reason_text",
    "requested_at",
    "approved_by",
    "approved_at",
    "rejected_by",
    "rejected_at",
    "completed_at",
    "failed_at",
    "request_to_completion_s",
)


def refunds_csv(rows: list[dict[str, Any]]) -> str:
    """A header line, then a line per refund of `lookup.refunds`, oldest first."""
    buf = io.StringIO()
    out = csv.writer(buf)
    out.writerow(REFUND_COLUMNS)
    for row in rows:
        out.writerow([csv_cell(row.get(key)) for key in REFUND_COLUMNS])
    return buf.getvalue()


def filename_part(text: str) -> str:
    """`text` fit for a download's file name."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)

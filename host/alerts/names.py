"""What the operator reads of an alert: each kind's friendly name (the CLI and the
dashboard show it, never the internal kind) and the next step for an operation in doubt."""

from __future__ import annotations

# what the CLI and the dashboard call each kind (a test checks every kind has one)
NAMES = {
    "terminal_offline": "Terminal offline",
    "terminal_stale": "Terminal silent",
    "paper_out": "Printer out of paper",
    "outbox_stale": "Events not reaching the back office",
    "seq_gap": "Events missing",
    "in_doubt": "Payment in doubt",
    "receipt_pending": "Receipt not printed",
    "terminal_reset": "Terminal reset (new journal)",
    "pt_down": "Payment terminal down",
    "fault": "Terminal fault",
    "printer_problem": "Printer problem",
    "pi_hot": "Pi too hot",
    "pi_power": "Pi under-voltage or throttled",
    "pi_disk": "Pi disk nearly full",
    "pi_clock": "Pi clock not synchronised",
    "double_charge": "Possible double charge",
    "refunds_count": "Many refunds today",
    "refunds_amount": "Large refunds today",
    "reconcile_mismatch": "Day close does not match",
    "bad_message": "Message refused",
}


def name(kind: str) -> str:
    """The friendly name of an alert kind (the kind itself for one unknown here)."""
    return NAMES.get(kind, kind)


def next_step(txn_id: str | None, terminal: str | None = None) -> str:
    """What the operator does about an operation in doubt (on the terminal, or from the
    back office: `posterm-host resolve`, the dashboard's Resolve buttons)."""
    if txn_id:
        return (
            f"check the PT's journal for {txn_id}, then on the terminal: posterm resolve"
            f" {txn_id} charged|not-charged, or from the back office: posterm-host resolve"
            f" {terminal or 'TERMINAL'} {txn_id} charged|not-charged --by NAME"
        )
    return "check the PT link; the terminal resolves its in-doubt operations when the PT answers"

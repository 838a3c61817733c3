"""The receipt text the simulated PT sends (06 D1 lines or 06 D3 blocks)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from posterm.hwsim.pt.ledger import Entry
from posterm.protocol.zvt import pt_messages as pm

TITLES = {"payment": "SALE", "refund": "REFUND", "reversal": "REVERSAL"}


def receipt_lines(entry: Entry, config: Any, kind: int, *, duplicate: bool) -> list[str]:
    when = datetime.fromisoformat(entry.created_at).astimezone()
    copy = "MERCHANT COPY" if kind == pm.RECEIPT_MERCHANT else "CUSTOMER COPY"
    lines = [
        "POSTERM SIMULATED PT",
        f"Terminal-ID   {config.terminal_id}",
        f"VU-No. {config.vu_number}",
        f"Date {when:%d.%m.%Y}  {when:%H:%M:%S}",
        TITLES[entry.kind],
        f"Card   {entry.card_name or '-'}",
        f"PAN    {entry.masked_pan or '-'}",
        f"Trace-No.     {entry.trace:06d}",
        f"Receipt-No.   {entry.receipt_no:04d}",
        f"Turnover-No.  {entry.turnover_no:06d}",
    ]
    if entry.ref_receipt_no is not None:
        lines.append(f"Orig. Receipt {entry.ref_receipt_no:04d}")
    lines += [
        f"AMOUNT  {entry.amount // 100}.{entry.amount % 100:02d}",
        "APPROVED",
        "Contactless  PIN verified",
        "Please keep this receipt",
        copy,
    ]
    if duplicate:
        lines.insert(0, "** DUPLICATE **")
    return lines


def totals_bytes(count: int, total: int) -> bytes:
    """BMP 60 content as this simulator sends it: count (2 BCD) + amount (6 BCD) per
    card family; one family (0x01) here."""
    return bytes([0x01]) + bytes.fromhex(f"{count:04d}") + bytes.fromhex(f"{max(total, 0):012d}")

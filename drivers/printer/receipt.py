"""Receipts as structured data, and the layouts posterm prints."""

from __future__ import annotations

from dataclasses import dataclass, replace

DUPLICATE, RECOVERED = "DUPLICATE", "RECOVERED"


@dataclass(frozen=True)
class Receipt:
    title: str
    header: tuple[str, ...] = ()  # merchant name first, then address lines
    items: tuple[tuple[str, str], ...] = ()  # (label, amount text)
    total: tuple[str, str] | None = None
    body: tuple[str, ...] = ()  # the PT's receipt lines, verbatim
    notes: tuple[str, ...] = ()  # reason of a refund, batch info, …
    footer: tuple[str, ...] = ()
    copy: str = "customer"  # customer | merchant
    banner: str | None = None  # DUPLICATE | RECOVERED
    signature: bool = False  # a line for the customer's signature
    qr: str | None = None  # the transaction id, as a QR code


def sale(
    *, header: tuple[str, ...], amount: str, currency: str, pt_lines: tuple[str, ...],
    txn_id: str, footer: tuple[str, ...] = (), copy: str = "customer",
) -> Receipt:  # fmt: skip
    return Receipt(
        title="SALE",
        header=header,
        total=("TOTAL", f"{amount} {currency}"),
        body=pt_lines,
        footer=footer,
        copy=copy,
        qr=txn_id,
    )


def refund_voucher(
    *, header: tuple[str, ...], amount: str, currency: str, pt_lines: tuple[str, ...],
    txn_id: str, sale_id: str, reason: str, footer: tuple[str, ...] = (),
    copy: str = "customer",
) -> Receipt:  # fmt: skip
    return Receipt(
        title="REFUND",
        header=header,
        items=(("Original sale", sale_id),),
        total=("REFUNDED", f"{amount} {currency}"),
        body=pt_lines,
        notes=(f"Reason: {reason}",),
        footer=footer,
        copy=copy,
        signature=True,
        qr=txn_id,
    )


def reversal(
    *, header: tuple[str, ...], amount: str, currency: str, pt_lines: tuple[str, ...],
    txn_id: str, sale_id: str, footer: tuple[str, ...] = (), copy: str = "customer",
) -> Receipt:  # fmt: skip
    return Receipt(
        title="VOID",
        header=header,
        items=(("Voided sale", sale_id),),
        total=("REVERSED", f"{amount} {currency}"),
        body=pt_lines,
        footer=footer,
        copy=copy,
        qr=txn_id,
    )


def recovered(receipt: Receipt) -> Receipt:
    return replace(receipt, banner=RECOVERED)


def duplicate(receipt: Receipt) -> Receipt:
    return replace(receipt, banner=DUPLICATE)


def end_of_day(
    *, header: tuple[str, ...], batch_no: int, totals: dict[str, str], currency: str,
    pt_lines: tuple[str, ...], txn_id: str,
) -> Receipt:  # fmt: skip
    items = tuple(
        (label, f"{totals[key]} {currency} ({totals[key + '_count']})")
        for label, key in (("Sales", "sales"), ("Refunds", "refunds"), ("Voids", "voids"))
        if key in totals
    )
    return Receipt(
        title="END OF DAY",
        header=header,
        items=items,
        total=("NET", f"{totals.get('net', '0')} {currency}"),
        body=pt_lines,
        notes=(f"Batch {batch_no} closed",),
        copy="merchant",
        qr=txn_id,
    )

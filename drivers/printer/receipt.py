"""Receipts as structured data, their JSON form, and the layouts posterm prints."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from posterm.drivers.printer.errors import ReceiptError

DUPLICATE, RECOVERED = "DUPLICATE", "RECOVERED"
BANNERS = (DUPLICATE, RECOVERED)
COPIES = ("customer", "merchant")
MAX_LINES = 500  # per section: a receipt, not a novel
MAX_TEXT = 1000  # characters in one field
# A QR code's content: a transaction id, or a refund's status link (a base URL of at most
# 200 characters, "/r/" and a token of at most refundlink.MAX_TOKEN = 200): a version 13
# code at most, 69 modules of 4 dots, inside 58 mm paper's 384 dots.
MAX_QR = 420
FOLLOW_LINE = "Follow your refund: scan the code"


@dataclass(frozen=True)
class Receipt:
    """What a receipt says; `Renderer` decides how it looks on a given printer.

    Amounts are text as they should print ("12.50 EUR"): the caller formats its integer
    minor units (posterm.protocol.money) — the receipt does no arithmetic."""

    title: str
    header: tuple[str, ...] = ()  # merchant name first, then address lines
    items: tuple[tuple[str, str], ...] = ()  # (label, amount text)
    total: tuple[str, str] | None = None  # (label, amount text), printed bold
    body: tuple[str, ...] = ()  # the PT's receipt lines, verbatim
    notes: tuple[str, ...] = ()  # reason of a refund, batch info, ...
    footer: tuple[str, ...] = ()
    copy: str = "customer"  # customer | merchant
    banner: str | None = None  # DUPLICATE | RECOVERED
    signature: bool = False  # a line for the customer's signature (refund vouchers)
    qr: str | None = None  # the transaction id, printed as a QR code

    def __post_init__(self) -> None:
        _text("title", self.title)
        if not self.title.strip():
            raise ReceiptError("receipt: title must not be empty")
        for name in ("header", "body", "notes", "footer"):
            _lines(name, getattr(self, name))
        _pairs("items", self.items)
        if self.total is not None:
            _pairs("total", (self.total,))
        if self.copy not in COPIES:
            raise ReceiptError(f"receipt: copy is one of {COPIES}, not {self.copy!r}")
        if self.banner is not None and self.banner not in BANNERS:
            raise ReceiptError(f"receipt: banner is one of {BANNERS} or null, not {self.banner!r}")
        if not isinstance(self.signature, bool):
            raise ReceiptError("receipt: signature is true or false")
        if self.qr is not None:
            _text("qr", self.qr)
            if not 0 < len(self.qr) <= MAX_QR:
                raise ReceiptError(f"receipt: qr is 1..{MAX_QR} characters (or left out)")

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (`posterm printer receipt FILE.json` reads it back)."""
        return {
            "title": self.title,
            "header": list(self.header),
            "items": [list(item) for item in self.items],
            "total": None if self.total is None else list(self.total),
            "body": list(self.body),
            "notes": list(self.notes),
            "footer": list(self.footer),
            "copy": self.copy,
            "banner": self.banner,
            "signature": self.signature,
            "qr": self.qr,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Receipt:
        """A receipt from its JSON form; `ReceiptError` naming the first bad field."""
        if not isinstance(data, dict):
            raise ReceiptError("receipt: a JSON object is expected")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ReceiptError(f"receipt: unknown key(s) {unknown}; known: {sorted(known)}")
        if "title" not in data:
            raise ReceiptError("receipt: title is required")
        values = dict(data)
        for name in ("header", "body", "notes", "footer"):
            if name in values:
                values[name] = _as_tuple(name, values[name])
        if "items" in values:
            items = _as_tuple("items", values["items"])
            values["items"] = tuple(_as_tuple("items", item) for item in items)
        if values.get("total") is not None:
            values["total"] = _as_tuple("total", values["total"])
        return cls(**values)


def _as_tuple(name: str, value: Any) -> tuple[Any, ...]:
    if not isinstance(value, list | tuple):
        raise ReceiptError(f"receipt: {name} is a list, not {type(value).__name__}")
    return tuple(value)


def _text(name: str, value: Any) -> None:
    if not isinstance(value, str):
        raise ReceiptError(f"receipt: {name} is text, not {type(value).__name__}")
    if len(value) > MAX_TEXT:
        raise ReceiptError(f"receipt: {name} longer than {MAX_TEXT} characters")


def _lines(name: str, value: Any) -> None:
    if not isinstance(value, tuple):
        raise ReceiptError(f"receipt: {name} is a tuple of lines")
    if len(value) > MAX_LINES:
        raise ReceiptError(f"receipt: more than {MAX_LINES} lines in {name}")
    for line in value:
        _text(name, line)


def _pairs(name: str, value: Any) -> None:
    if not isinstance(value, tuple) or len(value) > MAX_LINES:
        raise ReceiptError(f"receipt: {name} is a tuple of (label, amount) pairs")
    for pair in value:
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise ReceiptError(f"receipt: each of {name} is a (label, amount) pair")
        _text(name, pair[0])
        _text(name, pair[1])


# -- layouts ------------------------------------------------------------------------------


def sale(
    *,
    header: tuple[str, ...],
    amount: str,
    currency: str,
    pt_lines: tuple[str, ...],
    txn_id: str,
    footer: tuple[str, ...] = (),
    copy: str = "customer",
    items: tuple[tuple[str, str], ...] = (),
) -> Receipt:
    """A sale: the total, the PT's lines, the QR code of the transaction."""
    return Receipt(
        title="SALE",
        header=header,
        items=items,
        total=("TOTAL", f"{amount} {currency}"),
        body=pt_lines,
        footer=footer,
        copy=copy,
        qr=txn_id,
    )


def refund_voucher(
    *,
    header: tuple[str, ...],
    amount: str,
    currency: str,
    pt_lines: tuple[str, ...],
    txn_id: str,
    sale_id: str,
    reason: str,
    footer: tuple[str, ...] = (),
    copy: str = "customer",
    status_link: str | None = None,
    link_width: int = 0,
) -> Receipt:
    """A refund voucher: the original sale, the reason, a line for the signature. The
    customer's copy carries the refund's `status_link` (when there is one) as its QR code,
    with a line saying so, and the link as text when it fits in `link_width` characters;
    the merchant's copy keeps the transaction id's QR code."""
    notes: tuple[str, ...] = (f"Reason: {reason}",)
    qr = txn_id
    if status_link is not None and copy == "customer":
        qr = status_link
        notes += ("", FOLLOW_LINE)
        if len(status_link) <= link_width:
            notes += (status_link,)
    return Receipt(
        title="REFUND",
        header=header,
        items=(("Original sale", sale_id),),
        total=("REFUNDED", f"{amount} {currency}"),
        body=pt_lines,
        notes=notes,
        footer=footer,
        copy=copy,
        signature=True,
        qr=qr,
    )


def reversal(
    *,
    header: tuple[str, ...],
    amount: str,
    currency: str,
    pt_lines: tuple[str, ...],
    txn_id: str,
    sale_id: str,
    footer: tuple[str, ...] = (),
    copy: str = "customer",
) -> Receipt:
    """A void (ZVT reversal) of a sale of the open batch."""
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
    """The receipt printed late, after the printer or the link came back."""
    return replace(receipt, banner=RECOVERED)


def duplicate(receipt: Receipt) -> Receipt:
    """A reprint asked for later."""
    return replace(receipt, banner=DUPLICATE)


def end_of_day(
    *,
    header: tuple[str, ...],
    batch_no: int,
    totals: dict[str, str],
    currency: str,
    pt_lines: tuple[str, ...],
    txn_id: str,
) -> Receipt:
    """The end-of-day report: sales, refunds and voids (amount and count), the net."""
    items = tuple(
        (label, f"{totals[key]} {currency} ({totals.get(key + '_count', '?')})")
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

"""Typed results of ZVT commands, built from what the PT sent while the command ran."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from posterm.protocol.zvt import bmp
from posterm.protocol.zvt import pt_messages as pm
from posterm.protocol.zvt.codes import result_text, terminal_status_text

RECEIPT_TYPES = {pm.RECEIPT_MERCHANT: "merchant", pm.RECEIPT_CUSTOMER: "customer", 3: "admin"}


@dataclass(frozen=True)
class PtReceipt:
    """One receipt the PT sent: its type (from 06 D3) or None (06 D1 lines), its lines."""

    type: str | None
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Result:
    command: str
    approved: bool
    result_code: int
    result_text: str
    amount: int | None = None
    currency: int | None = None
    receipt_no: int | None = None
    trace: int | None = None
    original_trace: int | None = None
    turnover_no: int | None = None
    terminal_id: str | None = None
    vu_number: str | None = None
    date: str | None = None  # MMDD
    time: str | None = None  # HHMMSS
    card_name: str | None = None
    card_type: int | None = None
    masked_pan: str | None = None
    aid: str | None = None
    totals: bytes | None = None
    terminal_status: int | None = None
    terminal_status_text: str | None = None
    sw_version: str | None = None
    receipts: tuple[PtReceipt, ...] = ()

    @property
    def receipt_lines(self) -> list[str]:
        """The customer receipt's lines if the PT typed its receipts, else every line."""
        for receipt in self.receipts:
            if receipt.type == "customer":
                return list(receipt.lines)
        return [line for receipt in self.receipts for line in receipt.lines]

    def receipt(self, kind: str) -> list[str]:
        return next((list(r.lines) for r in self.receipts if r.type == kind), [])

    def to_json(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "approved": self.approved,
            "result_code": self.result_code,
            "result_text": self.result_text,
            "amount_minor": self.amount,
            "currency_numeric": self.currency,
            "receipt_no": self.receipt_no,
            "trace": self.trace,
            "original_trace": self.original_trace,
            "turnover_no": self.turnover_no,
            "terminal_id": self.terminal_id,
            "vu_number": self.vu_number,
            "date": self.date,
            "time": self.time,
            "card_name": self.card_name,
            "card_type": self.card_type,
            "masked_pan": self.masked_pan,
            "aid": self.aid,
            "totals": self.totals.hex() if self.totals is not None else None,
            "terminal_status": self.terminal_status,
            "terminal_status_text": self.terminal_status_text,
            "sw_version": self.sw_version,
            "receipts": [{"type": r.type, "lines": list(r.lines)} for r in self.receipts],
            "receipt_lines": self.receipt_lines,
        }


@dataclass
class ResultBuilder:
    """Collects 04 0F, print lines and blocks, and the ending of one command."""

    command: str
    result: Result = field(init=False)
    _lines: list[str] = field(default_factory=list)
    _receipts: list[PtReceipt] = field(default_factory=list)
    ended: bool = False

    def __post_init__(self) -> None:
        self.result = Result(self.command, approved=False, result_code=-1, result_text="no result")

    def status(self, si: pm.StatusInformation) -> Result:
        code = si.result_code if si.result_code is not None else 0
        self.result = replace(
            self.result,
            approved=code == 0,
            result_code=code,
            result_text=result_text(code),
            amount=si.amount if si.amount is not None else self.result.amount,
            currency=si.currency if si.currency is not None else self.result.currency,
            receipt_no=si.receipt_no if si.receipt_no not in (None, bmp.NO_NUMBER) else None,
            trace=si.trace,
            original_trace=si.original_trace,
            turnover_no=si.turnover_no,
            terminal_id=si.terminal_id,
            vu_number=si.vu_number,
            date=si.date,
            time=si.time,
            card_name=si.card_name,
            card_type=si.card_type,
            masked_pan=si.pan,
            aid=si.aid.hex() if si.aid is not None else None,
            totals=si.totals,
        )
        return self.current()

    def line(self, msg: pm.PrintLine) -> None:
        if msg.attribute == 0xFF:
            self._lines.append("")
        else:
            self._lines.append(msg.text)
        if msg.is_last:
            self._receipts.append(PtReceipt(None, tuple(self._lines)))
            self._lines = []

    def block(self, msg: pm.PrintTextBlock) -> None:
        kind = RECEIPT_TYPES.get(msg.receipt_type or 0)
        self._receipts.append(PtReceipt(kind, tuple(msg.lines)))

    def status_enquiry(self, msg: pm.StatusEnquiryCompletion) -> None:
        self.result = replace(
            self.result,
            approved=msg.terminal_status == 0,
            result_code=msg.terminal_status,
            result_text=terminal_status_text(msg.terminal_status),
            terminal_status=msg.terminal_status,
            terminal_status_text=terminal_status_text(msg.terminal_status),
            sw_version=msg.sw_version,
        )

    def completed(self, msg: pm.Completion) -> None:
        self.ended = True
        if self.result.result_code == -1:  # no 04 0F: the completion itself is the success
            self.result = replace(
                self.result, approved=True, result_code=0, result_text=result_text(0)
            )
        if msg.terminal_id and not self.result.terminal_id:
            self.result = replace(self.result, terminal_id=msg.terminal_id)

    def aborted(self, msg: pm.AbortFromPt) -> None:
        self.ended = True
        code = msg.result_code
        self.result = replace(
            self.result, approved=False, result_code=code, result_text=result_text(code)
        )

    def current(self) -> Result:
        receipts = list(self._receipts)
        if self._lines:
            receipts.append(PtReceipt(None, tuple(self._lines)))
        return replace(self.result, receipts=tuple(receipts))

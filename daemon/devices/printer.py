"""The terminal's view of the receipt printer: ready or not, print a journaled receipt.

Turns a journaled receipt body (plain data) into the driver's receipt layouts, marks it
RECOVERED or DUPLICATE, and turns every driver failure into `PrintFailed`, so the
receipts module never depends on the driver's exception tree.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from posterm.daemon.config import PrinterSection
from posterm.daemon.crash import crash_later
from posterm.drivers.printer import Printer, PrinterError
from posterm.drivers.printer import receipt as layouts
from posterm.protocol import money

log = logging.getLogger("posterm.printer")


class PrintFailed(Exception):
    """The receipt is not (completely) printed; it stays pending."""


def build(body: dict[str, Any], copy: str, mark: str, columns: int = 0) -> layouts.Receipt:
    """The layout of a journaled receipt body; `columns`: the printer's width (a refund's
    status link is printed as text too when it fits on one line)."""
    currency = body["currency"]
    amount = money.format_amount(body["amount"], currency)
    header = (body.get("merchant_name") or "", *body.get("merchant_address", ()))
    common = {
        "header": header,
        "amount": amount,
        "currency": currency,
        "pt_lines": tuple(body.get("pt_lines") or ()),
        "txn_id": body["txn_id"],
    }
    footer = tuple(body.get("footer") or ())
    layout = body["layout"]
    if layout == "refund":
        reason = body.get("reason_label") or body.get("reason") or ""
        if body.get("reason_text"):
            reason = f"{reason}: {body['reason_text']}"
        sale_id = body.get("ref_txn") or "none (refund without a sale)"
        receipt = layouts.refund_voucher(
            **common,
            sale_id=sale_id,
            reason=reason,
            footer=footer,
            copy=copy,
            status_link=body.get("status_link"),
            link_width=columns,
        )
    elif layout == "reversal":
        receipt = layouts.reversal(
            **common, sale_id=body.get("ref_txn") or "", footer=footer, copy=copy
        )
    elif layout == "eod":
        receipt = layouts.end_of_day(
            header=header,
            batch_no=int(body.get("batch_no") or 0),
            totals=body.get("totals") or {},
            currency=currency,
            pt_lines=common["pt_lines"],
            txn_id=body["txn_id"],
        )
    else:
        receipt = layouts.sale(**common, footer=footer, copy=copy)
    if mark == "recovered":
        return layouts.recovered(receipt)
    if mark == "duplicate":
        return layouts.duplicate(receipt)
    return receipt


BusyHook = Callable[[float], None]


class ReceiptPrinter:
    """The driver's printer for the terminal. `on_busy(seconds)` is called before every
    job and status query with the most it can take (a watchdog stays fed meanwhile)."""

    def __init__(self, config: PrinterSection, on_busy: BusyHook | None = None) -> None:
        self.on_busy = on_busy
        self._status_s = float(config.timeout_s)
        self._job_s = float(config.job_timeout_s) + float(config.timeout_s)
        self.printer = Printer(
            config.url,
            columns=config.columns,
            encoding=config.encoding,
            profile=config.profile,
            timeout=config.timeout_s,
            job_timeout=config.job_timeout_s,
        )

    def _busy(self, seconds: float) -> None:
        if self.on_busy is not None:
            self.on_busy(seconds)

    def is_ready(self) -> bool:
        self._busy(self._status_s)
        return self.printer.status().ready

    def last_status_text(self) -> str:
        return self.printer.last_status.text()

    def print_receipt(self, body: dict[str, Any], *, copy: str, mark: str) -> None:
        self._busy(self._job_s)
        try:
            layout = build(body, copy, mark, self.printer.renderer.columns)
            data = self.printer.renderer.render(layout)  # the first loads python-escpos
            crash_later("receipt.mid_print", 0.05)  # the tests' death with bytes on the way
            self.printer.print_bytes(data)
        except PrinterError as exc:
            raise PrintFailed(str(exc)) from exc

    def print_slip(self, slip: layouts.Receipt) -> None:
        """A slip that is not a receipt of an operation (the boot slip)."""
        self._busy(self._job_s)
        try:
            self.printer.print(slip)
        except PrinterError as exc:
            raise PrintFailed(str(exc)) from exc

    def close(self) -> None:
        self.printer.close()

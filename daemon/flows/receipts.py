"""Receipts: every approved operation ends in exactly one customer receipt (money rule 3).

A receipt is journaled *pending* before it is printed and *printed* only after the
printer said it is fine after the cut. One that could not be printed is marked RECOVERED
and printed, one at a time, once the printer is ready again; a reprint is DUPLICATE.
"""

from __future__ import annotations

import logging
from typing import Any

from posterm.daemon.crash import crashpoint
from posterm.daemon.devices.printer import PrintFailed, build
from posterm.daemon.errors import TerminalError
from posterm.daemon.flows.context import FlowContext
from posterm.daemon.journal.rows import Receipt, Txn
from posterm.drivers.printer import PrinterError
from posterm.drivers.printer.render import Renderer
from posterm.protocol.errorcodes import ErrorCode

log = logging.getLogger("posterm.receipts")

ORIGINAL, RECOVERED, DUPLICATE = "original", "recovered", "duplicate"
LAYOUTS = {"sale": "sale", "refund": "refund", "void": "reversal", "eod": "eod"}


def body_for(ctx: FlowContext, txn: Any) -> dict[str, Any]:
    """Everything printed, frozen at issue time: a reprint shows the same receipt."""
    terminal = ctx.config.terminal
    body: dict[str, Any] = {
        "layout": LAYOUTS[str(txn.kind)],
        "txn_id": txn.txn_id,
        "amount": txn.amount,
        "currency": txn.currency,
        "merchant_name": terminal.merchant_name,
        "merchant_address": list(terminal.merchant_address),
        "footer": list(terminal.receipt_footer),
        "pt_lines": list(txn.pt_receipt_lines or []) or pt_lines_from_fields(txn),
        "receipt_no": txn.receipt_no,
        "masked_pan": txn.masked_pan,
        "card_name": txn.card_name,
        "ref_txn": txn.ref_txn,
        "reason": txn.reason,
        "reason_text": txn.reason_text,
        "created_at": txn.created_at,
    }
    if txn.kind == "refund" and ctx.links is not None:
        # the customer's status page (daemon/statuslink.py): a bearer link, never logged
        body["status_link"] = ctx.links.for_refund(txn.txn_id, txn.created_at)
    return body


def pt_lines_from_fields(txn: Txn) -> list[str]:
    """The PT's part of a receipt from the journaled 04 0F fields, for an operation whose
    own print lines never arrived (recovered after a lost completion). Never the PT's
    repeat-receipt lines: those are marked as its duplicate."""
    if txn.kind == "eod" or txn.receipt_no is None:
        return []
    lines = [f"Terminal-ID   {txn.terminal_id}"] if txn.terminal_id else []
    if txn.card_name:
        lines.append(f"Card   {txn.card_name}")
    if txn.masked_pan:
        lines.append(f"PAN    {txn.masked_pan}")
    if txn.aid:
        lines.append(f"AID    {txn.aid}")
    if txn.trace is not None:
        lines.append(f"Trace-No.     {txn.trace:06d}")
    lines.append(f"Receipt-No.   {txn.receipt_no:04d}")
    if txn.turnover_no is not None:
        lines.append(f"Turnover-No.  {txn.turnover_no:06d}")
    lines.append("APPROVED")
    return lines


def issue(
    ctx: FlowContext, txn_id: str, *, mark: str = ORIGINAL, extra: dict[str, Any] | None = None
) -> None:
    """Journal the receipts of an approved operation as pending, then print them."""
    txn = ctx.journal.txn(txn_id)
    body = {**body_for(ctx, txn), **(extra or {})}
    copies = ["customer"] + (["merchant"] if ctx.config.printer.merchant_copy else [])
    with ctx.journal.transaction() as tx:
        for copy in copies:
            tx.add_receipt(txn_id=txn_id, copy=copy, mark=mark, body=body)
    crashpoint(f"{txn.kind}.receipt_journaled")
    print_pending(ctx, txn_id=txn_id)


def reprint(ctx: FlowContext, txn_id: str) -> None:
    """A later copy of the customer receipt, marked DUPLICATE."""
    original = next(
        (
            r
            for r in ctx.journal.receipts_of(txn_id)
            if r.copy == "customer" and r.mark != DUPLICATE
        ),
        None,
    )
    if original is None:
        raise TerminalError(ErrorCode.NOT_ALLOWED, f"{txn_id} has no receipt to reprint")
    with ctx.journal.transaction() as tx:
        tx.add_receipt(txn_id=txn_id, copy="customer", mark=DUPLICATE, body=original.body)
    print_pending(ctx, txn_id=txn_id)


def issue_missing(ctx: FlowContext) -> int:
    """At start-up: an approved operation without a receipt (the stop came between its
    approval and its receipt) gets one now, marked RECOVERED."""
    missing = ctx.journal.approved_without_receipt()
    for txn in missing:
        issue(ctx, txn.txn_id, mark=RECOVERED)
    return len(missing)


RESTART_WHY = "not printed before the restart"


def mark_all_recovered(ctx: FlowContext) -> int:
    """At start-up: whatever is still pending was not printed before the stop, or was cut
    in the instant before it: it comes out (again) marked RECOVERED. Each one, already
    RECOVERED or not, is told as `receipt.pending`, so a second copy after a kill is
    accounted for by a restart that found it pending (reprints, DUPLICATE, aside)."""
    pending = [r for r in ctx.journal.pending_receipts() if r.mark in (ORIGINAL, RECOVERED)]
    if pending:
        with ctx.journal.transaction() as tx:
            for receipt in pending:
                if receipt.mark == ORIGINAL:
                    tx.set_receipt(receipt.receipt_id, mark=RECOVERED)
                tx.emit("receipt.pending", _event(ctx, receipt, RESTART_WHY, mark=RECOVERED))
    return len(pending)


def print_pending(ctx: FlowContext, txn_id: str | None = None) -> int:
    """Print pending receipts one by one (oldest first); stop at the first failure."""
    printed = 0
    for receipt in ctx.journal.pending_receipts():
        if txn_id is not None and receipt.txn_id != txn_id:
            continue
        if receipt.receipt_id in ctx.printed_unjournaled:
            continue  # printed once already; after a restart it comes out RECOVERED
        try:  # the driver asks the status before the job and refuses unless ready
            crashpoint("receipt.printing")
            ctx.printer.print_receipt(receipt.body, copy=receipt.copy, mark=receipt.mark)
        except PrintFailed as exc:
            _defer(ctx, receipt, str(exc))
            return printed
        ctx.printed_unjournaled.add(receipt.receipt_id)
        crashpoint("receipt.printed")
        event = {ORIGINAL: "receipt.printed", RECOVERED: "receipt.recovered"}.get(
            receipt.mark, "receipt.reprinted"
        )
        with ctx.journal.transaction() as tx:
            tx.set_receipt(receipt.receipt_id, state="printed")
            tx.emit(event, _event(ctx, receipt))
        ctx.printed_unjournaled.discard(receipt.receipt_id)
        printed += 1
    return printed


def _defer(ctx: FlowContext, receipt: Receipt, why: str) -> None:
    log.warning(
        "receipts: %s (%s copy of %s) pending: %s",
        receipt.receipt_id,
        receipt.copy,
        receipt.txn_id,
        why,
    )
    with ctx.journal.transaction() as tx:
        if receipt.mark == ORIGINAL:
            tx.set_receipt(receipt.receipt_id, mark=RECOVERED)
            tx.emit("receipt.pending", _event(ctx, receipt, why, mark=RECOVERED))


def _event(
    ctx: FlowContext, receipt: Any, why: str | None = None, *, mark: str | None = None
) -> dict[str, Any]:
    """A `receipt.*` event: which receipt, and its text lines as the customer gets them
    (`mark`: the one it prints with, when that differs from the row's)."""
    data: dict[str, Any] = {
        "receipt_id": receipt.receipt_id,
        "txn_id": receipt.txn_id,
        "copy": receipt.copy,
        "mark": receipt.mark,
    }
    if why:
        data["why"] = why
    try:
        printer = ctx.config.printer
        renderer = Renderer(printer.columns, printer.encoding, printer.profile)
        layout = build(receipt.body, receipt.copy, mark or receipt.mark, renderer.columns)
    except PrinterError as exc:  # it will not print either; the event still goes out
        log.warning("receipts: no text for %s: %s", receipt.receipt_id, exc)
        return data
    cols = renderer.columns

    def fit(*texts: str, width: int = cols, center: bool = False) -> list[str]:
        out = [part for text in texts for part in renderer.fit(text, width)]
        return [part.center(cols).rstrip() if center else part for part in out]

    banner = [f"** {layout.banner} **"] if layout.banner else []
    rule = "-" * cols
    lines = [*fit(*banner, width=cols // 2, center=True), *fit(*layout.header, center=True), ""]
    lines += [*fit(layout.title, width=cols // 2, center=True), rule]
    for label, amount in (*layout.items, *([layout.total] if layout.total else [])):
        lines += renderer.two_columns(label, amount)
    lines += fit(*layout.notes)
    if layout.body:
        lines += [rule, *fit(*layout.body)]
    if layout.signature:
        lines += ["", "", "X" + "_" * (cols - 1), "Customer signature"]
    lines += [rule, *fit(*layout.footer, f"{layout.copy.upper()} COPY", *banner, center=True)]
    data["lines"] = lines
    return data

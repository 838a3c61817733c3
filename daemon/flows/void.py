"""Void: a reversal of a sale on the PT, same batch only; after end of day, refund instead."""

from __future__ import annotations

from typing import Any

from posterm.daemon.crash import crashpoint
from posterm.daemon.errors import TerminalError
from posterm.daemon.flows import records
from posterm.daemon.flows.context import FlowContext
from posterm.daemon.flows.payments import pay_and_issue
from posterm.daemon.flows.refund import COUNTED
from posterm.daemon.journal.store import Tx
from posterm.daemon.states import Kind, TxnState
from posterm.drivers.payment.port import PaymentResult
from posterm.protocol.errorcodes import ErrorCode


def void(ctx: FlowContext, sale_id: str, key: str | None = None) -> dict[str, Any]:
    sale = ctx.journal.get_txn(sale_id)
    if sale is None or sale.kind != Kind.SALE:
        raise TerminalError(ErrorCode.UNKNOWN_TXN, f"no sale {sale_id}")
    if key is not None:
        known = records.idempotent(ctx, Kind.VOID, key, sale.amount, sale_id)
        if known is not None:
            return known
    if sale.state == TxnState.VOIDED:
        raise TerminalError(ErrorCode.NOT_ALLOWED, f"sale {sale_id} is already voided")
    if sale.state != TxnState.APPROVED:
        raise TerminalError(
            ErrorCode.NOT_ALLOWED, f"sale {sale_id} is {sale.state}: nothing to void"
        )
    if sale.batch_no != records.batch_no(ctx.journal):
        raise TerminalError(
            ErrorCode.BATCH_CLOSED,
            f"sale {sale_id} was in batch {sale.batch_no}, closed at end of day: "
            "a void is no longer possible, refund it instead",
        )
    if ctx.journal.refunded_total(sale_id, COUNTED):
        raise TerminalError(
            ErrorCode.NOT_ALLOWED, f"sale {sale_id} has refunds: refund the rest instead"
        )
    receipt_no = sale.receipt_no
    if receipt_no is None:
        raise TerminalError(
            ErrorCode.NOT_ALLOWED, f"sale {sale_id} has no PT receipt number to reverse: refund it"
        )
    ctx.require_ready()
    txn_id = records.begin(
        ctx, Kind.VOID, sale.amount, currency=sale.currency, idem_key=key, ref_txn=sale_id
    )
    crashpoint("void.journaled")

    def also_void_the_sale(tx: Tx, result: PaymentResult) -> None:
        tx.update_txn(sale_id, state=TxnState.VOIDED, note=f"voided by {txn_id}")

    return pay_and_issue(
        ctx,
        txn_id,
        "void",
        lambda hook: ctx.pt.reversal(receipt_no, on_commit=hook),
        approved_event="void.completed",
        declined_event=None,
        on_commit=also_void_the_sale,
    )

"""Refunds: referenced to a sale, full or partial, never above what is left, approved by a
supervisor key or the back office above a limit, with a voucher the customer signs.

Refunds without a sale (`refunds.unreferenced = true`, off by default) have no sale to bound
them: each one waits for approval whatever its amount, and is never above
`refunds.max_amount`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from posterm.daemon.crash import crashpoint
from posterm.daemon.errors import TerminalError
from posterm.daemon.flows import records
from posterm.daemon.flows.context import FlowContext
from posterm.daemon.flows.payments import pay_and_issue
from posterm.daemon.journal.rows import Txn
from posterm.daemon.states import Kind, TxnState
from posterm.protocol.errorcodes import ErrorCode

REASONS = {
    "wrong_amount": "wrong amount",
    "wrong_card": "wrong card",
    "goods_returned": "goods returned",
    "service_problem": "service problem",
    "duplicate_charge": "duplicate charge",
    "other": "other",
}
# Refunds that count against what is left of a sale: everything not definitively off.
COUNTED = (
    TxnState.AWAITING_APPROVAL,
    TxnState.IN_DOUBT,
    TxnState.APPROVED_UNCONFIRMED,
    TxnState.APPROVED,
)


def request(
    ctx: FlowContext,
    sale_id: str | None,
    amount_text: str,
    *,
    reason: str,
    text: str | None = None,
    key: str | None = None,
    notify: dict[str, str] | None = None,
) -> dict[str, Any]:
    """`notify`: the customer's contact (protocol/contact.py), checked by the caller; it
    travels only in the `refund.requested` event, for the back office to tell the customer
    the outcome, and leaves the journal once the host has acknowledged that event."""
    cfg = ctx.config.refunds
    amount = records.parse_amount(ctx, amount_text, 1, cfg.max_amount)
    if reason not in REASONS:
        raise TerminalError(ErrorCode.BAD_REQUEST, f"reason must be one of {', '.join(REASONS)}")
    if reason == "other" and not (text or "").strip():
        raise TerminalError(ErrorCode.BAD_REQUEST, "reason 'other' needs a text (--text)")
    if key is not None:
        known = records.idempotent(ctx, Kind.REFUND, key, amount, sale_id)
        if known is not None:
            return known
    extra = {"notify": notify} if notify else None
    if sale_id is None:
        return _unreferenced(ctx, amount, reason=reason, text=text, key=key, extra=extra)
    sale = ctx.journal.get_txn(sale_id)
    if sale is None or sale.kind != Kind.SALE:
        raise TerminalError(ErrorCode.UNKNOWN_TXN, f"no sale {sale_id}")
    if sale.state != TxnState.APPROVED:
        raise TerminalError(
            ErrorCode.NOT_ALLOWED, f"sale {sale_id} is {sale.state}: nothing to refund"
        )
    created = datetime.fromisoformat(sale.created_at)
    if datetime.now(UTC) - created > timedelta(days=cfg.window_days):
        raise TerminalError(
            ErrorCode.NOT_ALLOWED,
            f"sale {sale_id} is older than the {cfg.window_days}-day refund window",
        )
    left = sale.amount - ctx.journal.refunded_total(sale_id, COUNTED)
    if amount > left:
        raise TerminalError(
            ErrorCode.OVER_REFUND,
            f"refund of {records.fmt(ctx, amount)} exceeds what is left of {sale_id}: "
            f"{records.fmt(ctx, left)}",
            left=records.fmt(ctx, left),
        )
    needs_approval = amount > cfg.approval_limit
    if not needs_approval:
        ctx.require_ready()
    txn_id = records.begin(
        ctx,
        Kind.REFUND,
        amount,
        state=TxnState.AWAITING_APPROVAL if needs_approval else TxnState.IN_DOUBT,
        event="refund.requested",
        event_extra=extra,
        idem_key=key,
        ref_txn=sale_id,
        reason=reason,
        reason_text=text,
    )
    if needs_approval:
        ctx.signal("attention")
        return records.view(ctx.journal, txn_id)
    return _execute(ctx, txn_id)


def _unreferenced(
    ctx: FlowContext,
    amount: int,
    *,
    reason: str,
    text: str | None,
    key: str | None,
    extra: dict[str, Any] | None,
) -> dict[str, Any]:
    if not ctx.config.refunds.unreferenced:
        raise TerminalError(
            ErrorCode.NOT_ALLOWED,
            "refunds without a sale are off on this terminal (refunds.unreferenced = false): "
            "refund against the sale",
        )
    txn_id = records.begin(
        ctx,
        Kind.REFUND,
        amount,
        state=TxnState.AWAITING_APPROVAL,
        event="refund.requested",
        event_extra=extra,
        idem_key=key,
        reason=reason,
        reason_text=text,
    )
    ctx.signal("attention")
    return records.view(ctx.journal, txn_id)


def approve(ctx: FlowContext, txn_id: str, by: str) -> dict[str, Any]:
    txn = _awaiting(ctx, txn_id)
    ctx.require_ready()
    with ctx.journal.transaction() as tx:
        tx.update_txn(txn.txn_id, state=TxnState.IN_DOUBT, note=f"approved by {by}")
        tx.emit("refund.approved", {**records.event_data(txn_id, tx), "by": by})
    return _execute(ctx, txn_id)


def reject(ctx: FlowContext, txn_id: str, by: str) -> dict[str, Any]:
    txn = _awaiting(ctx, txn_id)
    with ctx.journal.transaction() as tx:
        tx.update_txn(txn.txn_id, state=TxnState.REJECTED, note=f"rejected by {by}")
        tx.emit("refund.rejected", {**records.event_data(txn_id, tx), "by": by})
    return records.view(ctx.journal, txn_id)


def _awaiting(ctx: FlowContext, txn_id: str) -> Txn:
    txn = ctx.journal.get_txn(txn_id)
    if txn is None or txn.kind != Kind.REFUND:
        raise TerminalError(ErrorCode.UNKNOWN_TXN, f"no refund {txn_id}")
    if txn.state != TxnState.AWAITING_APPROVAL:
        raise TerminalError(
            ErrorCode.NOT_AWAITING, f"refund {txn_id} is {txn.state}, not awaiting approval"
        )
    return txn


def _execute(ctx: FlowContext, txn_id: str) -> dict[str, Any]:
    txn = ctx.journal.txn(txn_id)
    reason = REASONS[txn.reason or "other"]
    crashpoint("refund.journaled")
    return pay_and_issue(
        ctx,
        txn_id,
        "refund",
        lambda hook: ctx.pt.refund(txn.amount, on_commit=hook),
        approved_event="refund.completed",
        declined_event="refund.failed",
        receipt_extra={"reason_label": reason, "signature": True},
    )

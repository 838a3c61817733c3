"""The sale flow: validate, idempotency, write-ahead, authorize on the PT, receipt."""

from __future__ import annotations

from typing import Any

from posterm.daemon import receipts
from posterm.daemon.crash import crashpoint
from posterm.daemon.errors import TerminalError
from posterm.daemon.payments import run_on_pt
from posterm.daemon.states import Kind, Mode


def sale(ctx: Any, amount_text: str, key: str | None = None) -> dict[str, Any]:
    amount = ctx.parse_amount(amount_text, ctx.config.sales.min_amount, ctx.config.sales.max_amount)
    if key is not None:
        known = ctx.idempotent(Kind.SALE, key, amount)
        if known is not None:
            return known
    ctx.require_ready()
    txn_id = ctx.begin(Kind.SALE, amount, idem_key=key)
    crashpoint("sale.journaled")
    ctx.mode.set(Mode.BUSY, f"sale {txn_id}")
    try:
        run_on_pt(
            ctx,
            txn_id,
            "sale",
            lambda hook: ctx.pt.authorize(amount, on_result=hook),
            approved_event="sale.approved",
            declined_event="sale.declined",
        )
    except TerminalError as exc:
        ctx.signal("decline" if exc.code == "declined" else "fault")
        raise
    finally:
        ctx.settle()
    ctx.signal("approve")
    receipts.issue(ctx, txn_id)
    return ctx.view(txn_id)

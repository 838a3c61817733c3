"""The sale flow: validate, idempotency, write-ahead, authorize on the PT, receipt."""

from __future__ import annotations

from typing import Any

from posterm.daemon.crash import crashpoint
from posterm.daemon.flows import records
from posterm.daemon.flows.context import FlowContext
from posterm.daemon.flows.payments import pay_and_issue
from posterm.daemon.states import Kind


def sale(ctx: FlowContext, amount_text: str, key: str | None = None) -> dict[str, Any]:
    limits = ctx.config.sales
    amount = records.parse_amount(ctx, amount_text, limits.min_amount, limits.max_amount)
    if key is not None:
        known = records.idempotent(ctx, Kind.SALE, key, amount)
        if known is not None:
            return known
    ctx.require_ready()
    txn_id = records.begin(ctx, Kind.SALE, amount, idem_key=key)
    crashpoint("sale.journaled")
    return pay_and_issue(
        ctx,
        txn_id,
        "sale",
        lambda hook: ctx.pt.sale(amount, on_commit=hook),
        approved_event="sale.approved",
        declined_event="sale.declined",
    )

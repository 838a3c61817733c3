"""End of day: the PT closes its batch; the totals are journaled and printed."""

from __future__ import annotations

from typing import Any

from posterm.daemon.crash import crashpoint
from posterm.daemon.errors import TerminalError
from posterm.daemon.flows import receipts, records
from posterm.daemon.flows.context import FlowContext
from posterm.daemon.states import Kind, Mode, TxnState
from posterm.drivers.payment.errors import PaymentError
from posterm.protocol import money
from posterm.protocol.errorcodes import ErrorCode


def end_of_day(ctx: FlowContext) -> dict[str, Any]:
    ctx.require_ready()
    batch = records.batch_no(ctx.journal)
    totals = ctx.journal.batch_totals(batch)
    txn_id = records.begin(ctx, Kind.EOD, max(totals["net"], 0))
    crashpoint("eod.journaled")
    ctx.mode.set(Mode.BUSY, f"end of day {txn_id}")
    try:
        result = ctx.pt.end_of_day()
    except PaymentError as exc:  # moves no money: safe to journal as failed and retry later
        with ctx.journal.transaction() as tx:
            tx.update_txn(txn_id, state=TxnState.FAILED, result_text=str(exc))
        raise TerminalError(
            ErrorCode.PT_REFUSED, f"end of day failed: {exc}", txn_id=txn_id
        ) from exc
    finally:
        ctx.settle()
    crashpoint("eod.completed")
    figures = records.totals_json(ctx, totals)
    with ctx.journal.transaction() as tx:
        tx.update_txn(
            txn_id,
            state=TxnState.APPROVED,
            pt_receipt_lines=list(result.receipt_lines),
            result_code=result.result_code,
            result_text=result.result_text,
        )
        tx.kv_set("batch_no", str(batch + 1))
        tx.emit(
            "batch.closed",
            {
                "txn_id": txn_id,
                "batch_no": batch,
                **figures,
                **_pt_figures(ctx, result.amount, result.trace),
            },
        )
    receipts.issue(ctx, txn_id, extra={"totals": figures, "batch_no": batch})
    return records.view(ctx.journal, txn_id)


def _pt_figures(ctx: FlowContext, amount: int | None, trace: int | None) -> dict[str, Any]:
    """The PT's own figures of the batch it closed, for the back office's reconciliation:
    its total (ZVT: BMP 04; a PT reports no negative total) and its trace number."""
    out: dict[str, Any] = {}
    if amount is not None:
        out["pt_total"] = money.format_amount(amount, ctx.config.terminal.currency)
    if trace is not None:
        out["pt_trace"] = trace
    return out

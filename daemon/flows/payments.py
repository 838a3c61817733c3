"""Running one money operation on the PT under the money rules.

The transaction row is already journaled IN_DOUBT (rule 1) before this runs. The port's
commit hook journals the approval before the PT is told the payment may stand (rule 2); the
completion makes it APPROVED. A broken link leaves it in doubt for recovery (rule 4).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from posterm.daemon.crash import crashpoint
from posterm.daemon.errors import TerminalError
from posterm.daemon.flows import outcomes, receipts, records
from posterm.daemon.flows.context import FlowContext
from posterm.daemon.journal.store import Tx
from posterm.daemon.states import Mode, TxnState
from posterm.drivers.payment.errors import (
    PaymentCommitFailed,
    PaymentDeclined,
    PaymentError,
    PaymentRefused,
    PaymentUnreachable,
)
from posterm.drivers.payment.port import PaymentResult
from posterm.protocol.errorcodes import ErrorCode

log = logging.getLogger("posterm.terminal")

PtCall = Callable[[Callable[[PaymentResult], None]], PaymentResult]
OnCommit = Callable[[Tx, PaymentResult], None]  # (tx, result): extra writes in the commit


def pt_fields(result: PaymentResult) -> dict[str, Any]:
    """What the journal keeps of a PT result: never more than the masked PAN."""
    return {
        "receipt_no": result.receipt_no,
        "trace": result.trace,
        "turnover_no": result.turnover_no,
        "terminal_id": result.terminal_id,
        "card_name": result.card_name,
        "masked_pan": result.masked_pan,
        "aid": result.aid,
        "result_code": result.result_code,
        "result_text": result.result_text,
    }


def pay_and_issue(
    ctx: FlowContext,
    txn_id: str,
    step: str,
    call: PtCall,
    *,
    approved_event: str,
    declined_event: str | None,
    on_commit: OnCommit | None = None,
    receipt_extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The common course of a sale, refund or void once journaled: BUSY, the PT, the
    buzzer, back to READY (or whatever the outcome left), the receipt; the final view."""
    ctx.mode.set(Mode.BUSY, f"{step} {txn_id}")
    try:
        run_on_pt(
            ctx,
            txn_id,
            step,
            call,
            approved_event=approved_event,
            declined_event=declined_event,
            on_commit=on_commit,
        )
    except TerminalError as exc:
        ctx.signal("decline" if exc.code in (ErrorCode.DECLINED, ErrorCode.PT_REFUSED) else "fault")
        raise
    finally:
        ctx.settle()
    ctx.signal("approve")
    receipts.issue(ctx, txn_id, extra=receipt_extra)
    return records.view(ctx.journal, txn_id)


def run_on_pt(
    ctx: FlowContext,
    txn_id: str,
    step: str,
    call: PtCall,
    *,
    approved_event: str,
    declined_event: str | None,
    on_commit: OnCommit | None = None,
) -> PaymentResult:
    """Run `call(hook)` for the IN_DOUBT transaction `txn_id`; return the PT's result once
    it is APPROVED in the journal, or raise `TerminalError`."""

    def commit(result: PaymentResult) -> None:
        crashpoint(f"{step}.before_commit")
        if result.approved:
            with ctx.journal.transaction() as tx:
                # The batch is the one the PT books it in: the open one, now.
                tx.update_txn(
                    txn_id,
                    state=TxnState.APPROVED_UNCONFIRMED,
                    batch_no=records.batch_no(ctx.journal),
                    **pt_fields(result),
                )
                if on_commit is not None:
                    on_commit(tx, result)
                tx.emit(approved_event, records.event_data(txn_id, tx))
                if result.receipt_no is not None:
                    tx.kv_set("pt_last_receipt_no", str(result.receipt_no))
        crashpoint(f"{step}.after_commit")

    ctx.pt_activity()
    try:
        result = call(commit)
    except PaymentDeclined as exc:
        if _committed(ctx, txn_id):
            # ZVT: 06 1E after the 04 0F was acknowledged: the PT may have kept the payment
            # (an error in the completion does not undo it). Only the PT decides.
            raise _in_doubt(ctx, txn_id, step, f"the PT aborted after its approval: {exc}") from exc
        raise _end(ctx, txn_id, TxnState.DECLINED, declined_event, exc.result) from exc
    # the end is told like a decline (refund.failed, sale.declined): a refund's requester
    # and the back office hear that it did not go through
    except PaymentUnreachable as exc:
        error = _end(ctx, txn_id, TxnState.FAILED, declined_event, None, note=str(exc))
        ctx.mode.set(Mode.PT_DOWN, f"payment terminal unreachable: {exc}")
        raise error from exc
    except PaymentRefused as exc:  # to the command itself: nothing happened
        crashpoint(f"{step}.refused")
        raise _end(
            ctx, txn_id, TxnState.FAILED, declined_event, None, note=str(exc), code=exc.code
        ) from exc
    except PaymentCommitFailed as exc:
        ctx.fault(f"journal write failed: {exc.__cause__}")
        raise TerminalError(
            ErrorCode.JOURNAL, f"could not journal the result: {exc.__cause__}"
        ) from exc
    except PaymentError as exc:  # the link broke somewhere in the middle: in doubt
        raise _in_doubt(ctx, txn_id, step, f"the PT link failed: {exc}") from exc
    crashpoint(f"{step}.completed")
    # not fsync'ed itself: the receipt's pending row (durable) follows before anything is
    # printed; a power cut before it leaves the approval unconfirmed, which recovery
    # resolves with the PT (as a stop just before this commit always did)
    with ctx.journal.transaction(durable=False) as tx:
        tx.update_txn(
            txn_id,
            state=TxnState.APPROVED,
            pt_receipt_lines=list(result.receipt_lines),
            **pt_fields(result),
        )
    return result


def _committed(ctx: FlowContext, txn_id: str) -> bool:
    txn = ctx.journal.get_txn(txn_id)
    return txn is not None and txn.state == TxnState.APPROVED_UNCONFIRMED


def _in_doubt(ctx: FlowContext, txn_id: str, step: str, why: str) -> TerminalError:
    """Journal that `txn_id` is in doubt (its kind's own event); stop selling until the PT
    has been asked. Returns the error for the client."""
    log.warning("terminal: %s in doubt during %s: %s", txn_id, step, why)
    with ctx.journal.transaction() as tx:
        txn = tx.txn(txn_id)
        tx.emit(f"{txn.kind}.in_doubt", {**records.event_data(txn_id, tx), "why": why})
    ctx.mode.set(Mode.IN_DOUBT, f"{txn_id} in doubt: {why}")
    return TerminalError(
        ErrorCode.IN_DOUBT,
        f"{why}; {txn_id} is in doubt and will be resolved with the PT before the next operation",
        txn_id=txn_id,
        state="in_doubt",
    )


def _end(
    ctx: FlowContext,
    txn_id: str,
    state: TxnState,
    event: str | None,
    result: PaymentResult | None,
    *,
    note: str = "",
    code: int | None = None,
) -> TerminalError:
    """Journal the end of an operation that moved no money; the client's answer."""
    fields: dict[str, Any] = {"state": state}
    if result is not None:
        fields.update(result_code=result.result_code, result_text=result.result_text)
    elif note:
        fields.update(result_text=note, result_code=code)
    with ctx.journal.transaction() as tx:
        tx.update_txn(txn_id, **fields)
        if event is not None:
            tx.emit(event, records.event_data(txn_id, tx))
        txn = tx.txn(txn_id)
    error = outcomes.error_for(txn)
    assert error is not None
    return error

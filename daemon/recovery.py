"""Resolving in-doubt operations with the PT before anything else runs (money rule 4).

For an unresolved sale, refund or void the PT is asked for its last receipt (repeat
receipt). The operation was kept by the PT only if its approval was committed here (we
acknowledge the 04 0F only after that commit) *and* the PT's last receipt is that very
receipt number and amount; otherwise the PT reversed it by itself and it gets no receipt.
Nothing is retried blindly.
"""

from __future__ import annotations

import logging
from typing import Any

from posterm.daemon import receipts
from posterm.daemon.payments import pt_fields
from posterm.daemon.states import MONEY_KINDS, UNRESOLVED, Kind, Mode, TxnState
from posterm.drivers.zvt.errors import ZvtDeclined
from posterm.drivers.zvt.results import Result
from posterm.protocol.zvt.errors import ZvtError

log = logging.getLogger("posterm.recovery")

EVENTS = {Kind.SALE: "sale.recovered", Kind.REFUND: "refund.completed", Kind.VOID: "void.completed"}
LOST_EVENTS = {Kind.SALE: "sale.recovered", Kind.REFUND: "refund.failed", Kind.VOID: None}


def unresolved(ctx: Any) -> list[Any]:
    return [t for t in ctx.journal.txns_in_state(*UNRESOLVED) if t.kind in MONEY_KINDS]


def recover(ctx: Any) -> bool:
    """Resolve every in-doubt operation; True when none is left."""
    for eod in ctx.journal.txns_in_state(*UNRESOLVED):
        if eod.kind == Kind.EOD:  # moves no money: the operator runs it again
            with ctx.journal.transaction() as tx:
                tx.update_txn(eod.txn_id, state=TxnState.FAILED, result_text="interrupted")
    pending = unresolved(ctx)
    if not pending:
        return True
    ctx.mode.set(Mode.RECOVERING, f"asking the PT about {len(pending)} in-doubt operation(s)")
    try:
        last: Result | None = ctx.pt.repeat_receipt()
    except ZvtDeclined:
        last = None  # the PT has no receipt at all
    except ZvtError as exc:
        ctx.mode.set(Mode.IN_DOUBT, f"{len(pending)} operation(s) in doubt; PT: {exc}")
        return False
    for txn in pending:
        if _kept(ctx, txn, last):
            assert last is not None
            _resolve_kept(ctx, txn, last)
        else:
            _resolve_lost(ctx, txn)
    return True


def _kept(ctx: Any, txn: Any, last: Result | None) -> bool:
    if last is None or not last.approved or last.amount != txn.amount:
        return False
    if txn.receipt_no is not None:
        return bool(last.receipt_no == txn.receipt_no)
    # Not committed here, so never acknowledged: the PT cannot have kept it. If it says
    # otherwise (a receipt we have never seen, of this amount), believe the card was
    # charged: the customer must get a receipt. Logged loudly.
    if last.receipt_no is not None and not ctx.journal.knows_receipt_no(last.receipt_no):
        log.error("recovery: PT kept %s although it was never committed here", txn.txn_id)
        return True
    return False


def _resolve_kept(ctx: Any, txn: Any, last: Result) -> None:
    log.info(
        "recovery: %s %s was kept by the PT (receipt %s)", txn.kind, txn.txn_id, last.receipt_no
    )
    with ctx.journal.transaction() as tx:
        tx.update_txn(
            txn.txn_id,
            state=TxnState.APPROVED,
            pt_receipt_lines=list(last.receipt_lines),
            note="recovered: kept by the PT",
            **pt_fields(last),
        )
        if txn.kind == Kind.VOID:
            sale = ctx.journal.get_txn(txn.ref_txn)
            if sale is not None and sale.state != TxnState.VOIDED:
                tx.update_txn(txn.ref_txn, state=TxnState.VOIDED, note=f"voided by {txn.txn_id}")
        tx.emit(EVENTS[txn.kind], {**ctx.event_data(txn.txn_id, tx), "outcome": "kept"})
    receipts.issue(ctx, txn.txn_id, mark=receipts.RECOVERED)


def _resolve_lost(ctx: Any, txn: Any) -> None:
    log.info("recovery: %s %s was not kept by the PT: no money moved", txn.kind, txn.txn_id)
    with ctx.journal.transaction() as tx:
        tx.update_txn(txn.txn_id, state=TxnState.NOT_CHARGED, note="recovered: not kept by the PT")
        if txn.kind == Kind.VOID:
            sale = ctx.journal.get_txn(txn.ref_txn)
            if sale is not None and sale.state == TxnState.VOIDED:
                tx.update_txn(txn.ref_txn, state=TxnState.APPROVED, note="void not kept by the PT")
        event = LOST_EVENTS[txn.kind]
        if event is not None:
            tx.emit(event, {**ctx.event_data(txn.txn_id, tx), "outcome": "not_charged"})

"""Resolving in-doubt operations with the PT before anything else runs (money rule 4).

Each unresolved sale, refund or void is judged on its own, on evidence only:

- *kept*: the PT's last receipt (its last result; ZVT: repeat receipt) is this
  operation's receipt number and amount;
- *not kept*: its approval was never committed here, so its 04 0F was never acknowledged
  and the PT reversed it by itself (rule 2); or it was committed with a receipt number and
  the PT's last kept receipt is older than it (or the PT has none at all);
- otherwise it stays in doubt: the terminal does not sell, and `status` tells the operator
  to check the PT's own journal and decide with `posterm resolve TXN charged|not-charged`.

A committed approval is never written off by a guess; nothing is retried blindly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from posterm.daemon.crash import crashpoint
from posterm.daemon.errors import TerminalError
from posterm.daemon.flows import receipts, records
from posterm.daemon.flows.context import FlowContext
from posterm.daemon.flows.payments import pt_fields
from posterm.daemon.journal.rows import Txn
from posterm.daemon.states import MONEY_KINDS, UNRESOLVED, Kind, Mode, TxnState
from posterm.drivers.payment.errors import (
    PaymentBusy,
    PaymentDeclined,
    PaymentError,
    PaymentRefused,
)
from posterm.drivers.payment.port import PaymentResult
from posterm.protocol import money
from posterm.protocol.errorcodes import ErrorCode

log = logging.getLogger("posterm.recovery")

EVENTS = {Kind.SALE: "sale.recovered", Kind.REFUND: "refund.completed", Kind.VOID: "void.completed"}
# a void the PT did not keep is told as void.completed with state and outcome not_charged
# (docs/mqtt.md has no void.failed; sale.recovered tells a lost sale the same way): without
# it the host kept the void.in_doubt open for ever
LOST_EVENTS = {
    Kind.SALE: "sale.recovered",
    Kind.REFUND: "refund.failed",
    Kind.VOID: "void.completed",
}
OUTCOMES = {"charged": True, "not-charged": False}


@dataclass(frozen=True)
class Evidence:
    """What the PT said about its last receipt: `last` (None: it has none), or nothing
    (`known` False, with why)."""

    known: bool
    last: PaymentResult | None = None
    why: str = ""


def recover(ctx: FlowContext) -> bool:
    """Resolve every in-doubt operation the evidence decides; True when none is left.
    Otherwise the mode is IN_DOUBT and its reason says what is missing."""
    for eod in ctx.journal.txns_in_state(*UNRESOLVED):
        if eod.kind == Kind.EOD:  # moves no money: the operator runs it again
            with ctx.journal.transaction() as tx:
                tx.update_txn(eod.txn_id, state=TxnState.FAILED, result_text="interrupted")
    pending = ctx.unresolved()
    if not pending:
        ctx.awaiting_operator = False
        return True
    ctx.mode.set(Mode.RECOVERING, f"asking the PT about {len(pending)} in-doubt operation(s)")
    try:
        evidence = ask_pt(ctx)
    except PaymentError as exc:  # the link, or a passing condition: ask again later
        ctx.mode.set(Mode.IN_DOUBT, f"{len(pending)} operation(s) in doubt; PT: {exc}")
        return False
    left = []
    for txn in pending:
        verdict = judge(ctx, txn, evidence)
        if verdict is True:
            assert evidence.last is not None
            resolve_kept(ctx, txn, evidence.last, note="recovered: kept by the PT")
        elif verdict is False:
            resolve_lost(ctx, txn, note="recovered: not kept by the PT")
        else:
            left.append(txn)
    if not left:
        ctx.awaiting_operator = False
        return True
    ctx.awaiting_operator = True
    ctx.mode.set(Mode.IN_DOUBT, operator_reason(ctx, left, evidence))
    for txn in left:
        log.error("recovery: %s %s stays in doubt: %s", txn.kind, txn.txn_id, evidence.why)
    return False


def ask_pt(ctx: FlowContext) -> Evidence:
    """The PT's last result. Raises PaymentError when the answer may be different a
    moment later (the link, a passing condition)."""
    try:
        last = ctx.pt.last_result()
    except PaymentDeclined as exc:
        return Evidence(False, why=f"the PT cannot repeat its last receipt ({exc})")
    except PaymentBusy:
        raise
    except PaymentRefused as exc:  # the PT does not do repeat receipt
        return Evidence(False, why=f"the PT refuses repeat receipt ({exc})")
    if last is None:
        return Evidence(True, None, "the PT has no receipt")
    return Evidence(True, last, f"the PT's last receipt is {last.receipt_no}")


def judge(ctx: FlowContext, txn: Txn, ev: Evidence) -> bool | None:
    """True: the PT kept it; False: it did not; None: no evidence either way."""
    last = ev.last
    if (
        last is not None
        and last.approved
        and txn.receipt_no is not None
        and last.receipt_no == txn.receipt_no
        and last.amount == txn.amount
    ):
        return True
    if txn.state == TxnState.IN_DOUBT:
        # Never committed here, so its 04 0F was never acknowledged: the PT reversed it.
        # Unless the PT shows a receipt of this amount we have never seen: then the card
        # was charged after all, and the customer must get a receipt (logged loudly).
        if (
            last is not None
            and last.approved
            and last.amount == txn.amount
            and last.receipt_no is not None
            and not ctx.journal.knows_receipt_no(last.receipt_no)
        ):
            log.error("recovery: PT kept %s although it was never committed here", txn.txn_id)
            return True
        return False
    # Committed and acknowledged: only the PT's own word decides.
    if not ev.known:
        return None
    if last is None:
        return False  # the PT kept no receipt at all
    if last.receipt_no is None:
        return None
    owner = ctx.journal.latest_with_receipt_no(last.receipt_no)
    if owner is not None and owner.txn_id != txn.txn_id and owner.created_at < txn.created_at:
        return False  # the PT's last kept receipt is older than this operation
    return None


def operator_reason(ctx: FlowContext, txns: list[Txn], ev: Evidence) -> str:
    parts = []
    for txn in txns:
        amount = money.format_amount(txn.amount, txn.currency)
        receipt = "no PT receipt" if txn.receipt_no is None else f"PT receipt {txn.receipt_no:04d}"
        parts.append(f"{txn.txn_id} ({txn.kind} {amount} {txn.currency}, {receipt})")
    return (
        f"in doubt: {'; '.join(parts)}; {ev.why}. Check the PT's own journal, then run "
        "`posterm resolve TXN charged|not-charged --by NAME`"
    )


def resolve_by_operator(ctx: FlowContext, txn_id: str, outcome: str, by: str) -> dict[str, Any]:
    """The operator checked the PT's journal and decides an operation no evidence could."""
    if outcome not in OUTCOMES:
        raise TerminalError(ErrorCode.BAD_REQUEST, "outcome is 'charged' or 'not-charged'")
    if not by.strip():
        raise TerminalError(ErrorCode.BAD_REQUEST, "resolve needs who decided it (--by NAME)")
    txn = ctx.journal.get_txn(txn_id)
    if txn is None or txn.kind not in MONEY_KINDS:
        raise TerminalError(ErrorCode.UNKNOWN_TXN, f"no sale, refund or void {txn_id}")
    if txn.state not in UNRESOLVED:
        raise TerminalError(ErrorCode.NOT_IN_DOUBT, f"{txn_id} is {txn.state}, not in doubt")
    note = f"resolved by {by}: {outcome} (checked on the PT)"
    log.warning("recovery: %s %s %s", txn.kind, txn_id, note)
    if OUTCOMES[outcome]:
        resolve_kept(ctx, txn, None, note=note, by=by)
    else:
        resolve_lost(ctx, txn, note=note, by=by)
    return records.view(ctx.journal, txn_id)


def resolve_kept(
    ctx: FlowContext, txn: Txn, last: PaymentResult | None, *, note: str, by: str | None = None
) -> None:
    log.info(
        "recovery: %s %s was kept by the PT (receipt %s)",
        txn.kind,
        txn.txn_id,
        txn.receipt_no if last is None else last.receipt_no,
    )
    fields = pt_fields(last) if last is not None else {}
    with ctx.journal.transaction() as tx:
        tx.update_txn(
            txn.txn_id,
            state=TxnState.APPROVED,
            note=note,
            batch_no=records.batch_no(ctx.journal),
            **fields,
        )
        if txn.kind == Kind.VOID and txn.ref_txn is not None:
            sale = tx.txn(txn.ref_txn)
            if sale.state != TxnState.VOIDED:
                tx.update_txn(sale.txn_id, state=TxnState.VOIDED, note=f"voided by {txn.txn_id}")
        data = {**records.event_data(txn.txn_id, tx), "outcome": "kept"}
        tx.emit(EVENTS[txn.kind], data | ({"resolved_by": by} if by else {}))
    crashpoint("recovery.kept")  # approved, no receipt yet: the next start issues it
    receipts.issue(ctx, txn.txn_id, mark=receipts.RECOVERED)


def resolve_lost(ctx: FlowContext, txn: Txn, *, note: str, by: str | None = None) -> None:
    log.info("recovery: %s %s was not kept by the PT: no money moved", txn.kind, txn.txn_id)
    with ctx.journal.transaction() as tx:
        tx.update_txn(txn.txn_id, state=TxnState.NOT_CHARGED, note=note)
        if txn.kind == Kind.VOID and txn.ref_txn is not None:
            sale = tx.txn(txn.ref_txn)
            if sale.state == TxnState.VOIDED:
                tx.update_txn(sale.txn_id, state=TxnState.APPROVED, note="void not kept by the PT")
        data = {**records.event_data(txn.txn_id, tx), "outcome": "not_charged"}
        tx.emit(LOST_EVENTS[txn.kind], data | ({"resolved_by": by} if by else {}))

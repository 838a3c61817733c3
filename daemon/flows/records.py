"""How an operation is journaled (write-ahead, idempotency) and how the outside sees it
(the control API's view, an outbox event's data, amounts as decimal strings)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from posterm.daemon.errors import TerminalError
from posterm.daemon.flows import outcomes
from posterm.daemon.flows.context import FlowContext
from posterm.daemon.journal.rows import Txn, new_txn_id
from posterm.daemon.journal.store import Journal, Tx
from posterm.daemon.states import Kind, TxnState
from posterm.protocol import money
from posterm.protocol.errorcodes import ErrorCode

INTERNAL_FIELDS = frozenset(
    {"idem_key", "turnover_no", "terminal_id", "aid", "result_code", "pt_receipt_lines"}
)
EVENT_OMITS = frozenset({"result_text", "created_at", "updated_at"})
TOTALS = ("sales", "refunds", "voids", "net")


def txn_fields(txn: Txn) -> dict[str, Any]:
    """A journaled transaction as the outside sees it: amounts as decimal strings; not the
    idempotency key, the PT's internals or its receipt lines."""
    data = {k: v for k, v in asdict(txn).items() if k not in INTERNAL_FIELDS}
    return data | {
        "kind": str(txn.kind),
        "state": str(txn.state),
        "amount": money.format_amount(txn.amount, txn.currency),
    }


def parse_amount(ctx: FlowContext, text: str, min_minor: int, max_minor: int) -> int:
    """A decimal string in the terminal's currency, within the limits, as minor units."""
    try:
        return money.parse_amount(text, ctx.currency, min_minor=min_minor, max_minor=max_minor)
    except ValueError as exc:
        raise TerminalError(ErrorCode.BAD_AMOUNT, str(exc)) from exc


def fmt(ctx: FlowContext, minor: int) -> str:
    return f"{money.format_amount(minor, ctx.currency)} {ctx.currency}"


def batch_no(journal: Journal) -> int:
    """The PT batch open now (closed by end of day)."""
    return int(journal.kv_get("batch_no") or 1)


def begin(
    ctx: FlowContext,
    kind: Kind,
    amount: int,
    *,
    state: TxnState = TxnState.IN_DOUBT,
    event: str | None = None,
    event_extra: dict[str, Any] | None = None,
    **fields: Any,
) -> str:
    """Journal a new operation (write-ahead: before any byte goes to the PT); its
    `event` carries the operation and `event_extra` (travels in the event only)."""
    txn_id = new_txn_id()
    with ctx.journal.transaction() as tx:
        tx.insert_txn(
            txn_id=txn_id,
            kind=kind,
            state=state,
            amount=amount,
            currency=fields.pop("currency", ctx.currency),
            batch_no=batch_no(ctx.journal),
            **fields,
        )
        if event is not None:
            tx.emit(event, event_data(txn_id, tx) | (event_extra or {}))
    return txn_id


def idempotent(
    ctx: FlowContext, kind: Kind, key: str, amount: int, ref_txn: str | None = None
) -> dict[str, Any] | None:
    """Same key, same request: the first answer (or the final outcome once known).
    A key is bound to its kind, its target transaction and its amount: any
    difference is `key_conflict`."""
    known = ctx.journal.find_by_idem_key_any(key)
    if known is None:
        return None
    if (known.kind, known.amount, known.ref_txn) != (str(kind), amount, ref_txn):
        target = f" of {known.ref_txn}" if known.ref_txn else ""
        raise TerminalError(
            ErrorCode.KEY_CONFLICT,
            f"key {key!r} was used for {known.kind} {known.txn_id}{target} with "
            f"{fmt(ctx, known.amount)}: use a new key for a different request",
            txn_id=known.txn_id,
        )
    error = outcomes.error_for(known)
    if error is not None:
        raise error
    return view(ctx.journal, known.txn_id)


def totals_json(ctx: FlowContext, totals: dict[str, int]) -> dict[str, Any]:
    return {
        k: money.format_amount(v, ctx.currency) if k in TOTALS else v for k, v in totals.items()
    } | {"currency": ctx.currency}


def event_data(txn_id: str, tx: Tx) -> dict[str, Any]:
    """What an outbox event says of a transaction (read inside the writing `tx`)."""
    data = txn_fields(tx.txn(txn_id))
    return {k: v for k, v in data.items() if v is not None and k not in EVENT_OMITS}


def view(journal: Journal, txn_id: str) -> dict[str, Any]:
    """What the control API answers about a transaction."""
    txn = journal.txn(txn_id)
    customer = [r for r in journal.receipts_of(txn_id) if r.copy == "customer"]
    if not customer:
        receipt_state = "none"
    elif any(r.state == "pending" for r in customer):
        receipt_state = "pending"
    else:
        receipt_state = "printed"
    return {**txn_fields(txn), "receipt_state": receipt_state}

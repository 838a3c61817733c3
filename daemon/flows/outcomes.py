"""What the client is told about a journaled operation: success (its view) or the error
its state means. The first answer and every retry with the same key come from here, so a
retry answers as the first answer did (same `ok`, `code`, exit status), or with the final
outcome once recovery or the operator has decided it."""

from __future__ import annotations

from typing import Any

from posterm.daemon.errors import TerminalError
from posterm.daemon.journal.rows import Txn
from posterm.daemon.states import Kind, TxnState
from posterm.protocol.errorcodes import ErrorCode

SUCCESS = frozenset({TxnState.APPROVED, TxnState.VOIDED, TxnState.AWAITING_APPROVAL})
FUNCTION_NOT_POSSIBLE = 0x83
REFUNDS_OFF = (
    "the payment terminal refuses refunds (result 83, function not possible): "
    "ask the acquirer to enable refunds, or refund another way"
)


def error_for(txn: Txn) -> TerminalError | None:
    """None when the operation's answer is a success; else the error to raise."""
    state = TxnState(txn.state)
    if state in SUCCESS:
        return None
    details: dict[str, Any] = {"txn_id": txn.txn_id, "state": str(state)}
    text = txn.result_text or ""
    if state == TxnState.DECLINED:
        if txn.kind == Kind.REFUND and txn.result_code == FUNCTION_NOT_POSSIBLE:
            return TerminalError(ErrorCode.PT_REFUSED, REFUNDS_OFF, **details)
        return TerminalError(
            ErrorCode.DECLINED,
            f"declined by the PT: {text}",
            result_code=txn.result_code,
            **details,
        )
    if state == TxnState.FAILED:
        if txn.result_code is not None:  # the PT refused the command itself (84 xx)
            return TerminalError(ErrorCode.PT_REFUSED, text, **details)
        return TerminalError(ErrorCode.PT_DOWN, f"payment terminal unreachable: {text}", **details)
    if state in (TxnState.IN_DOUBT, TxnState.APPROVED_UNCONFIRMED):
        return TerminalError(
            ErrorCode.IN_DOUBT,
            f"{txn.txn_id} is in doubt: it is resolved with the PT before the next operation",
            **details,
        )
    if state == TxnState.NOT_CHARGED:
        return TerminalError(
            ErrorCode.NOT_CHARGED,
            f"{txn.txn_id} was not charged: the PT did not keep it",
            **details,
        )
    if state == TxnState.REJECTED:
        return TerminalError(ErrorCode.REJECTED, f"refund {txn.txn_id} was rejected", **details)
    raise AssertionError(f"no answer for state {state}")  # every state is handled above

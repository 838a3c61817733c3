"""The named states of the terminal and of its transactions, and the allowed transitions."""

from __future__ import annotations

from enum import StrEnum


class Mode(StrEnum):
    """What the terminal as a whole is doing; only READY takes new money operations."""

    STARTING = "starting"
    RECOVERING = "recovering"  # resolving in-doubt operations with the PT
    READY = "ready"
    BUSY = "busy"  # a customer operation is running
    IN_DOUBT = "in_doubt"  # an operation is unresolved: no new money until it is
    PT_DOWN = "pt_down"  # the payment terminal does not answer
    FAULT = "fault"  # sticky, with a reason; needs an operator


class TxnState(StrEnum):
    AWAITING_APPROVAL = "awaiting_approval"  # refund above the limit
    REJECTED = "rejected"
    IN_DOUBT = "in_doubt"  # journaled, sent (or about to be) to the PT, no result yet
    APPROVED_UNCONFIRMED = "approved_unconfirmed"  # 04 0F committed, completion not yet seen
    APPROVED = "approved"
    DECLINED = "declined"
    FAILED = "failed"  # never reached the PT, or the PT refused the command itself
    NOT_CHARGED = "not_charged"  # recovery: the PT did not keep it (auto-reversed)
    VOIDED = "voided"  # a sale reversed the same day


class Kind(StrEnum):
    SALE = "sale"
    REFUND = "refund"
    VOID = "void"
    EOD = "eod"


UNRESOLVED = (TxnState.IN_DOUBT, TxnState.APPROVED_UNCONFIRMED)
MONEY_KINDS = (Kind.SALE, Kind.REFUND, Kind.VOID)

TRANSITIONS: dict[TxnState | None, frozenset[TxnState]] = {
    None: frozenset({TxnState.IN_DOUBT, TxnState.AWAITING_APPROVAL}),
    TxnState.AWAITING_APPROVAL: frozenset({TxnState.IN_DOUBT, TxnState.REJECTED}),
    TxnState.IN_DOUBT: frozenset(
        {
            TxnState.APPROVED_UNCONFIRMED,
            TxnState.APPROVED,
            TxnState.DECLINED,
            TxnState.FAILED,
            TxnState.NOT_CHARGED,
        }
    ),
    TxnState.APPROVED_UNCONFIRMED: frozenset({TxnState.APPROVED, TxnState.NOT_CHARGED}),
    TxnState.APPROVED: frozenset({TxnState.VOIDED}),
    TxnState.VOIDED: frozenset({TxnState.APPROVED}),  # a void the PT did not keep
    TxnState.DECLINED: frozenset(),
    TxnState.FAILED: frozenset(),
    TxnState.NOT_CHARGED: frozenset(),
    TxnState.REJECTED: frozenset(),
}


def check_transition(old: TxnState | None, new: TxnState) -> None:
    if new not in TRANSITIONS[old]:
        raise ValueError(f"transaction cannot go from {old} to {new}")

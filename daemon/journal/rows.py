"""The journal's rows as frozen dataclasses, and the check of every value before it is
written. `Txn` is the one definition of a transaction's columns."""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
from dataclasses import asdict, dataclass, fields
from typing import Any

from posterm.daemon.journal.errors import JournalError
from posterm.daemon.journal.guards import check_masked_pan, check_no_card_data
from posterm.daemon.states import Kind, TxnState
from posterm.protocol import money

REQUIRED = ("txn_id", "kind", "state", "amount", "currency")
INT_FIELDS = frozenset({"amount", "receipt_no", "trace", "turnover_no", "result_code", "batch_no"})
KINDS = ("sale", "refund", "void", "eod")
COPIES = ("customer", "merchant")
MARKS = ("original", "recovered", "duplicate")
RECEIPT_STATES = ("pending", "printed")
# Refunds that no longer count against their sale: definitively off.
REFUND_OFF = (TxnState.DECLINED, TxnState.FAILED, TxnState.NOT_CHARGED, TxnState.REJECTED)
TXN_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
FREE_TEXT = ("card_name", "result_text", "reason_text")


ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def new_txn_id() -> str:
    """A short, readable, unique transaction id: "T" + 10 Crockford base32 characters."""
    return "T" + "".join(secrets.choice(ID_ALPHABET) for _ in range(10))


@dataclass(frozen=True)
class Txn:
    txn_id: str
    kind: Kind
    state: TxnState
    amount: int
    currency: str
    idem_key: str | None
    ref_txn: str | None
    receipt_no: int | None
    trace: int | None
    turnover_no: int | None
    terminal_id: str | None
    card_name: str | None
    masked_pan: str | None
    aid: str | None
    result_code: int | None
    result_text: str | None
    pt_receipt_lines: list[str] | None
    reason: str | None
    reason_text: str | None
    batch_no: int | None
    created_at: str
    updated_at: str


# The columns of `txns`, in the order of the table (a test checks it against the schema).
TXN_FIELDS = tuple(f.name for f in fields(Txn))
UPDATABLE = frozenset(TXN_FIELDS) - {
    "txn_id",
    "kind",
    "currency",
    "idem_key",
    "created_at",
    "updated_at",
}


@dataclass(frozen=True)
class Receipt:
    receipt_id: int
    txn_id: str
    copy: str
    mark: str
    state: str
    body: dict[str, Any]
    created_at: str
    printed_at: str | None


@dataclass(frozen=True)
class Transition:
    """One line of the audit trail (txn_id None: a change of the terminal's mode)."""

    id: int
    txn_id: str | None
    from_state: str | None
    to_state: str
    note: str | None
    at: str

    def __getitem__(self, name: str) -> Any:  # read like the dict rows of older callers
        return asdict(self)[name]


@dataclass(frozen=True)
class OutboxEvent:
    seq: int
    event_id: str
    type: str
    occurred_at: str
    envelope: dict[str, Any]
    acked_at: str | None
    sent_at: str | None = None  # PUBACKed by the broker (not yet acknowledged by the host)
    personal: int = 0  # 1 while the envelope holds a customer's contact (data.notify)


def to_json(where: str, value: Any) -> str:
    try:
        return json.dumps(value, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise JournalError(f"{where} is not plain JSON: {exc}") from exc


def check_field(name: str, value: Any) -> Any:
    """One txn column, type-checked; returns what goes into SQLite."""
    if value is None:
        if name in REQUIRED:
            raise JournalError(f"a transaction needs {name}")
        return None
    if name in INT_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int):
            raise JournalError(f"{name} must be a whole number, not {value!r}")
        if value < 0:
            raise JournalError(f"{name} cannot be negative ({value})")
        return value
    if name == "pt_receipt_lines":
        if not isinstance(value, list | tuple) or not all(isinstance(x, str) for x in value):
            raise JournalError("pt_receipt_lines must be a list of strings")
        check_no_card_data("pt_receipt_lines", list(value))
        return to_json("pt_receipt_lines", list(value))
    if name == "state":
        try:
            return str(TxnState(value))
        except ValueError:
            raise JournalError(f"unknown transaction state {value!r}") from None
    if not isinstance(value, str):
        raise JournalError(f"{name} must be text, not {type(value).__name__}")
    if name == "masked_pan":
        check_masked_pan(value)
    elif name in FREE_TEXT:
        check_no_card_data(name, value, operator_text=True)
    elif name in ("txn_id", "ref_txn") and not TXN_ID.fullmatch(value):
        raise JournalError(f"{name} {value!r}: 1-64 of A-Z a-z 0-9 _ . : -")
    elif name == "idem_key":
        if not 1 <= len(value) <= 128:
            raise JournalError("an idempotency key is 1-128 characters")
        check_no_card_data(name, value, operator_text=True)
    elif name == "currency" and value not in money.CURRENCIES:
        raise JournalError(f"unknown currency {value!r}")
    return str(value)  # a StrEnum (Kind) goes in as its plain text


def txn_row(row: sqlite3.Row) -> Txn:
    data = dict(row)
    lines = data["pt_receipt_lines"]
    data["pt_receipt_lines"] = json.loads(lines) if lines is not None else None
    data["kind"] = Kind(data["kind"])
    data["state"] = TxnState(data["state"])
    return Txn(**data)


def receipt_row(row: sqlite3.Row) -> Receipt:
    return Receipt(**{**dict(row), "body": json.loads(row["body"])})


def event_row(row: sqlite3.Row) -> OutboxEvent:
    return OutboxEvent(**{**dict(row), "envelope": json.loads(row["envelope"])})

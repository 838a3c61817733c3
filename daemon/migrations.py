"""The journal's schema: tables as ordered migrations, their rows as frozen dataclasses,
and the checks every value passes before it is written."""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import asdict, dataclass
from typing import Any

from posterm.daemon.states import TxnState
from posterm.protocol import money


class JournalError(Exception):
    """The journal cannot do what was asked: bad data, broken file, I/O error."""


class JournalIOError(JournalError):
    """The journal's storage failed (disk full, I/O error): the terminal cannot go on."""


class TransitionError(JournalError, ValueError):
    """A transaction state change that the state table does not allow."""


class MigrationError(JournalError):
    """A journal file whose schema this posterm cannot bring up to date."""


MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema
    """
    CREATE TABLE txns (
        txn_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('sale', 'refund', 'void', 'eod')),
        state TEXT NOT NULL,
        amount INTEGER NOT NULL CHECK (amount >= 0),
        currency TEXT NOT NULL,
        idem_key TEXT,
        ref_txn TEXT REFERENCES txns (txn_id),
        receipt_no INTEGER,
        trace INTEGER,
        turnover_no INTEGER,
        terminal_id TEXT,
        card_name TEXT,
        masked_pan TEXT,
        aid TEXT,
        result_code INTEGER,
        result_text TEXT,
        pt_receipt_lines TEXT,
        reason TEXT,
        reason_text TEXT,
        batch_no INTEGER,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (kind, idem_key)
    );
    CREATE TABLE receipts (
        receipt_id INTEGER PRIMARY KEY,
        txn_id TEXT NOT NULL REFERENCES txns (txn_id),
        copy TEXT NOT NULL CHECK (copy IN ('customer', 'merchant')),
        mark TEXT NOT NULL CHECK (mark IN ('original', 'recovered', 'duplicate')),
        state TEXT NOT NULL CHECK (state IN ('pending', 'printed')),
        body TEXT NOT NULL,
        created_at TEXT NOT NULL,
        printed_at TEXT
    );
    CREATE TABLE transitions (
        id INTEGER PRIMARY KEY,
        txn_id TEXT,
        from_state TEXT,
        to_state TEXT NOT NULL,
        note TEXT,
        at TEXT NOT NULL
    );
    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY,
        event_id TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL,
        occurred_at TEXT NOT NULL,
        envelope TEXT NOT NULL,
        acked_at TEXT
    );
    CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # 2: the lookups recovery, the receipt printer and the outbox relay make on every run
    """
    CREATE INDEX txns_state ON txns (state);
    CREATE INDEX txns_receipt_no ON txns (receipt_no);
    CREATE INDEX txns_ref ON txns (ref_txn);
    CREATE INDEX receipts_pending ON receipts (state, receipt_id);
    CREATE INDEX outbox_unacked ON outbox (acked_at, seq);
    """,
)


def version(db: sqlite3.Connection) -> int:
    """The schema version of an open file (0: empty)."""
    db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = db.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(db: sqlite3.Connection, target: int | None = None) -> int:
    """Apply the missing migrations in order, each in its own transaction (a failed one
    leaves the file at the version before it); returns the version reached.

    `db` must be in autocommit mode (`isolation_level=None`)."""
    goal = len(MIGRATIONS) if target is None else target
    if not 0 <= goal <= len(MIGRATIONS):
        raise MigrationError(f"no schema version {goal} (1-{len(MIGRATIONS)})")
    current = version(db)
    if current > len(MIGRATIONS):
        raise MigrationError(
            f"journal schema {current} is newer than this posterm knows ({len(MIGRATIONS)})"
        )
    for number in range(current + 1, goal + 1):
        # executescript: a script may hold ';' inside strings or triggers. It runs its own
        # BEGIN … COMMIT, so nothing of a failed migration stays.
        try:
            db.executescript(
                f"BEGIN IMMEDIATE;\n{MIGRATIONS[number - 1]}\n"
                f"INSERT INTO schema_version (version) VALUES ({number});\nCOMMIT;"
            )
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            if version(db) >= number:  # another process opening the file got there first
                continue
            raise MigrationError(f"migration to schema {number} failed: {exc}") from exc
    return max(current, goal)


TXN_FIELDS = (
    "txn_id", "kind", "state", "amount", "currency", "idem_key", "ref_txn", "receipt_no",
    "trace", "turnover_no", "terminal_id", "card_name", "masked_pan", "aid", "result_code",
    "result_text", "pt_receipt_lines", "reason", "reason_text", "batch_no", "created_at",
    "updated_at",
)  # fmt: skip
REQUIRED = ("txn_id", "kind", "state", "amount", "currency")
UPDATABLE = frozenset(TXN_FIELDS) - {"txn_id", "kind", "currency", "idem_key", "created_at",
                                     "updated_at"}  # fmt: skip
INT_FIELDS = frozenset({"amount", "receipt_no", "trace", "turnover_no", "result_code", "batch_no"})
KINDS = ("sale", "refund", "void", "eod")
COPIES = ("customer", "merchant")
MARKS = ("original", "recovered", "duplicate")
RECEIPT_STATES = ("pending", "printed")
# Refunds that no longer count against their sale: definitively off.
REFUND_OFF = (TxnState.DECLINED, TxnState.FAILED, TxnState.NOT_CHARGED, TxnState.REJECTED)
TXN_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
# A PT's masked PAN: at most the first 6 and the last 4 digits, at least 3 digits hidden
# (with 1 or 2 hidden, the Luhn check digit gives the PAN back).
MASKED_PAN = re.compile(r"[0-9]{0,6}\*{3,}[0-9]{0,4}")
# Track data: a PAN, a field separator (= track 2, D in ZVT's BCD, ^ track 1), YYMM.
TRACK = re.compile(r"(?<![0-9])[1-9][0-9]{11,18}[=D^][0-9]{4}")
# A full PAN in operator text: 13-19 digits, maybe grouped by single spaces or dashes.
PAN_RUN = re.compile(r"(?<![0-9])[1-9](?:[ -]?[0-9]){12,18}(?![0-9])")
FREE_TEXT = ("card_name", "result_text", "reason_text")


@dataclass(frozen=True)
class Txn:
    txn_id: str
    kind: str
    state: str
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


def check_masked_pan(pan: str | None) -> None:
    """Rule 7: only a masked PAN (at most first 6 / last 4 digits) is ever written."""
    if pan is None:
        return
    if not isinstance(pan, str) or len(pan) > 19 or not MASKED_PAN.fullmatch(pan):
        raise JournalError(
            "refusing to store a PAN that is not masked to at most first 6 / last 4 digits"
        )


def check_no_card_data(where: str, value: Any, *, operator_text: bool = False) -> None:
    """Refuse track data anywhere in `value`; in operator text, also a full PAN."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("masked_pan", "pan"):
                check_masked_pan(item)
            else:
                check_no_card_data(where, item, operator_text=operator_text)
    elif isinstance(value, list | tuple):
        for item in value:
            check_no_card_data(where, item, operator_text=operator_text)
    elif isinstance(value, str):
        if TRACK.search(value):
            raise JournalError(f"refusing to store track data in {where}")
        if operator_text and any(_luhn(m.group()) for m in PAN_RUN.finditer(value)):
            raise JournalError(f"refusing to store a card number in {where}")


def _luhn(text: str) -> bool:
    digits = [int(c) for c in text if c.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        total += d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2)
    return total % 10 == 0


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
    return Txn(**data)


def receipt_row(row: sqlite3.Row) -> Receipt:
    return Receipt(**{**dict(row), "body": json.loads(row["body"])})


def event_row(row: sqlite3.Row) -> OutboxEvent:
    return OutboxEvent(**{**dict(row), "envelope": json.loads(row["envelope"])})

"""The journal: SQLite (WAL, synchronous=FULL) holding transactions, receipts, the audit
trail of transitions and the outbox. Every state change and the events it causes commit
in one SQLite transaction (`with journal.transaction() as tx`)."""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from posterm.daemon import events
from posterm.daemon.migrations import migrate
from posterm.daemon.states import TxnState, check_transition

TXN_FIELDS = (
    "txn_id", "kind", "state", "amount", "currency", "idem_key", "ref_txn", "receipt_no",
    "trace", "turnover_no", "terminal_id", "card_name", "masked_pan", "aid", "result_code",
    "result_text", "pt_receipt_lines", "reason", "reason_text", "batch_no", "created_at",
    "updated_at",
)  # fmt: skip
UPDATABLE = frozenset(TXN_FIELDS) - {"txn_id", "kind", "created_at", "updated_at", "idem_key"}
MASKED_PAN = re.compile(r"[0-9]{0,6}\*+[0-9]{0,4}")


class JournalError(Exception):
    """The journal cannot do what was asked (bad data, broken file, I/O error)."""


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


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _txn(row: sqlite3.Row | None) -> Txn | None:
    if row is None:
        return None
    data = dict(row)
    lines = data["pt_receipt_lines"]
    data["pt_receipt_lines"] = json.loads(lines) if lines is not None else None
    return Txn(**data)


def _receipt(row: sqlite3.Row) -> Receipt:
    data = dict(row)
    data["body"] = json.loads(data["body"])
    return Receipt(**data)


def check_masked_pan(pan: str | None) -> None:
    """Rule 7: only a masked PAN (at most first 6 / last 4 digits) is ever written."""
    if pan is None:
        return
    if not MASKED_PAN.fullmatch(pan) or sum(c.isdigit() for c in pan) > 10:
        raise JournalError("refusing to store a PAN that is not masked to first 6 / last 4")


class Tx:
    """Writes inside one SQLite transaction (see `Journal.transaction`)."""

    def __init__(self, journal: Journal, db: sqlite3.Connection) -> None:
        self._journal = journal
        self._db = db

    def get_txn(self, txn_id: str) -> Txn | None:
        return _txn(self._db.execute("SELECT * FROM txns WHERE txn_id = ?", (txn_id,)).fetchone())

    def insert_txn(self, **fields: Any) -> Txn:
        state = TxnState(fields["state"])
        check_transition(None, state)
        check_masked_pan(fields.get("masked_pan"))
        unknown = set(fields) - set(TXN_FIELDS)
        if unknown:
            raise JournalError(f"unknown transaction fields {sorted(unknown)}")
        stamp = now()
        row = {name: fields.get(name) for name in TXN_FIELDS}
        row.update(state=str(state), kind=str(fields["kind"]), created_at=stamp, updated_at=stamp)
        if row["pt_receipt_lines"] is not None:
            row["pt_receipt_lines"] = json.dumps(row["pt_receipt_lines"])
        try:
            self._db.execute(
                f"INSERT INTO txns ({', '.join(TXN_FIELDS)}) VALUES "
                f"({', '.join(':' + n for n in TXN_FIELDS)})",
                row,
            )
        except sqlite3.IntegrityError as exc:
            raise JournalError(f"cannot journal {fields.get('txn_id')}: {exc}") from exc
        self._transition(row["txn_id"], None, str(state), "created")
        txn = self.get_txn(row["txn_id"])
        assert txn is not None
        return txn

    def update_txn(self, txn_id: str, note: str | None = None, **fields: Any) -> Txn:
        old = self.get_txn(txn_id)
        if old is None:
            raise JournalError(f"no transaction {txn_id}")
        bad = set(fields) - UPDATABLE
        if bad:
            raise JournalError(f"cannot update {sorted(bad)} of a transaction")
        check_masked_pan(fields.get("masked_pan"))
        if "state" in fields:
            new_state = TxnState(fields["state"])
            if new_state != old.state:
                check_transition(TxnState(old.state), new_state)
                self._transition(txn_id, old.state, str(new_state), note)
            fields["state"] = str(new_state)
        if "pt_receipt_lines" in fields and fields["pt_receipt_lines"] is not None:
            fields["pt_receipt_lines"] = json.dumps(fields["pt_receipt_lines"])
        fields["updated_at"] = now()
        assignments = ", ".join(f"{name} = :{name}" for name in fields)
        self._db.execute(
            f"UPDATE txns SET {assignments} WHERE txn_id = :txn_id", {**fields, "txn_id": txn_id}
        )
        txn = self.get_txn(txn_id)
        assert txn is not None
        return txn

    def _transition(self, txn_id: str | None, old: str | None, new: str, note: str | None) -> None:
        self._db.execute(
            "INSERT INTO transitions (txn_id, from_state, to_state, note, at) VALUES (?,?,?,?,?)",
            (txn_id, old, new, note, now()),
        )

    def add_receipt(
        self, *, txn_id: str, copy: str, mark: str, body: dict[str, Any], state: str = "pending"
    ) -> int:
        cur = self._db.execute(
            "INSERT INTO receipts (txn_id, copy, mark, state, body, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (txn_id, copy, mark, state, json.dumps(body), now()),
        )
        return int(cur.lastrowid or 0)

    def set_receipt(
        self, receipt_id: int, *, state: str | None = None, mark: str | None = None
    ) -> None:
        if state is not None:
            printed_at = now() if state == "printed" else None
            self._db.execute(
                "UPDATE receipts SET state = ?, printed_at = ? WHERE receipt_id = ?",
                (state, printed_at, receipt_id),
            )
        if mark is not None:
            self._db.execute(
                "UPDATE receipts SET mark = ? WHERE receipt_id = ?", (mark, receipt_id)
            )

    def emit(self, type_: str, data: dict[str, Any]) -> dict[str, Any]:
        """Write an outbox event in this transaction; `seq` is gapless per terminal."""
        seq = int(self.kv_get("outbox_seq") or 0) + 1
        envelope = events.envelope(self._journal.terminal_id, seq, type_, data)
        self._db.execute(
            "INSERT INTO outbox (seq, event_id, type, occurred_at, envelope) VALUES (?,?,?,?,?)",
            (seq, envelope["event_id"], type_, envelope["occurred_at"], json.dumps(envelope)),
        )
        self.kv_set("outbox_seq", str(seq))
        return envelope

    def kv_get(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def kv_set(self, key: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO kv (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def ack_event(self, event_id: str) -> int:
        cur = self._db.execute(
            "UPDATE outbox SET acked_at = ? WHERE event_id = ? AND acked_at IS NULL",
            (now(), event_id),
        )
        return int(cur.rowcount)

    def record_mode(self, old: str, new: str, reason: str) -> None:
        self._transition(None, old, new, reason)


class Journal:
    """One connection, serialised by a lock: the owner thread writes, others may read."""

    def __init__(self, path: str | Path, terminal_id: str) -> None:
        self.path = Path(path)
        self.terminal_id = terminal_id
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                str(self.path), isolation_level=None, check_same_thread=False
            )
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA busy_timeout=5000")
            self.schema_version = migrate(self._db)
        except (sqlite3.Error, OSError) as exc:
            raise JournalError(f"{self.path}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise JournalError(f"cannot begin a transaction: {exc}") from exc
            try:
                yield Tx(self, self._db)
                self._db.execute("COMMIT")
            except BaseException as exc:
                self._db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise JournalError(str(exc)) from exc
                raise

    def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._db.execute(sql, args).fetchall())

    # -- reads --------------------------------------------------------------------------
    def get_txn(self, txn_id: str) -> Txn | None:
        rows = self._all("SELECT * FROM txns WHERE txn_id = ?", (txn_id,))
        return _txn(rows[0]) if rows else None

    def find_by_idem_key(self, kind: str, key: str) -> Txn | None:
        rows = self._all("SELECT * FROM txns WHERE kind = ? AND idem_key = ?", (str(kind), key))
        return _txn(rows[0]) if rows else None

    def txns_in_state(self, *states: str) -> list[Txn]:
        marks = ", ".join("?" for _ in states)
        rows = self._all(
            f"SELECT * FROM txns WHERE state IN ({marks}) ORDER BY created_at, rowid",
            tuple(str(s) for s in states),
        )
        return [t for t in map(_txn, rows) if t is not None]

    def list_txns(self, limit: int = 50) -> list[Txn]:
        rows = self._all(
            "SELECT * FROM txns ORDER BY created_at DESC, rowid DESC LIMIT ?", (limit,)
        )
        return [t for t in map(_txn, rows) if t is not None]

    def refunded_total(self, sale_id: str, states: tuple[str, ...]) -> int:
        marks = ", ".join("?" for _ in states)
        rows = self._all(
            f"SELECT COALESCE(SUM(amount), 0) FROM txns WHERE kind = 'refund' AND ref_txn = ?"
            f" AND state IN ({marks})",
            (sale_id, *(str(s) for s in states)),
        )
        return int(rows[0][0])

    def knows_receipt_no(self, receipt_no: int) -> bool:
        return bool(self._all("SELECT 1 FROM txns WHERE receipt_no = ? LIMIT 1", (receipt_no,)))

    def batch_totals(self, batch_no: int) -> dict[str, int]:
        totals = {"sales": 0, "sales_count": 0, "refunds": 0, "refunds_count": 0,
                  "voids": 0, "voids_count": 0}  # fmt: skip
        rows = self._all(
            "SELECT kind, COUNT(*), COALESCE(SUM(amount), 0) FROM txns WHERE batch_no = ?"
            " AND (state = 'approved' OR (kind = 'sale' AND state = 'voided'))"
            " AND kind IN ('sale', 'refund', 'void') GROUP BY kind",
            (batch_no,),
        )
        for kind, count, amount in rows:
            totals[f"{kind}s"] = int(amount)
            totals[f"{kind}s_count"] = int(count)
        totals["net"] = totals["sales"] - totals["refunds"] - totals["voids"]
        return totals

    def pending_receipts(self) -> list[Receipt]:
        rows = self._all("SELECT * FROM receipts WHERE state = 'pending' ORDER BY receipt_id")
        return [_receipt(r) for r in rows]

    def receipts_of(self, txn_id: str) -> list[Receipt]:
        rows = self._all("SELECT * FROM receipts WHERE txn_id = ? ORDER BY receipt_id", (txn_id,))
        return [_receipt(r) for r in rows]

    def transitions(self, txn_id: str | None = None) -> list[dict[str, Any]]:
        if txn_id is None:
            rows = self._all("SELECT * FROM transitions ORDER BY id")
        else:
            rows = self._all("SELECT * FROM transitions WHERE txn_id = ? ORDER BY id", (txn_id,))
        return [dict(r) for r in rows]

    def kv_get(self, key: str) -> str | None:
        rows = self._all("SELECT value FROM kv WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    # -- outbox -------------------------------------------------------------------------
    def outbox(self, *, pending_only: bool = True, limit: int = 1000) -> list[dict[str, Any]]:
        where = "WHERE acked_at IS NULL" if pending_only else ""
        rows = self._all(f"SELECT envelope FROM outbox {where} ORDER BY seq LIMIT ?", (limit,))
        return [json.loads(r[0]) for r in rows]

    def outbox_ack(self, event_ids: list[str]) -> int:
        """Drop acknowledged events from the outbox (kept, marked, for the audit)."""
        with self.transaction() as tx:
            return sum(tx.ack_event(event_id) for event_id in event_ids)

    def outbox_depth(self) -> int:
        return int(self._all("SELECT COUNT(*) FROM outbox WHERE acked_at IS NULL")[0][0])

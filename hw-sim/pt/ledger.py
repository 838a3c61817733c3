"""The simulated PT's ledger: the ground truth of what the cards were charged (SQLite).

A row per payment, reversal and refund. States: `pending` (debited at the host, the ECR
has not yet acknowledged the 04 0F), `booked` (kept), `auto_reversed` (the ECR never
acknowledged: the PT took it back by itself), `reversed` (a booked payment later voided).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('payment', 'reversal', 'refund')),
    amount INTEGER NOT NULL,
    currency INTEGER NOT NULL,
    receipt_no INTEGER NOT NULL,
    trace INTEGER NOT NULL,
    turnover_no INTEGER NOT NULL,
    batch INTEGER NOT NULL,
    state TEXT NOT NULL,
    ref_receipt_no INTEGER,
    masked_pan TEXT,
    card_name TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (
    batch INTEGER PRIMARY KEY,
    opened_at TEXT NOT NULL,
    closed_at TEXT,
    count INTEGER,
    total INTEGER
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


@dataclass(frozen=True)
class Entry:
    id: int
    kind: str
    amount: int
    currency: int
    receipt_no: int
    trace: int
    turnover_no: int
    batch: int
    state: str
    ref_receipt_no: int | None
    masked_pan: str | None
    card_name: str | None
    created_at: str
    updated_at: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Ledger:
    """Thread-safe; every write is committed before the PT says anything about it."""

    def __init__(self, path: str | Path) -> None:
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()
        with self._lock:
            if self._batch_open() is None:
                self._db.execute("INSERT INTO batches (batch, opened_at) VALUES (1, ?)", (_now(),))

    def close(self) -> None:
        self._db.close()

    # -- numbering ----------------------------------------------------------------------
    def _next(self, name: str, modulo: int) -> int:
        row = self._db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
        value = (row[0] % modulo) + 1 if row else 1
        self._db.execute(
            "INSERT INTO counters (name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (name, value),
        )
        return value

    def _batch_open(self) -> int | None:
        row = self._db.execute("SELECT batch FROM batches WHERE closed_at IS NULL").fetchone()
        return row[0] if row else None

    @property
    def batch(self) -> int:
        with self._lock:
            batch = self._batch_open()
        assert batch is not None
        return batch

    # -- writes -------------------------------------------------------------------------
    def add(
        self,
        kind: str,
        amount: int,
        currency: int,
        *,
        state: str = "pending",
        ref_receipt_no: int | None = None,
        masked_pan: str | None = None,
        card_name: str | None = None,
    ) -> Entry:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                receipt_no = self._next("receipt_no", 9999)
                trace = self._next("trace", 999999)
                turnover = self._next("turnover_no", 999999)
                now = _now()
                cur = self._db.execute(
                    "INSERT INTO entries (kind, amount, currency, receipt_no, trace, turnover_no,"
                    " batch, state, ref_receipt_no, masked_pan, card_name, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        kind,
                        amount,
                        currency,
                        receipt_no,
                        trace,
                        turnover,
                        self._batch_open(),
                        state,
                        ref_receipt_no,
                        masked_pan,
                        card_name,
                        now,
                        now,
                    ),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return self._get(cur.lastrowid)  # type: ignore[arg-type]

    def set_state(self, entry_id: int, state: str) -> Entry:
        with self._lock:
            self._db.execute(
                "UPDATE entries SET state = ?, updated_at = ? WHERE id = ?",
                (state, _now(), entry_id),
            )
            return self._get(entry_id)

    def close_batch(self) -> tuple[int, int, int]:
        """Close the open batch; return (batch, count, total) of its booked payments
        minus refunds, and open the next batch."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                batch = self._batch_open()
                count, total = self._db.execute(
                    "SELECT COUNT(*), COALESCE(SUM(CASE kind WHEN 'refund' THEN -amount"
                    " ELSE amount END), 0) FROM entries WHERE batch = ? AND state = 'booked'"
                    " AND kind IN ('payment', 'refund')",
                    (batch,),
                ).fetchone()
                now = _now()
                self._db.execute(
                    "UPDATE batches SET closed_at = ?, count = ?, total = ? WHERE batch = ?",
                    (now, count, total, batch),
                )
                self._db.execute(
                    "INSERT INTO batches (batch, opened_at) VALUES (?, ?)", (batch + 1, now)
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return batch, count, total

    # -- reads --------------------------------------------------------------------------
    def _get(self, entry_id: int) -> Entry:
        row = self._db.execute("SELECT * FROM entries WHERE id = ?", (entry_id,)).fetchone()
        return Entry(*row)

    def find_receipt(self, receipt_no: int, kind: str = "payment") -> Entry | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM entries WHERE receipt_no = ? AND kind = ? ORDER BY id DESC",
                (receipt_no, kind),
            ).fetchone()
        return Entry(*row) if row else None

    def last(self) -> Entry | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM entries ORDER BY id DESC LIMIT 1").fetchone()
        return Entry(*row) if row else None

    def entries(self) -> list[Entry]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM entries ORDER BY id").fetchall()
        return [Entry(*r) for r in rows]

    def batches(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT batch, opened_at, closed_at, count, total FROM batches ORDER BY batch"
            ).fetchall()
        keys = ("batch", "opened_at", "closed_at", "count", "total")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def to_json(self) -> dict[str, Any]:
        return {"entries": [asdict(e) for e in self.entries()], "batches": self.batches()}


def dump(path: str | Path) -> str:
    ledger = Ledger(path)
    try:
        return json.dumps(ledger.to_json(), indent=2)
    finally:
        ledger.close()

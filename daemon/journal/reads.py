"""The journal's read side: the queries the terminal, recovery, the printer and the outbox
relay make. Every read goes through `_all`, which the journal provides (its lock, its
connection, `JournalError` on failure)."""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from posterm.daemon.journal.errors import JournalError
from posterm.daemon.journal.rows import (
    REFUND_OFF,
    OutboxEvent,
    Receipt,
    Transition,
    Txn,
    event_row,
    receipt_row,
    txn_row,
)


class JournalReads(ABC):
    @abstractmethod
    def _all(self, sql: str, args: Iterable[Any] = ()) -> list[sqlite3.Row]:
        """Rows of one read, under the journal's lock, on its connection."""

    # -- transactions -------------------------------------------------------------------
    def get_txn(self, txn_id: str) -> Txn | None:
        rows = self._all("SELECT * FROM txns WHERE txn_id = ?", (txn_id,))
        return txn_row(rows[0]) if rows else None

    def txn(self, txn_id: str) -> Txn:
        """A transaction that must exist (its id came from the journal itself)."""
        found = self.get_txn(txn_id)
        if found is None:
            raise JournalError(f"no transaction {txn_id}")
        return found

    def find_by_idem_key(self, kind: str, key: str) -> Txn | None:
        rows = self._all("SELECT * FROM txns WHERE kind = ? AND idem_key = ?", (str(kind), key))
        return txn_row(rows[0]) if rows else None

    def find_by_idem_key_any(self, key: str) -> Txn | None:
        """The operation an idempotency key was first used for, whatever its kind."""
        rows = self._all("SELECT * FROM txns WHERE idem_key = ? ORDER BY rowid LIMIT 1", (key,))
        return txn_row(rows[0]) if rows else None

    def latest_with_receipt_no(self, receipt_no: int) -> Txn | None:
        """The newest operation the PT gave this receipt number (numbers wrap around)."""
        rows = self._all(
            "SELECT * FROM txns WHERE receipt_no = ? ORDER BY created_at DESC, rowid DESC LIMIT 1",
            (receipt_no,),
        )
        return txn_row(rows[0]) if rows else None

    def with_receipt_no(self, receipt_no: int) -> list[Txn]:
        """Every operation the PT gave this receipt number, newest first (they wrap)."""
        rows = self._all(
            "SELECT * FROM txns WHERE receipt_no = ? ORDER BY created_at DESC, rowid DESC",
            (receipt_no,),
        )
        return [txn_row(r) for r in rows]

    def latest_of(self, kinds: Iterable[str], states: Iterable[str]) -> Txn | None:
        """The newest operation of one of these kinds in one of these states."""
        k, s = [str(x) for x in kinds], [str(x) for x in states]
        rows = self._all(
            f"SELECT * FROM txns WHERE kind IN ({', '.join('?' for _ in k) or 'NULL'})"
            f" AND state IN ({', '.join('?' for _ in s) or 'NULL'})"
            " ORDER BY created_at DESC, rowid DESC LIMIT 1",
            (*k, *s),
        )
        return txn_row(rows[0]) if rows else None

    def approved_without_receipt(self) -> list[Txn]:
        """Approved sales, refunds and voids with no customer receipt journaled (a stop
        between the approval and its receipt), oldest first."""
        rows = self._all(
            "SELECT * FROM txns t WHERE kind IN ('sale', 'refund', 'void')"
            " AND state IN ('approved', 'voided') AND NOT EXISTS (SELECT 1 FROM receipts r"
            " WHERE r.txn_id = t.txn_id AND r.copy = 'customer') ORDER BY created_at, rowid"
        )
        return [txn_row(r) for r in rows]

    def txns_in_state(self, *states: str) -> list[Txn]:
        """Oldest first."""
        marks = ", ".join("?" for _ in states) or "NULL"
        rows = self._all(
            f"SELECT * FROM txns WHERE state IN ({marks}) ORDER BY created_at, rowid",
            (str(s) for s in states),
        )
        return [txn_row(r) for r in rows]

    def list_txns(self, limit: int = 50) -> list[Txn]:
        """Newest first."""
        rows = self._all(
            "SELECT * FROM txns ORDER BY created_at DESC, rowid DESC LIMIT ?", (limit,)
        )
        return [txn_row(r) for r in rows]

    def refunded_total(self, sale_txn_id: str, states: Iterable[str] | None = None) -> int:
        """Minor units of the refunds of a sale that count: by default every refund not
        declined, failed, rejected or reversed by the PT (so waiting ones count too)."""
        sql = "SELECT COALESCE(SUM(amount), 0) FROM txns WHERE kind = 'refund' AND ref_txn = ?"
        chosen = [str(s) for s in (REFUND_OFF if states is None else states)]
        marks = ", ".join("?" for _ in chosen) or "NULL"
        sql += f" AND state {'NOT ' if states is None else ''}IN ({marks})"
        return int(self._all(sql, (sale_txn_id, *chosen))[0][0])

    def knows_receipt_no(self, receipt_no: int) -> bool:
        return bool(self._all("SELECT 1 FROM txns WHERE receipt_no = ? LIMIT 1", (receipt_no,)))

    def batch_totals(self, batch_no: int) -> dict[str, int]:
        """Approved sales, refunds and voids of a batch (voided sales count as sales, their
        voids take them back): amounts and counts in minor units, and the net."""
        totals = {
            "sales": 0,
            "sales_count": 0,
            "refunds": 0,
            "refunds_count": 0,
            "voids": 0,
            "voids_count": 0,
        }
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

    def transitions(self, txn_id: str | None = None) -> list[Transition]:
        """The audit trail, oldest first: of one transaction, or everything."""
        if txn_id is None:
            rows = self._all("SELECT * FROM transitions ORDER BY id")
        else:
            rows = self._all("SELECT * FROM transitions WHERE txn_id = ? ORDER BY id", (txn_id,))
        return [Transition(**dict(r)) for r in rows]

    # -- receipts -----------------------------------------------------------------------
    def pending_receipts(self) -> list[Receipt]:
        rows = self._all("SELECT * FROM receipts WHERE state = 'pending' ORDER BY receipt_id")
        return [receipt_row(r) for r in rows]

    def receipts_of(self, txn_id: str) -> list[Receipt]:
        rows = self._all("SELECT * FROM receipts WHERE txn_id = ? ORDER BY receipt_id", (txn_id,))
        return [receipt_row(r) for r in rows]

    def kv_get(self, key: str) -> str | None:
        rows = self._all("SELECT value FROM kv WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    # -- outbox -------------------------------------------------------------------------
    def outbox_pending(self, limit: int = 100, *, after_seq: int = 0) -> list[OutboxEvent]:
        """Unacknowledged events above `after_seq`, lowest seq first."""
        rows = self._all(
            "SELECT * FROM outbox WHERE acked_at IS NULL AND seq > ? ORDER BY seq LIMIT ?",
            (after_seq, limit),
        )
        return [event_row(r) for r in rows]

    def outbox_since(self, seq: int, limit: int = 100) -> list[OutboxEvent]:
        """Events from `seq` on, acknowledged or not (the host's `resend`)."""
        rows = self._all("SELECT * FROM outbox WHERE seq >= ? ORDER BY seq LIMIT ?", (seq, limit))
        return [event_row(r) for r in rows]

    def outbox_wire(
        self, after_seq: int, limit: int, *, acked_too: bool = False
    ) -> list[tuple[int, str, bytes]]:
        """The next `limit` events above `after_seq` (unacknowledged ones, or all with
        `acked_too`), lowest seq first, as the relay publishes them: (seq, event_id, the
        envelope as compact JSON bytes). SQLite's json() minifies the stored text: the
        same bytes as a parse and a compact re-encode, without either per event."""
        unacked = "" if acked_too else "acked_at IS NULL AND "
        rows = self._all(
            f"SELECT seq, event_id, json(envelope) FROM outbox WHERE {unacked}seq > ?"
            " ORDER BY seq LIMIT ?",
            (after_seq, limit),
        )
        return [(int(r[0]), str(r[1]), str(r[2]).encode("utf-8")) for r in rows]

    def outbox(self, *, pending_only: bool = True, limit: int = 1000) -> list[dict[str, Any]]:
        """The envelopes themselves (pending, or all), lowest seq first."""
        events_ = self.outbox_pending(limit) if pending_only else self.outbox_since(1, limit)
        return [e.envelope for e in events_]

    def outbox_depth(self) -> int:
        return int(self._all("SELECT COUNT(*) FROM outbox WHERE acked_at IS NULL")[0][0])

    def oldest_unsent_age(self) -> float | None:
        """Seconds since the oldest unacknowledged event occurred; None when none waits."""
        rows = self._all(
            "SELECT occurred_at FROM outbox WHERE acked_at IS NULL ORDER BY seq LIMIT 1"
        )
        if not rows:
            return None
        occurred = datetime.fromisoformat(str(rows[0][0]).replace("Z", "+00:00"))
        return max(0.0, (datetime.now(UTC) - occurred).total_seconds())

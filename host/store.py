"""The host's store (SQLite, WAL): every event once (unique `event_id`), the highest
contiguous `seq` per terminal, the fleet's retained status and telemetry, and the replies
to commands."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from posterm.protocol.mqtt.events import now_rfc3339

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY,
    terminal TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    received_at TEXT NOT NULL,
    envelope TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_terminal_seq ON events (terminal, seq);
CREATE TABLE IF NOT EXISTS terminals (
    terminal TEXT PRIMARY KEY,
    contiguous_seq INTEGER NOT NULL DEFAULT 0,
    online INTEGER,
    session INTEGER,
    status TEXT,
    telemetry TEXT,
    last_seen TEXT
);
CREATE TABLE IF NOT EXISTS replies (
    cmd_id TEXT PRIMARY KEY,
    terminal TEXT NOT NULL,
    reply TEXT NOT NULL,
    received_at TEXT NOT NULL
);
"""


class StoreError(Exception):
    """The host's store failed."""


@dataclass(frozen=True)
class Ingested:
    """One committed batch: the new event ids per terminal (to ack), and the ids that were
    already there (acked again: the terminal may have missed the first ack)."""

    new: dict[str, list[str]]
    known: dict[str, list[str]]

    def to_ack(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for part in (self.new, self.known):
            for tid, ids in part.items():
                out.setdefault(tid, []).extend(ids)
        return out


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"{path}: {exc}") from exc
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                yield self._db
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise StoreError(f"store: {exc}") from exc

    def _all(self, sql: str, args: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._db.execute(sql, tuple(args)).fetchall())

    # -- ingest ---------------------------------------------------------------------------
    def ingest(self, envelopes: list[dict[str, Any]]) -> Ingested:
        """Store a batch in one transaction; an event_id seen before is not stored again.
        Acks go out only after this returns (the commit)."""
        new: dict[str, list[str]] = {}
        known: dict[str, list[str]] = {}
        now = now_rfc3339()
        with self._tx() as db:
            for env in envelopes:
                cur = db.execute(
                    "INSERT OR IGNORE INTO events (event_id, terminal, seq, type, occurred_at,"
                    " received_at, envelope) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (env["event_id"], env["terminal"], env["seq"], env["type"],
                     env["occurred_at"], now, json.dumps(env)),
                )  # fmt: skip
                target = new if cur.rowcount else known
                target.setdefault(env["terminal"], []).append(env["event_id"])
            for tid in new:
                self._advance(db, tid)
        return Ingested(new, known)

    def _advance(self, db: sqlite3.Connection, tid: str) -> None:
        db.execute("INSERT OR IGNORE INTO terminals (terminal) VALUES (?)", (tid,))
        (seq,) = db.execute("SELECT contiguous_seq FROM terminals WHERE terminal = ?",
                            (tid,)).fetchone()  # fmt: skip
        while db.execute("SELECT 1 FROM events WHERE terminal = ? AND seq = ?",
                         (tid, seq + 1)).fetchone():  # fmt: skip
            seq += 1
        db.execute("UPDATE terminals SET contiguous_seq = ? WHERE terminal = ?", (seq, tid))

    def gap(self, tid: str) -> int | None:
        """The first missing seq of a terminal, if a later one has arrived."""
        rows = self._all("SELECT t.contiguous_seq, MAX(e.seq) FROM terminals t JOIN events e"
                         " ON e.terminal = t.terminal WHERE t.terminal = ?", (tid,))  # fmt: skip
        if not rows or rows[0][1] is None:
            return None
        contiguous, highest = int(rows[0][0]), int(rows[0][1])
        return contiguous + 1 if highest > contiguous else None

    # -- the fleet --------------------------------------------------------------------------
    def saw_status(self, tid: str, status: dict[str, Any]) -> bool:
        """A retained birth or will; False when it is older than what is known (a late
        will of an old session never marks a newer one offline)."""
        session = status.get("session")
        if not isinstance(session, int):
            return False
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO terminals (terminal) VALUES (?)", (tid,))
            row = db.execute("SELECT session, online FROM terminals WHERE terminal = ?",
                             (tid,)).fetchone()  # fmt: skip
            known = row["session"]
            if known is not None and (session < known or (session == known and row["online"]
                                                          == 0)):  # fmt: skip
                return False
            online = 1 if status.get("online") else 0
            db.execute("UPDATE terminals SET online = ?, session = ?, status = ?, last_seen = ?"
                       " WHERE terminal = ?",
                       (online, session, json.dumps(status), now_rfc3339(), tid))  # fmt: skip
        return True

    def saw_telemetry(self, tid: str, telemetry: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO terminals (terminal) VALUES (?)", (tid,))
            db.execute("UPDATE terminals SET telemetry = ?, last_seen = ? WHERE terminal = ?",
                       (json.dumps(telemetry), now_rfc3339(), tid))  # fmt: skip

    def saw_reply(self, tid: str, reply: dict[str, Any]) -> None:
        cmd_id = reply.get("cmd_id")
        if not isinstance(cmd_id, str):
            return
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO replies (cmd_id, terminal, reply, received_at)"
                       " VALUES (?, ?, ?, ?)",
                       (cmd_id, tid, json.dumps(reply), now_rfc3339()))  # fmt: skip

    def reply(self, cmd_id: str) -> dict[str, Any] | None:
        rows = self._all("SELECT reply FROM replies WHERE cmd_id = ?", (cmd_id,))
        return json.loads(rows[0][0]) if rows else None

    def fleet(self) -> list[dict[str, Any]]:
        out = []
        for row in self._all("SELECT * FROM terminals ORDER BY terminal"):
            tele = json.loads(row["telemetry"]) if row["telemetry"] else {}
            out.append({
                "terminal": row["terminal"], "online": bool(row["online"]),
                "session": row["session"], "last_seen": row["last_seen"],
                "contiguous_seq": row["contiguous_seq"], "gap_at": self.gap(row["terminal"]),
                "mode": tele.get("mode"), "printer": tele.get("printer"),
                "outbox_depth": tele.get("outbox_depth"),
                "pending_receipts": tele.get("pending_receipts"),
                "in_doubt": tele.get("in_doubt"), "version": tele.get("version"),
            })  # fmt: skip
        return out

    def events(
        self,
        *,
        terminal: str | None = None,
        type_: str | None = None,
        types: Sequence[str] = (),
        kind: str | None = None,
        txn_id: str | None = None,
        customer_copy: bool = False,
        since: str | None = None,
        newest_first: bool = False,
        limit: int | None = 1000,
    ) -> list[dict[str, Any]]:
        """Stored envelopes, by terminal then seq (or newest first): of one `type_`, of any
        of `types`, of one `kind` (`refund` matches refund.*), about one `txn_id`, of the
        customer copy (receipt events), since a time."""
        where, args = ["1 = 1"], []
        for clause, value in (("terminal = ?", terminal), ("type = ?", type_),
                              ("type LIKE ? || '.%'", kind),
                              ("json_extract(envelope, '$.data.txn_id') = ?", txn_id),
                              ("occurred_at >= ?", since)):  # fmt: skip
            if value is not None:
                where.append(clause)
                args.append(value)
        if types:
            where.append(f"type IN ({', '.join('?' for _ in types)})")
            args.extend(types)
        if customer_copy:
            where.append("json_extract(envelope, '$.data.copy') = 'customer'")
        order = "received_at DESC, seq DESC" if newest_first else "terminal, seq"
        sql = f"SELECT envelope FROM events WHERE {' AND '.join(where)} ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [json.loads(r[0]) for r in self._all(sql, args)]

    def knows_terminal(self, tid: str) -> bool:
        sql = ("SELECT 1 FROM terminals WHERE terminal = ? UNION"
               " SELECT 1 FROM events WHERE terminal = ? LIMIT 1")  # fmt: skip
        return bool(self._all(sql, (tid, tid)))

    def refund(self, txn_id: str) -> tuple[str, dict[str, Any]] | None:
        """(terminal, latest data) of a refund the terminals told about."""
        found = self.events(kind="refund", txn_id=txn_id, newest_first=True, limit=1)
        if not found:
            return None
        return str(found[0]["terminal"]), found[0]["data"]

"""The host's store (SQLite or PostgreSQL, `host/db.py`): every event once (unique
`event_id`), the highest contiguous `seq` per terminal (in the database, so several host
processes on one PostgreSQL share it), the fleet's retained status and telemetry, and
the replies to commands."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from posterm.host import history, migrations
from posterm.host.db import Database, DatabaseError, Row, Tx, connect
from posterm.protocol.mqtt.events import now_rfc3339


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
    def __init__(self, url: str) -> None:
        """`sqlite:///ABSOLUTE/PATH` or `postgresql://…`; the schema is brought up to date."""
        try:
            self.db: Database = connect(url)
        except DatabaseError as exc:
            raise StoreError(str(exc)) from exc
        self.where = self.db.where
        try:
            migrations.migrate(self.db)
        except DatabaseError as exc:
            self.db.close()
            raise StoreError(str(exc)) from exc

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def _tx(self) -> Iterator[Tx]:
        try:
            with self.db.tx() as tx:
                yield tx
        except DatabaseError as exc:
            raise StoreError(str(exc)) from exc

    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        try:
            return self.db.rows(sql, args)
        except DatabaseError as exc:
            raise StoreError(str(exc)) from exc

    # -- ingest ---------------------------------------------------------------------------
    def ingest(self, envelopes: list[dict[str, Any]]) -> Ingested:
        """Store a batch in one transaction; an event_id seen before is not stored again.
        Acks go out only after this returns (the commit)."""
        new: dict[str, list[str]] = {}
        known: dict[str, list[str]] = {}
        now = now_rfc3339()
        with self._tx() as db:
            # in event_id order: two processes storing the same events lock them in one order
            for env in sorted(envelopes, key=lambda e: str(e["event_id"])):
                data = env["data"]
                txn_id, copy = data.get("txn_id"), data.get("copy")
                count = db.execute(
                    "INSERT INTO events (event_id, terminal, seq, type, occurred_at, received_at,"
                    " envelope, txn_id, copy) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (event_id) DO NOTHING",
                    (env["event_id"], env["terminal"], env["seq"], env["type"],
                     env["occurred_at"], now, json.dumps(env),
                     txn_id if isinstance(txn_id, str) else None,
                     copy if isinstance(copy, str) else None),
                )  # fmt: skip
                target = new if count else known
                target.setdefault(env["terminal"], []).append(env["event_id"])
            for tid in sorted(new):  # one lock order for every process: no deadlock
                self._advance(db, tid)
        return Ingested(new, known)

    def _advance(self, db: Tx, tid: str) -> None:
        """Move the terminal's contiguous seq over what is stored, its row locked (another
        host process advancing the same terminal waits, then sees this commit)."""
        _known_terminal(db, tid)
        lock = " FOR UPDATE" if self.db.dialect == "postgresql" else ""
        seq = int(db.rows(f"SELECT contiguous_seq FROM terminals WHERE terminal = ?{lock}",
                          (tid,))[0]["contiguous_seq"])  # fmt: skip
        while True:
            window = db.rows("SELECT DISTINCT seq FROM events WHERE terminal = ? AND seq > ?"
                             " AND seq <= ? ORDER BY seq", (tid, seq, seq + 500))  # fmt: skip
            moved = 0
            for row in window:
                if int(row["seq"]) != seq + 1:
                    break
                seq += 1
                moved += 1
            if moved < 500:
                break
        db.execute("UPDATE terminals SET contiguous_seq = ? WHERE terminal = ?", (seq, tid))

    def gap(self, tid: str) -> int | None:
        """The first missing seq of a terminal, if a later one has arrived."""
        rows = self._all("SELECT t.contiguous_seq AS c, MAX(e.seq) AS h FROM terminals t JOIN"
                         " events e ON e.terminal = t.terminal WHERE t.terminal = ?"
                         " GROUP BY t.contiguous_seq", (tid,))  # fmt: skip
        if not rows or rows[0]["h"] is None:
            return None
        contiguous, highest = int(rows[0]["c"]), int(rows[0]["h"])
        return contiguous + 1 if highest > contiguous else None

    # -- the fleet --------------------------------------------------------------------------
    def saw_status(self, tid: str, status: dict[str, Any]) -> bool:
        """A retained birth or will; False when it is older than what is known (a late
        will of an old session never marks a newer one offline)."""
        session = status.get("session")
        if not isinstance(session, int):
            return False
        lock = " FOR UPDATE" if self.db.dialect == "postgresql" else ""
        with self._tx() as db:
            _known_terminal(db, tid)
            row = db.rows(f"SELECT session, online FROM terminals WHERE terminal = ?{lock}",
                          (tid,))[0]  # fmt: skip
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
        now = now_rfc3339()
        with self._tx() as db:
            _known_terminal(db, tid)
            db.execute("UPDATE terminals SET telemetry = ?, telemetry_at = ?, last_seen = ?"
                       " WHERE terminal = ?", (json.dumps(telemetry), now, now, tid))  # fmt: skip
            history.record(db, tid, telemetry, now)

    def saw_reply(self, tid: str, reply: dict[str, Any]) -> None:
        cmd_id = reply.get("cmd_id")
        if not isinstance(cmd_id, str):
            return
        with self._tx() as db:
            db.execute("INSERT INTO replies (cmd_id, terminal, reply, received_at)"
                       " VALUES (?, ?, ?, ?) ON CONFLICT (cmd_id) DO NOTHING",
                       (cmd_id, tid, json.dumps(reply), now_rfc3339()))  # fmt: skip

    def reply(self, cmd_id: str) -> dict[str, Any] | None:
        rows = self._all("SELECT reply FROM replies WHERE cmd_id = ?", (cmd_id,))
        return json.loads(rows[0]["reply"]) if rows else None

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
                              ("txn_id = ?", txn_id),
                              ("occurred_at >= ?", since)):  # fmt: skip
            if value is not None:
                where.append(clause)
                args.append(value)
        if types:
            where.append(f"type IN ({', '.join('?' for _ in types)})")
            args.extend(types)
        if customer_copy:
            where.append("copy = 'customer'")
        order = "received_at DESC, seq DESC" if newest_first else "terminal, seq"
        sql = f"SELECT envelope FROM events WHERE {' AND '.join(where)} ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [json.loads(r["envelope"]) for r in self._all(sql, args)]

    def telemetry_history(self, tid: str, since: str) -> list[dict[str, Any]]:
        """The terminal's telemetry rows (`host/history.py`) since a time, oldest first."""
        return self._all(f"SELECT at, {', '.join(history.COLUMNS)} FROM telemetry_history"
                         " WHERE terminal = ? AND at >= ? ORDER BY at", (tid, since))  # fmt: skip

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


def _known_terminal(db: Tx, tid: str) -> None:
    db.execute("INSERT INTO terminals (terminal) VALUES (?) ON CONFLICT (terminal) DO NOTHING",
               (tid,))  # fmt: skip


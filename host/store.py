"""The host's store (SQLite or PostgreSQL, `host/db.py`): every event once (unique
`event_id`), the highest contiguous `seq` per terminal (in the database, so several host
processes on one PostgreSQL share it), the fleet's retained status and telemetry, and
the replies to commands."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from posterm.host import fleet as fleet_state
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
    def ingest(
        self,
        envelopes: list[dict[str, Any]],
        on_new: Callable[[Tx, list[dict[str, Any]]], None] | None = None,
        at: str | None = None,
    ) -> Ingested:
        """Store a batch in one transaction; an event_id seen before is not stored again.
        Acks go out only after this returns (the commit). `on_new(tx, envelopes)` writes
        what follows from the newly stored events in the same transaction (alerts, webhook
        deliveries); `at` is the host's receiving time (now)."""
        new: dict[str, list[str]] = {}
        known: dict[str, list[str]] = {}
        fresh: list[dict[str, Any]] = []
        now = at or now_rfc3339()
        with self._tx() as db:
            # in event_id order: two processes storing the same events lock them in one order
            for env in sorted(envelopes, key=lambda e: str(e["event_id"])):
                data = env["data"]
                txn_id, copy, pan = data.get("txn_id"), data.get("copy"), data.get("masked_pan")
                count = db.execute(
                    "INSERT INTO events (event_id, terminal, seq, type, occurred_at, received_at,"
                    " envelope, txn_id, copy, masked_pan)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING",
                    (env["event_id"], env["terminal"], env["seq"], env["type"],
                     env["occurred_at"], now, json.dumps(env),
                     *(v if isinstance(v, str) else None for v in (txn_id, copy, pan))),
                )  # fmt: skip
                target = new if count else known
                target.setdefault(env["terminal"], []).append(env["event_id"])
                if count:
                    fresh.append(env)
            for tid in sorted(new):  # one lock order for every process: no deadlock
                self._advance(db, tid)
            if on_new is not None and fresh:
                on_new(db, sorted(fresh, key=lambda e: (str(e["terminal"]), int(e["seq"]))))
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
    def saw_status(self, tid: str, status: dict[str, Any], at: str | None = None) -> bool:
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
            now = at or now_rfc3339()
            changed = now if row["online"] != online else None  # since when on or offline
            db.execute("UPDATE terminals SET online = ?, session = ?, status = ?, last_seen = ?,"
                       " status_at = COALESCE(?, status_at, ?) WHERE terminal = ?",
                       (online, session, json.dumps(status), now, changed, now, tid))  # fmt: skip
        return True

    def saw_telemetry(self, tid: str, telemetry: dict[str, Any], at: str | None = None) -> None:
        now = at or now_rfc3339()
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

    def fleet(self, now: str | None = None, stale_after_s: float = 180.0) -> list[dict[str, Any]]:
        """Every terminal's state (`host/fleet.py`) as of `now`."""
        gaps = {r["terminal"]: r["since"] for r in self._all(  # a later seq is in: since when
            "SELECT t.terminal AS terminal, MIN(e.received_at) AS since FROM terminals t"
            " JOIN events e ON e.terminal = t.terminal AND e.seq > t.contiguous_seq"
            " GROUP BY t.terminal")}  # fmt: skip
        at = now or now_rfc3339()
        return [
            fleet_state.describe(row, gaps.get(row["terminal"]), row["last_sale_at"], at,
                                 stale_after_s)
            for row in self._all(  # the last sale: one index lookup per terminal
                "SELECT t.*, (SELECT MAX(e.occurred_at) FROM events e WHERE e.terminal ="
                " t.terminal AND e.type = 'sale.approved') AS last_sale_at FROM terminals t"
                " ORDER BY t.terminal")
        ]  # fmt: skip

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


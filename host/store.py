"""The host's store (SQLite or PostgreSQL, `host/db.py`): every event once (unique
`event_id`), the highest contiguous `seq` per terminal (in the database, so several host
processes on one PostgreSQL share it), the fleet's retained status and telemetry, and
the replies to commands. Its reads: `host/store_reads.py`."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from posterm.host import lives, migrations, sql_values, store_seqs
from posterm.host import telemetry as telemetry_rows
from posterm.host.alerts.rules import minor
from posterm.host.db import Database, DatabaseError, Row, Tx, connect
from posterm.host.store_error import StoreError
from posterm.host.store_reads import StoreReads
from posterm.host.telemetry import Seen
from posterm.protocol.mqtt.events import now_rfc3339

__all__ = ["EVENT_COLUMNS", "INSERT_ROWS", "Ingested", "Store", "StoreError"]

log = logging.getLogger("posterm.host")


GAP_CHUNK = 5000  # terminals per SQLite gap query (under its 32766 variables)
INSERT_ROWS = 80  # rows per SQLite INSERT statement (12 values each: under its old 999)
EVENT_COLUMNS = (
    "event_id",
    "terminal",
    "seq",
    "type",
    "occurred_at",
    "received_at",
    "envelope",
    "txn_id",
    "copy",
    "masked_pan",
    "amount_minor",
    "life",
)
_EVENT_ROW = f"({', '.join('?' for _ in EVENT_COLUMNS)})"  # one row's placeholders


@dataclass(frozen=True)
class Ingested:
    """One committed batch: the new event ids per terminal (to ack), and the ids that were
    already there (acked again: the terminal may have missed the first ack)."""

    new: dict[str, list[str]]
    known: dict[str, list[str]]
    gaps: dict[str, int] = field(default_factory=dict)  # first missing seq, of `new`'s terminals

    def to_ack(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for part in (self.new, self.known):
            for tid, ids in part.items():
                out.setdefault(tid, []).extend(ids)
        return out


class Store(StoreReads):
    def __init__(self, url: str) -> None:
        """`sqlite:///ABSOLUTE/PATH` or `postgresql://…`; the schema is brought up to date."""
        try:
            self.db: Database = connect(url)
        except DatabaseError as exc:
            raise StoreError(str(exc)) from exc
        self.where = self.db.where
        self._local = threading.local()  # the transaction of batch(), per thread
        try:
            migrations.migrate(self.db)
        except DatabaseError as exc:
            self.db.close()
            raise StoreError(str(exc)) from exc

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def batch(
        self, terminals: Sequence[str] = (), *, skip_locked: bool = False
    ) -> Iterator[frozenset[str]]:
        """Everything this thread asks of the store inside the block runs in one
        transaction: one commit (one fsync) for a batch of events, statuses, telemetry and
        replies; all of it or none. `terminals`: every terminal the block touches, whose
        rows are created and locked first, in terminal order, so two host processes never
        wait on each other in a circle (a status here, events there).

        Yields the terminals locked for the block: all of them, but with `skip_locked`
        (PostgreSQL) only those no other transaction holds now (`FOR UPDATE SKIP
        LOCKED`): the caller leaves the others' messages for a later batch instead of
        waiting for another host process's commit (issue 23)."""
        with self._tx() as tx:
            self._local.tx = tx
            self._local.telemetry = []  # saw_telemetry's messages, written at the end
            try:
                # PostgreSQL: the terminals this transaction created and locked, with their
                # contiguous seq and life as they stand in it (kept so by ingest; a status
                # drops its terminal's): ingest neither locks nor reads them again
                self._local.held = None
                if terminals and self.db.dialect == "postgresql":
                    self._local.held = store_seqs.lock(
                        tx, sorted(set(terminals)), skip_locked=skip_locked
                    )
                yield frozenset(terminals if self._local.held is None else self._local.held)
                telemetry_rows.write(
                    tx, self.db.dialect, self._local.telemetry, frozenset(terminals)
                )
            finally:
                self._local.tx = None
                self._local.telemetry = None
                self._local.held = None

    def transaction(self) -> AbstractContextManager[Tx]:
        """The transaction of batch() when inside one, else a transaction of its own."""
        return self._tx()

    @contextmanager
    def _tx(self) -> Iterator[Tx]:
        open_tx = getattr(self._local, "tx", None)
        if open_tx is not None:  # inside batch(): its transaction
            yield open_tx
            return
        try:
            with self.db.tx() as tx:
                yield tx
        except DatabaseError as exc:
            raise StoreError(str(exc), transient=exc.transient) from exc

    # -- ingest ---------------------------------------------------------------------------
    def ingest(
        self,
        envelopes: list[dict[str, Any]],
        texts: dict[str, str] | None = None,
        on_new: Callable[[Tx, list[dict[str, Any]]], None] | None = None,
        at: str | None = None,
    ) -> Ingested:
        """Store a batch in one transaction; an event_id seen before is not stored again.
        Acks go out only after this returns (the commit). `texts`: the envelopes' JSON as
        received, by event_id (stored as it is instead of dumping the dict again).
        `on_new(tx, envelopes)` writes what follows from the newly stored events in the
        same transaction (alerts, webhook deliveries, notifications); `at`: now.

        A few statements whatever the batch's size: the rows through `INSERT … ON CONFLICT
        DO NOTHING RETURNING event_id` (what comes back is what is new), then the
        terminals' contiguous seq, their rows locked in terminal order. On PostgreSQL each
        statement takes its values as arrays (`unnest`): a handful of parameters, one
        prepared statement, where thousands of placeholders cost psycopg more to parse
        than the server to run."""
        new: dict[str, list[str]] = {}
        known: dict[str, list[str]] = {}
        now = at or now_rfc3339()
        texts = texts or {}
        # once per id, in event_id order: two processes storing the same events lock them
        # in one order
        unique = sorted({str(e["event_id"]): e for e in reversed(envelopes)}.items())
        rows = [
            (
                event_id,
                env["terminal"],
                env["seq"],
                env["type"],
                env["occurred_at"],
                now,
                texts.get(event_id) or json.dumps(env),
                _text(env["data"].get("txn_id")),
                _text(env["data"].get("copy")),
                _text(env["data"].get("masked_pan")),
                minor(env["data"]) if "amount" in env["data"] else None,
            )
            for event_id, env in unique
        ]
        with self._tx() as db:
            tids = sorted({str(row[1]) for row in rows})
            locked: store_seqs.Held | None = getattr(self._local, "held", None)
            if locked is not None and locked.keys() >= set(tids):  # batch() read them
                held = {tid: locked[tid] for tid in tids}
            else:
                held = store_seqs.held(db, self.db.dialect, tids)
            rows_life = [(*row, held[str(row[1])][1]) for row in rows]  # the terminal's life
            stored: set[str] = set()
            if self.db.dialect == "postgresql":  # COPY into a scratch table, then one INSERT
                db.once(  # once per connection: emptied by each commit
                    "CREATE TEMP TABLE IF NOT EXISTS incoming_events (LIKE events)"
                    " ON COMMIT DELETE ROWS"
                )
                db.copy_rows("incoming_events", EVENT_COLUMNS, rows_life)
                stored.update(
                    r["event_id"]
                    for r in db.rows(
                        f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) SELECT"
                        f" {', '.join(EVENT_COLUMNS)} FROM incoming_events ORDER BY event_id"
                        " ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
                    )
                )
            for part in sql_values.pieces(
                len(rows) if self.db.dialect == "sqlite" else 0, INSERT_ROWS
            ):
                chunk = rows_life[part]  # a few sizes of statement, each prepared once
                stored.update(
                    r["event_id"]
                    for r in db.rows(
                        f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES"
                        f" {', '.join([_EVENT_ROW] * len(chunk))}"
                        " ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
                        [v for row in chunk for v in row],
                    )
                )
            seqs: dict[str, list[int]] = {}  # of the new events, per terminal
            for event_id, env in unique:
                target = new if event_id in stored else known
                target.setdefault(env["terminal"], []).append(event_id)
                if event_id in stored:
                    seqs.setdefault(env["terminal"], []).append(int(env["seq"]))
            gaps, moved = store_seqs.advance(db, self.db.dialect, seqs, held)
            if locked is not None:  # as they now stand in this transaction
                locked.update(held)
                locked.update((tid, (seq, held[tid][1])) for tid, seq in moved.items())
            fresh = [env for event_id, env in unique if event_id in stored]
            self._terminals_moved(db, moved, fresh)
            if on_new is not None and fresh:
                on_new(db, sorted(fresh, key=lambda e: (str(e["terminal"]), int(e["seq"]))))
        return Ingested(new, known, gaps)

    def _terminals_moved(self, db: Tx, seqs: dict[str, int], fresh: list[dict[str, Any]]) -> None:
        """The batch's terminals' rows moved on: their contiguous seq (`seqs`, from
        `store_seqs.advance`) and `last_sale_at` (the latest occurred_at of their approved
        sales), moved by the batch's new `sale.approved` events. On PostgreSQL one
        statement, one new version of each row (issue 23: a round trip less a batch)."""
        last: dict[str, str] = {}
        for env in fresh:
            if env["type"] == "sale.approved":
                tid, at = str(env["terminal"]), str(env["occurred_at"])
                last[tid] = max(at, last.get(tid, at))
        later = "(terminals.last_sale_at IS NULL OR terminals.last_sale_at < m.at)"
        if self.db.dialect == "postgresql" and (seqs or last):
            tids = sorted(seqs.keys() | last.keys())
            db.execute(
                "UPDATE terminals SET contiguous_seq = COALESCE(m.seq, terminals.contiguous_seq),"
                f" last_sale_at = CASE WHEN {later} THEN m.at ELSE terminals.last_sale_at END"
                " FROM unnest(?::text[], ?::bigint[], ?::text[]) AS m(terminal, seq, at)"
                f" WHERE terminals.terminal = m.terminal AND (m.seq IS NOT NULL OR {later})",
                [tids, [seqs.get(t) for t in tids], [last.get(t) for t in tids]],
            )
        elif self.db.dialect == "sqlite":
            db.execute_many(
                "UPDATE terminals SET contiguous_seq = ? WHERE terminal = ?",
                [(seq, tid) for tid, seq in sorted(seqs.items())],
            )
            db.execute_many(
                "UPDATE terminals SET last_sale_at = ? WHERE terminal = ?"
                " AND (last_sale_at IS NULL OR last_sale_at < ?)",
                [(at, tid, at) for tid, at in sorted(last.items())],
            )

    def gap(self, tid: str) -> int | None:
        """The first missing seq of a terminal, if a later one has arrived."""
        return self.gaps([tid]).get(tid)

    def gaps(self, tids: Sequence[str]) -> dict[str, int]:
        """The first missing seq of each of these terminals that has a later one stored in
        its life: one query (per GAP_CHUNK terminals on SQLite), each terminal an index
        range ((terminal, seq) > its contiguous seq)."""
        wanted = sorted(set(tids))
        later = (
            "EXISTS (SELECT 1 FROM events e WHERE e.terminal = t.terminal AND e.life = t.life"
            " AND e.seq > t.contiguous_seq)"
        )
        rows: list[Row] = []
        if self.db.dialect == "postgresql" and wanted:
            rows = self._all(
                "SELECT t.terminal AS terminal, t.contiguous_seq AS c FROM terminals t"
                f" WHERE t.terminal IN (SELECT unnest(?::text[])) AND {later}",
                [wanted],
            )
        for i in range(0, len(wanted) if self.db.dialect == "sqlite" else 0, GAP_CHUNK):
            chunk = wanted[i : i + GAP_CHUNK]
            rows += self._all(
                "SELECT t.terminal AS terminal, t.contiguous_seq AS c FROM terminals t"
                f" WHERE t.terminal IN ({', '.join('?' for _ in chunk)}) AND {later}",
                chunk,
            )
        return {str(r["terminal"]): int(r["c"]) + 1 for r in rows}

    # -- the fleet --------------------------------------------------------------------------
    def saw_status(self, tid: str, status: dict[str, Any], at: str | None = None) -> bool:
        """A retained birth or will; False when it is older than what is known (a late
        will of an old session never marks a newer one offline)."""
        session = status.get("session")
        if not isinstance(session, int) or isinstance(session, bool) or not 0 <= session < 2**63:
            return False
        lock = " FOR UPDATE" if self.db.dialect == "postgresql" else ""
        locked: store_seqs.Held | None = getattr(self._local, "held", None)
        if locked is not None:  # a new life may move it: ingest reads it again
            locked.pop(tid, None)
        with self._tx() as db:
            _known_terminal(db, tid)
            row = db.rows(
                f"SELECT session, online, journal_id, life FROM terminals WHERE terminal = ?{lock}",
                (tid,),
            )[0]
            now = at or now_rfc3339()
            life = lives.follow(db, tid, status, row, now)  # a re-flashed terminal: a new life
            if life == "old":
                return False
            known = None if life == "new" else row["session"]
            if known is not None and (session < known or (session == known and row["online"] == 0)):
                return False
            online = 1 if status.get("online") else 0
            changed = now if row["online"] != online else None  # since when on or offline
            db.execute(
                "UPDATE terminals SET online = ?, session = ?, status = ?, last_seen = ?,"
                " status_at = COALESCE(?, status_at, ?) WHERE terminal = ?",
                (online, session, json.dumps(status), now, changed, now, tid),
            )
        return True

    def saw_telemetry(self, tid: str, telemetry: dict[str, Any], at: str | None = None) -> None:
        """A terminal's telemetry: its latest (mode and printer state with since when) and
        a history row. Inside batch(), kept and written with the batch's other telemetry
        in a few statements at its end (`host/telemetry.py`), in its one commit."""
        seen = Seen(tid, telemetry, at or now_rfc3339())
        staged = getattr(self._local, "telemetry", None)
        if staged is not None:
            staged.append(seen)
            return
        with self._tx() as db:
            telemetry_rows.write(db, self.db.dialect, [seen])

    def sent_command(self, cmd_id: str, tid: str, name: str) -> None:
        """Keep the terminal a command goes to, before it is published: only that
        terminal's reply to it counts (`saw_reply`)."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO commands (cmd_id, terminal, name, sent_at) VALUES"
                " (?, ?, ?, ?) ON CONFLICT (cmd_id) DO NOTHING",
                (cmd_id, tid, name, now_rfc3339()),
            )

    def saw_reply(self, tid: str, reply: dict[str, Any]) -> bool:
        """Store a terminal's reply to a command the host sent to that terminal; a reply
        to a command sent to another terminal, or to one the host never sent, is not
        stored (logged); False then."""
        cmd_id = reply.get("cmd_id")
        if not isinstance(cmd_id, str) or "\x00" in cmd_id:
            return False
        with self._tx() as db:
            sent = db.rows("SELECT terminal FROM commands WHERE cmd_id = ?", (cmd_id,))
            if not sent:
                log.info(
                    "host: %s: a reply to command %r, which the host did not send: ignored",
                    tid,
                    cmd_id[:64],
                )
                return False
            if sent[0]["terminal"] != tid:
                log.warning(
                    "host: %s replied to command %s, which went to %s: ignored",
                    tid,
                    cmd_id,
                    sent[0]["terminal"],
                )
                return False
            db.execute(
                "INSERT INTO replies (cmd_id, terminal, reply, received_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (cmd_id) DO NOTHING",
                (cmd_id, tid, json.dumps(reply), now_rfc3339()),
            )
        return True


def _text(value: Any) -> str | None:
    """A string column taken out of the envelope; None if it is no string or one that
    PostgreSQL cannot store (NUL)."""
    return value if isinstance(value, str) and "\x00" not in value else None


def _known_terminal(db: Tx, tid: str) -> None:
    db.execute(
        "INSERT INTO terminals (terminal) VALUES (?) ON CONFLICT (terminal) DO NOTHING", (tid,)
    )

"""The host's store (SQLite or PostgreSQL, `host/db.py`): every event once (unique
`event_id`), the highest contiguous `seq` per terminal (in the database, so several host
processes on one PostgreSQL share it), the fleet's retained status and telemetry, and
the replies to commands."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from posterm.host import fleet as fleet_state
from posterm.host import history, lives, migrations
from posterm.host import telemetry as telemetry_rows
from posterm.host.alerts.rules import IN_DOUBT, RESOLVES, minor
from posterm.host.db import Database, DatabaseError, Row, Tx, connect
from posterm.host.telemetry import Seen
from posterm.protocol.mqtt.events import now_rfc3339

_IN_DOUBT = ", ".join(f"'{t}'" for t in IN_DOUBT)  # the fleet's unresolved operations
_RESOLVES = ", ".join(f"'{t}'" for t in RESOLVES)

log = logging.getLogger("posterm.host")


class StoreError(Exception):
    """The host's store failed; `transient`: it could not reach its database (or found it
    busy), so the same work may succeed later."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


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


class Store:
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
                locked = frozenset(terminals)
                if terminals and self.db.dialect == "postgresql":
                    tids = sorted(set(terminals))
                    known = {  # a plain read: never waits for another's lock
                        r["terminal"]
                        for r in tx.rows(
                            "SELECT terminal FROM terminals WHERE terminal = ANY(?)", [tids]
                        )
                    }
                    if len(known) < len(tids):
                        tx.execute(
                            "INSERT INTO terminals (terminal) SELECT unnest(?::text[])"
                            " ON CONFLICT (terminal) DO NOTHING",
                            [[t for t in tids if t not in known]],
                        )
                    skip = " SKIP LOCKED" if skip_locked else ""
                    locked = frozenset(
                        r["terminal"]
                        for r in tx.rows(
                            "SELECT terminal FROM terminals WHERE terminal = ANY(?)"
                            f" ORDER BY terminal FOR UPDATE{skip}",
                            [tids],
                        )
                    )
                yield locked
                telemetry_rows.write(
                    tx, self.db.dialect, self._local.telemetry, frozenset(terminals)
                )
            finally:
                self._local.tx = None
                self._local.telemetry = None

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

    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        open_tx = getattr(self._local, "tx", None)
        try:
            return open_tx.rows(sql, args) if open_tx is not None else self.db.rows(sql, args)
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
            life = lives.current(db, sorted({str(row[1]) for row in rows}))
            rows_life = [(*row, life[str(row[1])]) for row in rows]  # the terminal's life
            stored: set[str] = set()
            if self.db.dialect == "postgresql":  # COPY into a scratch table, then one INSERT
                db.execute(
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
            for i in range(0, len(rows) if self.db.dialect == "sqlite" else 0, INSERT_ROWS):
                chunk = rows_life[i : i + INSERT_ROWS]
                values = ", ".join([f"({', '.join('?' for _ in EVENT_COLUMNS)})"] * len(chunk))
                stored.update(
                    r["event_id"]
                    for r in db.rows(
                        f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES {values}"
                        " ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
                        [v for row in chunk for v in row],
                    )
                )
            for event_id, env in unique:
                target = new if event_id in stored else known
                target.setdefault(env["terminal"], []).append(event_id)
            gaps = self._advance(db, sorted(new))
            fresh = [env for event_id, env in unique if event_id in stored]
            self._last_sales(db, fresh)
            if on_new is not None and fresh:
                on_new(db, sorted(fresh, key=lambda e: (str(e["terminal"]), int(e["seq"]))))
        return Ingested(new, known, gaps)

    def _advance(self, db: Tx, tids: list[str]) -> dict[str, int]:
        """Move the terminals' contiguous seq over what is stored, their rows locked in
        terminal order (another host process advancing one of them waits, then sees this
        commit); the first missing seq of those with a later one stored.

        The events after each terminal's contiguous seq are read as one index range per
        terminal ((terminal, seq) > (tid, its seq)): a join on the terminals table lets
        PostgreSQL scan the whole events table instead."""
        if not tids:
            return {}
        if self.db.dialect == "postgresql":
            db.execute(
                "INSERT INTO terminals (terminal) SELECT unnest(?::text[])"
                " ON CONFLICT (terminal) DO NOTHING",
                [tids],
            )
            found = db.rows(
                "SELECT terminal, contiguous_seq, life FROM terminals WHERE"
                " terminal = ANY(?) ORDER BY terminal FOR UPDATE",
                [tids],
            )
            seqs = {r["terminal"]: int(r["contiguous_seq"]) for r in found}
            life = {r["terminal"]: int(r["life"]) for r in found}
            beyond = db.rows(
                "SELECT t.terminal, e.seq FROM unnest(?::text[], ?::bigint[], ?::int[]) AS"
                " t(terminal, after, life) CROSS JOIN LATERAL (SELECT DISTINCT seq FROM events"
                " WHERE events.terminal = t.terminal AND events.seq > t.after AND events.life"
                " = t.life) e ORDER BY t.terminal, e.seq",
                [tids, [seqs[t] for t in tids], [life[t] for t in tids]],
            )
        else:
            db.execute(
                f"INSERT INTO terminals (terminal) VALUES {', '.join(['(?)'] * len(tids))}"
                " ON CONFLICT (terminal) DO NOTHING",
                tids,
            )
            marks = ", ".join("?" for _ in tids)
            found = db.rows(
                f"SELECT terminal, contiguous_seq, life FROM terminals WHERE terminal IN ({marks})",
                tids,
            )
            seqs = {r["terminal"]: int(r["contiguous_seq"]) for r in found}
            life = {r["terminal"]: int(r["life"]) for r in found}
            keys = ", ".join(["(?, ?, ?)"] * len(tids))  # one (terminal, seq) range each
            beyond = db.rows(
                f"WITH k (terminal, after, life) AS (VALUES {keys}) SELECT DISTINCT"
                " k.terminal AS terminal, e.seq AS seq FROM k CROSS JOIN events e WHERE"
                " e.terminal = k.terminal AND e.seq > k.after AND e.life = k.life"
                " ORDER BY k.terminal, e.seq",
                [v for tid in tids for v in (tid, seqs[tid], life[tid])],
            )
        contiguous, gaps = dict(seqs), {}
        for row in beyond:
            tid, seq = row["terminal"], int(row["seq"])
            if tid in gaps:
                continue
            if seq == contiguous[tid] + 1:
                contiguous[tid] = seq
            else:
                gaps[tid] = contiguous[tid] + 1
        moved = [(seq, tid) for tid, seq in sorted(contiguous.items()) if seq != seqs[tid]]
        if moved and self.db.dialect == "postgresql":
            db.execute(
                "UPDATE terminals SET contiguous_seq = m.seq FROM unnest(?::bigint[],"
                " ?::text[]) AS m(seq, terminal) WHERE terminals.terminal = m.terminal",
                [list(c) for c in zip(*moved, strict=True)],
            )
        elif moved:
            db.execute_many("UPDATE terminals SET contiguous_seq = ? WHERE terminal = ?", moved)
        return gaps

    def _last_sales(self, db: Tx, fresh: list[dict[str, Any]]) -> None:
        """Each terminal's `last_sale_at` (the latest occurred_at of its approved sales),
        moved on by the batch's new `sale.approved` events: one statement per batch."""
        last: dict[str, str] = {}
        for env in fresh:
            if env["type"] == "sale.approved":
                tid, at = str(env["terminal"]), str(env["occurred_at"])
                last[tid] = max(at, last.get(tid, at))
        if not last:
            return
        moved = sorted(last.items())
        keep = "(terminals.last_sale_at IS NULL OR terminals.last_sale_at < m.at)"
        if self.db.dialect == "postgresql":
            db.execute(
                "UPDATE terminals SET last_sale_at = m.at FROM unnest(?::text[], ?::text[])"
                f" AS m(terminal, at) WHERE terminals.terminal = m.terminal AND {keep}",
                [list(c) for c in zip(*moved, strict=True)],
            )
        else:
            db.execute_many(
                "UPDATE terminals SET last_sale_at = ? WHERE terminal = ?"
                " AND (last_sale_at IS NULL OR last_sale_at < ?)",
                [(at, tid, at) for tid, at in moved],
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
                f" WHERE t.terminal = ANY(?) AND {later}",
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

    def reply(self, cmd_id: str, tid: str | None = None) -> dict[str, Any] | None:
        """The reply to a command (from `tid` only, when given)."""
        sql, args = "SELECT reply FROM replies WHERE cmd_id = ?", [cmd_id]
        if tid is not None:
            sql += " AND terminal = ?"
            args.append(tid)
        rows = self._all(sql, args)
        return json.loads(rows[0]["reply"]) if rows else None

    def fleet(self, now: str | None = None, stale_after_s: float = 180.0) -> list[dict[str, Any]]:
        """Every terminal's state (`host/fleet.py`) as of `now`."""
        gaps = {
            r["terminal"]: r["since"]
            for r in self._all(  # a later seq is in: since when
                "SELECT t.terminal AS terminal, MIN(e.received_at) AS since FROM terminals t"
                " JOIN events e ON e.terminal = t.terminal AND e.life = t.life"
                " AND e.seq > t.contiguous_seq"
                " GROUP BY t.terminal"
            )
        }
        doubts: dict[str, list[str]] = {}
        for r in self._all(  # in-doubt operations without a later outcome, oldest first
            "SELECT o.terminal AS terminal, o.txn_id AS txn_id FROM events o WHERE o.type IN"
            f" ({_IN_DOUBT}) AND NOT EXISTS (SELECT 1 FROM events r"
            " WHERE r.terminal = o.terminal AND r.txn_id = o.txn_id AND r.seq > o.seq AND"
            f" r.type IN ({_RESOLVES})) ORDER BY o.terminal, o.seq"
        ):
            doubts.setdefault(r["terminal"], []).append(str(r["txn_id"]))
        at = now or now_rfc3339()
        return [
            fleet_state.describe(
                row,
                gaps.get(row["terminal"]),
                row["last_sale_at"],
                at,
                stale_after_s,
                in_doubt_txns=doubts.get(row["terminal"]),
            )
            for row in self._all(  # last_sale_at: kept at ingest (`_last_sales`)
                "SELECT t.* FROM terminals t ORDER BY t.terminal"
            )
        ]

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
        for clause, value in (
            ("terminal = ?", terminal),
            ("type = ?", type_),
            ("type LIKE ? || '.%'", kind),
            ("txn_id = ?", txn_id),
            ("occurred_at >= ?", since),
        ):
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

    def txn_events(
        self,
        outcomes: Sequence[str],
        related: Sequence[str],
        voids: Sequence[str],
        *,
        terminal: str | None = None,
        since: str | None = None,
        until: str | None = None,
        pan_ends: str | None = None,
    ) -> list[dict[str, Any]]:
        """In one query, by terminal then seq: every event of the `outcomes` and `related`
        types (receipt events: the customer copy only) of each (terminal, txn_id) with an
        outcome event of `terminal` (all: None) between `since` and `until` (and with a
        masked PAN ending in `pan_ends`, or none stored), and the `voids` events of
        `terminal` since `since`: the receipt lookup's rows."""
        where, args = [f"type IN ({', '.join('?' for _ in outcomes)})"], list(outcomes)
        void_where, void_args = [f"type IN ({', '.join('?' for _ in voids)})"], list(voids)
        for clause, value in (("terminal = ?", terminal), ("occurred_at >= ?", since)):
            if value is not None:
                where.append(clause)
                args.append(value)
                void_where.append(clause)
                void_args.append(value)
        if until is not None:
            where.append("occurred_at <= ?")
            args.append(until)
        if pan_ends is not None:  # rows stored before masked_pan was taken out: NULL
            where.append("(masked_pan LIKE ? OR masked_pan IS NULL)")
            args.append(f"%{pan_ends}")
        kinds = (*outcomes, *related)
        sql = (
            "SELECT envelope FROM events WHERE"
            f" (type IN ({', '.join('?' for _ in kinds)})"
            " AND (type NOT LIKE 'receipt.%' OR copy = 'customer')"
            " AND (terminal, txn_id) IN"
            f" (SELECT terminal, txn_id FROM events WHERE {' AND '.join(where)}))"
            f" OR ({' AND '.join(void_where)}) ORDER BY terminal, seq"
        )
        return [json.loads(r["envelope"]) for r in self._all(sql, [*kinds, *args, *void_args])]

    def telemetry_history(self, tid: str, since: str) -> list[dict[str, Any]]:
        """The terminal's telemetry rows (`host/history.py`) since a time, oldest first."""
        return self._all(
            f"SELECT at, {', '.join(history.COLUMNS)} FROM telemetry_history"
            " WHERE terminal = ? AND at >= ? ORDER BY at",
            (tid, since),
        )

    def knows_terminal(self, tid: str) -> bool:
        sql = (
            "SELECT 1 FROM terminals WHERE terminal = ? UNION"
            " SELECT 1 FROM events WHERE terminal = ? LIMIT 1"
        )
        return bool(self._all(sql, (tid, tid)))

    def refund_terminals(self, txn_id: str) -> list[str]:
        """The terminals that told of a refund with this id (an id is unique only per
        terminal: two may have used it)."""
        rows = self._all(
            "SELECT DISTINCT terminal FROM events WHERE txn_id = ? AND type LIKE"
            " 'refund.%' ORDER BY terminal",
            (txn_id,),
        )
        return [str(r["terminal"]) for r in rows]


def _text(value: Any) -> str | None:
    """A string column taken out of the envelope; None if it is no string or one that
    PostgreSQL cannot store (NUL)."""
    return value if isinstance(value, str) and "\x00" not in value else None


def _known_terminal(db: Tx, tid: str) -> None:
    db.execute(
        "INSERT INTO terminals (terminal) VALUES (?) ON CONFLICT (terminal) DO NOTHING", (tid,)
    )

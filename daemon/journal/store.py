"""The journal: SQLite (WAL, synchronous=FULL) with transactions, receipts, the audit trail
and the outbox; a state change and its events commit in one `journal.transaction()`."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from posterm.daemon.crash import crashpoint
from posterm.daemon.journal.errors import (
    JournalError,
    JournalIOError,
    MigrationError,
    TransitionError,
)
from posterm.daemon.journal.guards import check_no_card_data
from posterm.daemon.journal.migrations import migrate
from posterm.daemon.journal.reads import JournalReads
from posterm.daemon.journal.rows import (
    COPIES,
    KINDS,
    MARKS,
    RECEIPT_STATES,
    TXN_FIELDS,
    UPDATABLE,
    Txn,
    check_field,
    to_json,
    txn_row,
)
from posterm.daemon.states import TxnState, check_transition
from posterm.protocol.mqtt import events, wire

log = logging.getLogger("posterm.journal")
SEQ_KEY = "outbox_seq"  # the last outbox seq handed out; written only by `Tx.emit`
OWNER_KEY = "terminal_id"  # the terminal this journal belongs to (seq is per terminal)
BUSY_TIMEOUT_MS = 5000
MARK_SENT_CHUNK = 500  # event ids per UPDATE when the relay marks PUBACKed events sent
PERSONAL = "notify"  # the event data key of a customer's contact (protocol/contact.py)
TERMINAL_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


def now() -> str:
    """Journal timestamps: the one format of posterm, RFC 3339 UTC with milliseconds."""
    return events.now_rfc3339()


class Tx:
    """The writes of one SQLite transaction; valid only inside its `with` block."""

    def __init__(self, journal: Journal, db: sqlite3.Connection, durable: bool = True) -> None:
        self._journal = journal
        self._db = db
        self.open = True
        self.durable = durable

    def _run(self, sql: str, args: Any = ()) -> sqlite3.Cursor:
        if not self.open:
            raise JournalError("this transaction is over: open a new one")
        try:
            return self._db.execute(sql, args)
        except sqlite3.IntegrityError as exc:
            raise JournalError(f"refused by the journal: {exc}") from exc
        except sqlite3.Error as exc:
            raise JournalIOError(f"journal write failed: {exc}") from exc

    def execute(self, sql: str, args: Any = ()) -> sqlite3.Cursor:
        """Raw SQL inside this transaction, for the journal's own modules (retention, the
        relay's bookkeeping); errors as JournalError."""
        return self._run(sql, args)

    def get_txn(self, txn_id: str) -> Txn | None:
        row = self._run("SELECT * FROM txns WHERE txn_id = ?", (txn_id,)).fetchone()
        return None if row is None else txn_row(row)

    def txn(self, txn_id: str) -> Txn:
        """A transaction that must exist."""
        found = self.get_txn(txn_id)
        if found is None:
            raise JournalError(f"no transaction {txn_id}")
        return found

    def insert_txn(self, **fields: Any) -> Txn:
        """Journal a new transaction (and its first transition); returns the row."""
        unknown = set(fields) - set(TXN_FIELDS) - {"note"}
        if unknown:
            raise JournalError(f"unknown transaction fields {sorted(unknown)}")
        note = fields.pop("note", None) or "created"
        if fields.get("created_at") is not None or fields.get("updated_at") is not None:
            raise JournalError("created_at and updated_at are set by the journal")
        row = {
            name: check_field(name, fields.get(name))
            for name in TXN_FIELDS
            if name not in ("created_at", "updated_at")
        }
        if row["kind"] not in KINDS:
            raise JournalError(f"unknown transaction kind {row['kind']!r}")
        if row["kind"] != "eod" and row["amount"] == 0:
            raise JournalError(f"a {row['kind']} needs an amount above zero")
        if row["kind"] == "void" and row["ref_txn"] is None:
            raise JournalError("a void needs ref_txn (the sale it reverses)")
        if row["ref_txn"] is not None and self.get_txn(row["ref_txn"]) is None:
            raise JournalError(f"ref_txn {row['ref_txn']} is not in the journal")
        try:
            check_transition(None, TxnState(row["state"]))
        except ValueError as exc:
            raise TransitionError(str(exc)) from None
        key = (row["kind"], row["idem_key"])
        if (
            key[1] is not None
            and self._run("SELECT 1 FROM txns WHERE kind = ? AND idem_key = ?", key).fetchone()
        ):
            raise JournalError(f"idempotency key {row['idem_key']!r} is already used")
        if self.get_txn(row["txn_id"]) is not None:
            raise JournalError(f"transaction {row['txn_id']} already exists")
        row["created_at"] = row["updated_at"] = now()
        self._run(
            f"INSERT INTO txns ({', '.join(row)}) VALUES ({', '.join(':' + n for n in row)})",
            row,
        )
        self._transition(row["txn_id"], None, row["state"], note)
        return txn_row(
            self._run("SELECT * FROM txns WHERE txn_id = ?", (row["txn_id"],)).fetchone()
        )

    def update_txn(self, txn_id: str, note: str | None = None, **fields: Any) -> Txn:
        """Change fields of a transaction; a change of state is checked against the state
        table and recorded as a transition (with `note`)."""
        old = self.get_txn(txn_id)
        if old is None:
            raise JournalError(f"no transaction {txn_id}")
        bad = set(fields) - UPDATABLE
        if bad:
            raise JournalError(f"cannot update {sorted(bad)} of a transaction")
        values = {name: check_field(name, value) for name, value in fields.items()}
        if "amount" in values and values["amount"] in (None, 0) and old.kind != "eod":
            raise JournalError(f"a {old.kind} needs an amount above zero")
        if values.get("ref_txn") is not None and self.get_txn(values["ref_txn"]) is None:
            raise JournalError(f"ref_txn {values['ref_txn']} is not in the journal")
        if "state" in values and values["state"] != old.state:
            try:
                check_transition(TxnState(old.state), TxnState(values["state"]))
            except ValueError as exc:
                raise TransitionError(f"{txn_id}: {exc}") from None
            self._transition(txn_id, old.state, values["state"], note)
        values["updated_at"] = now()
        assignments = ", ".join(f"{name} = :{name}" for name in values)
        self._run(
            f"UPDATE txns SET {assignments} WHERE txn_id = :txn_id", {**values, "txn_id": txn_id}
        )
        txn = self.get_txn(txn_id)
        assert txn is not None
        return txn

    def _transition(self, txn_id: str | None, old: str | None, new: str, note: str | None) -> None:
        if note is not None and not isinstance(note, str):
            raise JournalError(f"a transition note is text, not {type(note).__name__}")
        check_no_card_data("a transition note", note, operator_text=True)
        self._run(
            "INSERT INTO transitions (txn_id, from_state, to_state, note, at) VALUES (?,?,?,?,?)",
            (txn_id, old, new, note, now()),
        )

    def record_mode(self, old: str, new: str, reason: str) -> None:
        """Audit a change of the terminal's mode (a transition without a transaction)."""
        self._transition(None, str(old), str(new), reason)

    def add_receipt(
        self, *, txn_id: str, copy: str, mark: str, body: dict[str, Any], state: str = "pending"
    ) -> int:
        """Journal a receipt to print; returns its receipt_id."""
        if copy not in COPIES or mark not in MARKS or state not in RECEIPT_STATES:
            raise JournalError(
                f"a receipt is {COPIES} / {MARKS} / {RECEIPT_STATES}, "
                f"not {copy!r} / {mark!r} / {state!r}"
            )
        if not isinstance(body, dict):
            raise JournalError("a receipt body is a JSON object")
        check_no_card_data("a receipt", body)
        if self.get_txn(txn_id) is None:
            raise JournalError(f"no transaction {txn_id} for this receipt")
        stamp = now()
        cur = self._run(
            "INSERT INTO receipts (txn_id, copy, mark, state, body, created_at, printed_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                txn_id,
                copy,
                mark,
                state,
                to_json("a receipt body", body),
                stamp,
                stamp if state == "printed" else None,
            ),
        )
        return int(cur.lastrowid or 0)

    def set_receipt_state(self, receipt_id: int, state: str, *, mark: str | None = None) -> None:
        """pending -> printed (stamps printed_at); `mark` may turn a pending original into
        recovered. A printed receipt stays as it was printed."""
        self.set_receipt(receipt_id, state=state, mark=mark)

    def set_receipt(
        self, receipt_id: int, *, state: str | None = None, mark: str | None = None
    ) -> None:
        row = self._run(
            "SELECT state, mark FROM receipts WHERE receipt_id = ?", (receipt_id,)
        ).fetchone()
        if row is None:
            raise JournalError(f"no receipt {receipt_id}")
        if state is not None and state not in RECEIPT_STATES:
            raise JournalError(f"a receipt is {' or '.join(RECEIPT_STATES)}, not {state!r}")
        if mark is not None and mark not in MARKS:
            raise JournalError(f"a receipt mark is {', '.join(MARKS)}, not {mark!r}")
        if row["state"] == "printed" and (state == "pending" or mark not in (None, row["mark"])):
            raise JournalError(f"receipt {receipt_id} is printed: it cannot change")
        if (
            mark is not None
            and mark != row["mark"]
            and (row["mark"], mark) != ("original", "recovered")
        ):
            raise JournalError(f"receipt {receipt_id}: {row['mark']} cannot become {mark}")
        if mark is not None:
            self._run("UPDATE receipts SET mark = ? WHERE receipt_id = ?", (mark, receipt_id))
        if state == "printed" and row["state"] == "pending":
            self._run(
                "UPDATE receipts SET state = 'printed', printed_at = ? WHERE receipt_id = ?",
                (now(), receipt_id),
            )

    def emit(self, type_: str, data: dict[str, Any]) -> dict[str, Any]:
        """Queue an event in the outbox in this transaction; `seq` is gapless per terminal.
        Returns the envelope (docs/mqtt.md)."""
        if not self.durable:  # the relay could send it before a power cut loses it
            raise JournalError(f"a {type_} event needs a durable transaction")
        check_no_card_data(f"a {type_} event", data)
        seq = int(self.kv_get(SEQ_KEY) or 0) + 1
        try:
            envelope = events.envelope(self._journal.terminal_id, seq, type_, data)
            # the host refuses what does not fit its schema: it never enters the outbox
            wire.check_event_data(type_, data)
        except (events.EventError, wire.WireError) as exc:
            raise JournalError(str(exc)) from exc
        self._run(
            "INSERT INTO outbox (seq, event_id, type, occurred_at, envelope, personal)"
            " VALUES (?,?,?,?,?,?)",
            (
                seq,
                envelope["event_id"],
                type_,
                envelope["occurred_at"],
                to_json("an event", envelope),
                1 if PERSONAL in data else 0,
            ),
        )
        self._kv_put(SEQ_KEY, str(seq))
        return envelope

    def kv_get(self, key: str) -> str | None:
        row = self._run("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def kv_set(self, key: str, value: str) -> None:
        """A small durable value (batch number, last PT state), written in this transaction."""
        if not isinstance(key, str) or not 1 <= len(key) <= 64:
            raise JournalError("a kv key is 1-64 characters")
        if key in (SEQ_KEY, OWNER_KEY):
            raise JournalError(f"{key} belongs to the journal itself")
        if not isinstance(value, str):
            raise JournalError(f"kv {key}: a value is text, not {type(value).__name__}")
        check_no_card_data(f"kv {key}", value, operator_text=True)
        self._kv_put(key, value)

    def _kv_put(self, key: str, value: str) -> None:
        self._run(
            "INSERT INTO kv (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def ack_event(self, event_id: str) -> int:
        cur = self._run(
            "UPDATE outbox SET acked_at = ? WHERE event_id = ? AND acked_at IS NULL",
            (now(), event_id),
        )
        return int(cur.rowcount)

    def forget_personal(self) -> int:
        """Take the customer's contact out of every acknowledged event (the host has it);
        with secure_delete the old bytes are overwritten in the file's pages."""
        rows = self._run(
            "SELECT seq, envelope FROM outbox WHERE personal = 1 AND acked_at IS NOT NULL"
        ).fetchall()
        for seq, text in rows:
            envelope = json.loads(text)
            envelope["data"].pop(PERSONAL, None)
            self._run(
                "UPDATE outbox SET envelope = ?, personal = 0 WHERE seq = ?",
                (to_json("an event", envelope), seq),
            )
        return len(rows)


class Journal(JournalReads):
    """One connection, serialised by a lock: the owner thread writes, others may read."""

    def __init__(self, path: str | Path, terminal_id: str) -> None:
        if not isinstance(terminal_id, str) or not TERMINAL_ID.fullmatch(terminal_id):
            raise JournalError(f"terminal id {terminal_id!r}: 1-32 of A-Z a-z 0-9 _ -")
        self.path = Path(path)
        self.terminal_id = terminal_id
        self._lock = threading.RLock()
        self._tx: Tx | None = None
        self._db: sqlite3.Connection | None = None
        # a forgotten contact's old pages are still in the WAL: a reader kept the checkpoint
        # from truncating it, or the last process died between forgetting and truncating;
        # `finish_scrub` (the owner's idle time, at once after start-up) and the next ack
        # try again
        self.scrub_due = True
        self._scrub_at = 0.0
        try:
            if self.path.is_dir():
                raise JournalError(f"{self.path} is a directory, not a journal file")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
            self._db = db
            db.row_factory = sqlite3.Row
            db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise JournalError(f"{self.path}: SQLite refused WAL mode (got {mode})")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            # a refund's customer contact, once forgotten, leaves no bytes in the file's pages
            db.execute("PRAGMA secure_delete=ON")
            self.schema_version = migrate(db)
            self._claim(db)
        except (sqlite3.Error, OSError, MigrationError) as exc:
            self._abandon()
            raise JournalError(f"{self.path}: {exc}") from exc
        except JournalError:
            self._abandon()
            raise

    def _claim(self, db: sqlite3.Connection) -> None:
        """A journal belongs to one terminal: its outbox seq is that terminal's."""
        row = db.execute("SELECT value FROM kv WHERE key = ?", (OWNER_KEY,)).fetchone()
        if row is None:
            db.execute("INSERT INTO kv (key, value) VALUES (?, ?)", (OWNER_KEY, self.terminal_id))
        elif row[0] != self.terminal_id:
            raise JournalError(
                f"{self.path} is the journal of terminal {row[0]!r}, not {self.terminal_id!r}"
            )

    def _abandon(self) -> None:
        if self._db is not None:
            with suppress(sqlite3.Error):
                self._db.close()
            self._db = None

    def close(self) -> None:
        """Close the file (idempotent)."""
        with self._lock:
            self._abandon()

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise JournalError(f"{self.path}: the journal is closed")
        return self._db

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[Tx]:
        """BEGIN IMMEDIATE … COMMIT around the writes of the block; ROLLBACK on any
        exception (re-raised; SQLite errors as JournalError). Transactions do not nest.

        `durable=False`: the commit is not fsync'ed itself (WAL, synchronous=NORMAL); the
        WAL is append-only, so the next durable commit's fsync (or a checkpoint) makes it
        durable with everything before it. A power cut can only lose such commits at the
        tail, as if the process had stopped just before them: for writes whose loss the
        money rules allow (a mode record, an approval that a durable write follows before
        anything is printed), never for a write that must be on disk before the PT, the
        printer or the host hears of it."""
        with self._lock:
            db = self._conn()
            if self._tx is not None:
                raise JournalError("journal transactions do not nest")
            try:
                if not durable:
                    db.execute("PRAGMA synchronous=NORMAL")
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                with suppress(sqlite3.Error):
                    db.execute("PRAGMA synchronous=FULL")
                raise JournalIOError(f"cannot begin a transaction: {exc}") from exc
            tx = self._tx = Tx(self, db, durable)
            try:
                yield tx
                db.execute("COMMIT")
            except BaseException as exc:
                if db.in_transaction:
                    with suppress(sqlite3.Error):
                        db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise JournalIOError(f"journal commit failed: {exc}") from exc
                raise
            finally:
                tx.open = False
                if not durable:
                    with suppress(sqlite3.Error):
                        db.execute("PRAGMA synchronous=FULL")
                self._tx = None

    def _all(self, sql: str, args: Iterable[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return list(self._conn().execute(sql, tuple(args)).fetchall())
            except sqlite3.Error as exc:
                raise JournalIOError(f"journal read failed: {exc}") from exc

    def outbox_mark_sent(self, event_ids: Iterable[str]) -> None:
        """The broker PUBACKed these: sent, still in the outbox until the host acks."""
        ids = list(event_ids)
        sent_at = now()
        with self.transaction() as tx:  # one UPDATE per MARK_SENT_CHUNK ids, one commit
            for first in range(0, len(ids), MARK_SENT_CHUNK):
                chunk = ids[first : first + MARK_SENT_CHUNK]
                tx.execute(
                    "UPDATE outbox SET sent_at = COALESCE(sent_at, ?)"
                    f" WHERE event_id IN ({','.join('?' * len(chunk))})",
                    (sent_at, *chunk),
                )
            crashpoint("journal.mark_sent")  # the batch's UPDATEs run, its COMMIT not yet

    def command_seen(self, cmd_id: str) -> tuple[str, str | None] | None:
        """(name, its reply as JSON text or None while it runs) of a command seen before."""
        rows = self._all("SELECT name, reply FROM commands WHERE cmd_id = ?", (cmd_id,))
        return (str(rows[0][0]), rows[0][1]) if rows else None

    def command_begin(self, cmd_id: str, name: str) -> None:
        """Journal a command before it runs: it never runs twice, across restarts."""
        with self.transaction() as tx:
            tx.execute(
                "INSERT INTO commands (cmd_id, name, received_at) VALUES (?, ?, ?)",
                (cmd_id, name, now()),
            )

    def command_done(self, cmd_id: str, reply: dict[str, Any]) -> None:
        with self.transaction() as tx:
            tx.execute(
                "UPDATE commands SET reply = ? WHERE cmd_id = ?",
                (to_json("a command reply", reply), cmd_id),
            )

    def outbox_ack(self, event_ids: Iterable[str]) -> int:
        """Mark events the host committed; returns how many were newly acknowledged
        (unknown or already acknowledged ids count 0). Acked rows stay for the audit."""
        ids = list(event_ids)
        if not all(isinstance(i, str) for i in ids):
            raise JournalError("event ids are strings")
        with self.transaction() as tx:
            acked = sum(tx.ack_event(event_id) for event_id in ids)
            forgot = tx.forget_personal() if acked else 0
        if forgot:
            crashpoint("journal.forgot")  # committed, the old pages still in the WAL
            self._checkpoint(every_s=5.0)
        else:
            self.finish_scrub()
        return acked

    def finish_scrub(self, *, now: bool = False) -> None:
        """Try the checkpoint again if the last one could not truncate the WAL: at most
        every 5 s, or `now`."""
        with self._lock:
            if self.scrub_due and (now or time.monotonic() >= self._scrub_at):
                self._checkpoint(every_s=5.0)

    def _checkpoint(self, every_s: float) -> None:
        """Copy the WAL into the file and truncate it: the old pages that held a customer's
        contact leave the WAL too (what the SD card's flash keeps is beyond reach). When a
        reader (a debug bundle, sqlite3 at the shell) keeps it from truncating, `scrub_due`
        stays set and `finish_scrub` tries again after `every_s`."""
        with self._lock:
            if self._db is None:
                return
            busy = 1
            try:  # without waiting for readers: the caller's thread has other work
                self._db.execute("PRAGMA busy_timeout=0")
                busy = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            except sqlite3.Error as exc:
                log.warning("journal: checkpoint after forgetting a contact: %s", exc)
            finally:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            if busy:
                log.warning(
                    "journal: a reader kept the WAL from being truncated (a forgotten"
                    " contact may still be in it); trying again"
                )
            self.scrub_due = bool(busy)
            self._scrub_at = time.monotonic() + every_s

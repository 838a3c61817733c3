"""The journal: SQLite (WAL, synchronous=FULL) with transactions, receipts, the audit trail
and the outbox; a state change and its events commit in one `journal.transaction()`."""

from __future__ import annotations

import contextlib
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
)
from posterm.daemon.journal.migrations import migrate
from posterm.daemon.journal.reads import JournalReads
from posterm.daemon.journal.rows import (
    to_json,
)
from posterm.daemon.journal.tx import OWNER_KEY, Tx, now

__all__ = ["Journal", "JournalError", "Tx", "now"]  # Tx: daemon/journal/tx.py

log = logging.getLogger("posterm.journal")
BUSY_TIMEOUT_MS = 5000
MARK_SENT_CHUNK = 500  # event ids per UPDATE when the relay marks PUBACKed events sent
TERMINAL_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


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

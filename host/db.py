"""The host's database connection: SQLite (one file, WAL) or PostgreSQL (psycopg 3), one
way to run a transaction or a query on either, so the store and its migrations are
written once.

SQL is written with `?` placeholders and the SQL both speak (`INSERT … ON CONFLICT … DO
NOTHING`, no JSON functions); for PostgreSQL the placeholders become `%s`. Rows are dicts.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol


class DatabaseError(Exception):
    """The host's database failed (cannot open, a statement failed, the link broke).
    `transient`: the database could not be reached or was busy (the same work may succeed
    later), not a statement it refused."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


Row = dict[str, Any]
log = logging.getLogger("posterm.host.db")


class Tx(Protocol):
    """What a transaction offers: run a statement (its row count), or read rows."""

    def execute(self, sql: str, args: Sequence[Any] = ()) -> int: ...

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    def copy_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None: ...

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]: ...

    def once(self, sql: str) -> None: ...


class _Once:
    """`Tx.once`: statements run once per connection (a temporary table's CREATE, say):
    what this connection already ran in a committed transaction is not sent again (a
    round trip a batch on PostgreSQL, issue 23). A new connection starts with none."""

    def __init__(self) -> None:
        self.done: set[str] = set()  # committed on this connection
        self.ran: set[str] = set()  # run by the transaction under way

    def want(self, sql: str) -> bool:
        if sql in self.done or sql in self.ran:
            return False
        self.ran.add(sql)
        return True

    def committed(self) -> None:
        self.done |= self.ran
        self.ran = set()

    def rolled_back(self) -> None:
        self.ran = set()


class Database(Protocol):
    dialect: str  # "sqlite" | "postgresql"
    where: str  # for logs: the file, or the server and database name (no password)

    def tx(self) -> Any: ...  # a context manager yielding a Tx; commits on leaving it

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]: ...

    def scrub(self) -> bool: ...  # see SqliteDatabase.scrub

    def others_wrote(self) -> bool: ...  # see SqliteDatabase.others_wrote

    def close(self) -> None: ...


def connect(url: str) -> Database:
    """`sqlite:///ABSOLUTE/PATH` or `postgresql://USER@HOST:PORT/DB` (libpq's URL)."""
    if url.startswith("sqlite:///"):
        return SqliteDatabase(Path(url.removeprefix("sqlite://")))
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresDatabase(url)
    raise DatabaseError(f"{url!r}: not a sqlite:/// or postgresql:// URL")


class _SqliteTx:
    def __init__(self, db: sqlite3.Connection, once: _Once | None = None) -> None:
        self._db = db
        self._once = once or _Once()

    def once(self, sql: str) -> None:
        """`sql` unless this connection ran it in a committed transaction (`_Once`)."""
        if self._once.want(sql):
            self._db.execute(sql)

    def execute(self, sql: str, args: Sequence[Any] = ()) -> int:
        return self._db.execute(sql, tuple(args)).rowcount

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._db.executemany(sql, [tuple(r) for r in rows])

    def copy_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        marks = ", ".join("?" for _ in columns)
        self.execute_many(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        cur = self._db.execute(sql, tuple(args))
        names = [d[0] for d in cur.description or ()]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


class SqliteDatabase:
    """One connection shared by the threads of one process under a lock; writers take
    the file's write lock at BEGIN (IMMEDIATE), so two processes never deadlock."""

    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        self.where = str(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                str(path),
                isolation_level=None,
                check_same_thread=False,
                cached_statements=512,  # every shape of host/sql_values.py's, prepared once
            )
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            # a refund's customer contact, once delivered or expired, leaves no bytes behind
            self._db.execute("PRAGMA secure_delete=ON")
        except (sqlite3.Error, OSError) as exc:
            raise DatabaseError(f"{path}: {exc}") from exc
        self._lock = threading.Lock()
        self._once = _Once()
        self._version = 0
        self._version = self._data_version()  # when others_wrote last looked

    def _data_version(self) -> int:
        """SQLite's count of the commits other connections made to the file (one read)."""
        with self._lock:
            try:
                return int(self._db.execute("PRAGMA data_version").fetchone()[0])
            except sqlite3.Error:
                return self._version

    def others_wrote(self) -> bool:
        """Whether another connection (another process's: the ingest's, say) committed to
        the file since the last call."""
        version = self._data_version()
        changed, self._version = version != self._version, version
        return changed

    @contextmanager
    def tx(self) -> Iterator[Tx]:
        with self._lock:
            try:
                self._once.rolled_back()  # what a transaction that failed ran
                self._db.execute("BEGIN IMMEDIATE")
                yield _SqliteTx(self._db, self._once)
                self._db.execute("COMMIT")
                self._once.committed()
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise DatabaseError(
                    f"{self.where}: {exc}", transient=isinstance(exc, sqlite3.OperationalError)
                ) from exc
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        with self._lock:
            try:
                return _SqliteTx(self._db).rows(sql, args)
            except sqlite3.Error as exc:
                raise DatabaseError(
                    f"{self.where}: {exc}", transient=isinstance(exc, sqlite3.OperationalError)
                ) from exc

    def scrub(self) -> bool:
        """Truncate the WAL, so the old pages of rows deleted or overwritten (a customer's
        contact, once told) leave it: secure_delete already zeroes them in the file. Does
        not wait for readers; False when one kept it (try again later)."""
        with self._lock:
            try:
                self._db.execute("PRAGMA busy_timeout=0")
                busy = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            except sqlite3.Error as exc:
                log.warning("store: checkpoint to forget contacts: %s", exc)
                return False
            finally:
                self._db.execute("PRAGMA busy_timeout=5000")
            return not busy

    def close(self) -> None:
        self._db.close()


_PLACEHOLDER = re.compile(r"\?")
_ARRAY = re.compile(r"\?(?=::\w+\[\])")  # a placeholder cast to an array type: `?::text[]`


@lru_cache(maxsize=1024)
def _pg(sql: str) -> str:
    """The store's SQL for psycopg. It has no literal '?': every '?' is a placeholder; a
    literal '%' (LIKE 'x.%') is doubled, psycopg would take it for one. An array's
    placeholder (`?::text[]`, a batch's keys) is sent in binary (`%b`): psycopg's text
    format quotes every element through a regular expression, 3 to 7 times the CPU of the
    binary one for a batch's keys (issue 23)."""
    sql = _ARRAY.sub("%b", sql.replace("%", "%%"))
    return _PLACEHOLDER.sub("%s", sql)


class _PgTx:
    def __init__(self, conn: Any, once: _Once | None = None) -> None:
        self._conn = conn
        self._once = once or _Once()

    def once(self, sql: str) -> None:
        """`sql` unless this connection ran it in a committed transaction (`_Once`)."""
        if self._once.want(sql):
            self.execute(sql)

    def execute(self, sql: str, args: Sequence[Any] = ()) -> int:
        with self._conn.cursor() as cur:
            cur.execute(_pg(sql), tuple(args))
            return int(cur.rowcount)

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._conn.cursor() as cur:  # psycopg pipelines the statements: one round trip
            cur.executemany(_pg(sql), [tuple(r) for r in rows])

    def copy_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """COPY … FROM STDIN: many rows without a statement to parse per row."""
        with (
            self._conn.cursor() as cur,
            cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        with self._conn.cursor() as cur:
            cur.execute(_pg(sql), tuple(args))
            return list(cur.fetchall())


class PostgresDatabase:
    """One psycopg connection per process (the host's one thread writes; readers share it
    under a lock). Several processes share one database: the store's transactions lock
    the rows they advance (`SELECT … FOR UPDATE`)."""

    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        try:  # imported here: a terminal's venv has no psycopg (the posterm[host] extra)
            import psycopg  # noqa: PLC0415
            from psycopg.rows import dict_row  # noqa: PLC0415
        except ImportError as exc:
            raise DatabaseError(f"PostgreSQL needs psycopg 3 (posterm[host]): {exc}") from exc
        self._errors: tuple[type[BaseException], ...] = (psycopg.Error,)
        self._transient: tuple[type[BaseException], ...] = (psycopg.OperationalError,)

        def connect() -> Any:
            return psycopg.connect(url, row_factory=dict_row, autocommit=True, connect_timeout=10)

        self._connect = connect
        try:
            self._conn = self._connect()
        except psycopg.Error as exc:
            raise DatabaseError(f"PostgreSQL: {exc}") from exc
        info = self._conn.info
        self.where = f"postgresql://{info.host}:{info.port}/{info.dbname}"
        self._lock = threading.Lock()
        self._once = _Once()

    def _live(self) -> Any:
        """The connection; a new one when the last broke (the server restarted): the
        statement that found it broken failed, the next one runs on a fresh link."""
        if self._conn.closed:
            self._conn = self._connect()
            self._once = _Once()  # its temporary tables went with the old one
        return self._conn

    @contextmanager
    def tx(self) -> Iterator[Tx]:
        with self._lock:
            try:
                conn = self._live()
                self._once.rolled_back()  # what a transaction that failed ran
                with conn.transaction():
                    yield _PgTx(conn, self._once)
                self._once.committed()
            except self._errors as exc:
                raise self._error(exc) from exc

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        with self._lock:
            try:
                conn = self._live()
                with conn.transaction():
                    return _PgTx(conn).rows(sql, args)
            except self._errors as exc:
                raise self._error(exc) from exc

    def _error(self, exc: BaseException) -> DatabaseError:
        transient = isinstance(exc, self._transient) or bool(self._conn.closed)
        return DatabaseError(f"{self.where}: {exc}", transient=transient)

    def scrub(self) -> bool:
        """Nothing to do here: PostgreSQL's dead rows go with (auto)vacuum, its WAL with
        its checkpoints and archive policy (the operator's)."""
        return True

    def others_wrote(self) -> bool:
        """Not asked of PostgreSQL: its writers do not hold each other up on one file."""
        return False

    def close(self) -> None:
        self._conn.close()

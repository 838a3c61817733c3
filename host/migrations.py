"""The host's schema, one list of migrations for SQLite and PostgreSQL. A migration is a
list of statements both speak, or a dict of statements per dialect where they differ.
`schema_version` holds the number of migrations applied; each runs in its own
transaction with that number, so a crash mid-way leaves the database at the step before.
Several processes starting at once on one PostgreSQL database: the version row is locked
first, so each migration runs once."""

from __future__ import annotations

from posterm.host.db import Database, DatabaseError, Tx

Statements = list[str] | dict[str, list[str]]

MIGRATIONS: list[Statements] = [
    # 1: events once, the fleet, command replies
    [
        """CREATE TABLE IF NOT EXISTS events (
            event_id TEXT PRIMARY KEY,
            terminal TEXT NOT NULL,
            seq BIGINT NOT NULL,
            type TEXT NOT NULL,
            occurred_at TEXT NOT NULL,
            received_at TEXT NOT NULL,
            envelope TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS events_terminal_seq ON events (terminal, seq)",
        """CREATE TABLE IF NOT EXISTS terminals (
            terminal TEXT PRIMARY KEY,
            contiguous_seq BIGINT NOT NULL DEFAULT 0,
            online INTEGER,
            session BIGINT,
            status TEXT,
            telemetry TEXT,
            last_seen TEXT
        )""",
        """CREATE TABLE IF NOT EXISTS replies (
            cmd_id TEXT PRIMARY KEY,
            terminal TEXT NOT NULL,
            reply TEXT NOT NULL,
            received_at TEXT NOT NULL
        )""",
    ],
    # 2: what lookups filter on, out of the envelope's JSON (no JSON functions in queries)
    {
        "sqlite": [
            "ALTER TABLE events ADD COLUMN txn_id TEXT",
            "ALTER TABLE events ADD COLUMN copy TEXT",
            "UPDATE events SET txn_id = json_extract(envelope, '$.data.txn_id'),"
            " copy = json_extract(envelope, '$.data.copy')",
            "CREATE INDEX events_txn ON events (txn_id)",
            "ALTER TABLE terminals ADD COLUMN telemetry_at TEXT",
        ],
        "postgresql": [
            "ALTER TABLE events ADD COLUMN txn_id TEXT",
            "ALTER TABLE events ADD COLUMN copy TEXT",
            "UPDATE events SET txn_id = envelope::jsonb -> 'data' ->> 'txn_id',"
            " copy = envelope::jsonb -> 'data' ->> 'copy'",
            "CREATE INDEX events_txn ON events (txn_id)",
            "ALTER TABLE terminals ADD COLUMN telemetry_at TEXT",
        ],
    },
    # 3: the dashboard's telemetry history (host/history.py, pruned after 48 h) and the
    # audit log of what its users did (host/web/audit.py)
    [
        """CREATE TABLE IF NOT EXISTS telemetry_history (
            terminal TEXT NOT NULL,
            at TEXT NOT NULL,
            outbox_depth BIGINT,
            oldest_unsent_age_s DOUBLE PRECISION,
            pending_receipts BIGINT,
            in_doubt BIGINT,
            paper TEXT,
            pt_link TEXT,
            printer TEXT,
            version TEXT
        )""",
        "CREATE INDEX IF NOT EXISTS telemetry_history_at ON telemetry_history (terminal, at)",
        """CREATE TABLE IF NOT EXISTS audit_log (
            audit_id TEXT PRIMARY KEY,
            at TEXT NOT NULL,
            username TEXT NOT NULL,
            role TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            ok INTEGER NOT NULL,
            result TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at)",
    ],
]


def migrate(db: Database) -> int:
    """Bring the schema up to date; the version it is at."""
    with db.tx() as tx:
        tx.execute("CREATE TABLE IF NOT EXISTS schema_version (id INTEGER PRIMARY KEY,"
                   " version INTEGER NOT NULL)")  # fmt: skip
        tx.execute("INSERT INTO schema_version (id, version) VALUES (1, 0)"
                   " ON CONFLICT (id) DO NOTHING")  # fmt: skip
    for number, step in enumerate(MIGRATIONS, start=1):
        with db.tx() as tx:
            if _version(tx, db.dialect) >= number:
                continue
            statements = step if isinstance(step, list) else step[db.dialect]
            for sql in statements:
                tx.execute(sql)
            tx.execute("UPDATE schema_version SET version = ? WHERE id = 1", (number,))
    with db.tx() as tx:
        version = _version(tx, db.dialect)
    if version > len(MIGRATIONS):
        raise DatabaseError(f"{db.where}: schema version {version} is newer than this"
                            f" posterm-host ({len(MIGRATIONS)}); upgrade posterm-host")  # fmt: skip
    return version


def _version(tx: Tx, dialect: str) -> int:
    lock = " FOR UPDATE" if dialect == "postgresql" else ""
    return int(tx.rows(f"SELECT version FROM schema_version WHERE id = 1{lock}")[0]["version"])

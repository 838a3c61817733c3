"""The journal's schema as ordered migrations, and bringing a file up to date.

A migration once released never changes: a new one is appended. The columns of `txns`
are checked against `rows.Txn` by the tests, so the two cannot drift apart."""

from __future__ import annotations

import sqlite3

from posterm.daemon.journal.errors import MigrationError

MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema
    """
    CREATE TABLE txns (
        txn_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('sale', 'refund', 'void', 'eod')),
        state TEXT NOT NULL,
        amount INTEGER NOT NULL CHECK (amount >= 0),
        currency TEXT NOT NULL,
        idem_key TEXT,
        ref_txn TEXT REFERENCES txns (txn_id),
        receipt_no INTEGER,
        trace INTEGER,
        turnover_no INTEGER,
        terminal_id TEXT,
        card_name TEXT,
        masked_pan TEXT,
        aid TEXT,
        result_code INTEGER,
        result_text TEXT,
        pt_receipt_lines TEXT,
        reason TEXT,
        reason_text TEXT,
        batch_no INTEGER,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (kind, idem_key)
    );
    CREATE TABLE receipts (
        receipt_id INTEGER PRIMARY KEY,
        txn_id TEXT NOT NULL REFERENCES txns (txn_id),
        copy TEXT NOT NULL CHECK (copy IN ('customer', 'merchant')),
        mark TEXT NOT NULL CHECK (mark IN ('original', 'recovered', 'duplicate')),
        state TEXT NOT NULL CHECK (state IN ('pending', 'printed')),
        body TEXT NOT NULL,
        created_at TEXT NOT NULL,
        printed_at TEXT
    );
    CREATE TABLE transitions (
        id INTEGER PRIMARY KEY,
        txn_id TEXT,
        from_state TEXT,
        to_state TEXT NOT NULL,
        note TEXT,
        at TEXT NOT NULL
    );
    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY,
        event_id TEXT NOT NULL UNIQUE,
        type TEXT NOT NULL,
        occurred_at TEXT NOT NULL,
        envelope TEXT NOT NULL,
        acked_at TEXT
    );
    CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # 2: the lookups recovery, the receipt printer and the outbox relay make on every run
    """
    CREATE INDEX txns_state ON txns (state);
    CREATE INDEX txns_receipt_no ON txns (receipt_no);
    CREATE INDEX txns_ref ON txns (ref_txn);
    CREATE INDEX receipts_pending ON receipts (state, receipt_id);
    CREATE INDEX outbox_unacked ON outbox (acked_at, seq);
    """,
    # 3: the host link — when an event was PUBACKed, and the commands seen (a cmd_id runs
    # once, its first reply is the answer to every copy, across restarts)
    """
    ALTER TABLE outbox ADD COLUMN sent_at TEXT;
    CREATE TABLE commands (
        cmd_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        received_at TEXT NOT NULL,
        reply TEXT
    );
    CREATE INDEX receipts_txn ON receipts (txn_id);
    CREATE INDEX transitions_txn ON transitions (txn_id, id);
    """,
    # 4: events that carry a customer's contact (a refund's notification): it is taken
    # out of the envelope once the host has acknowledged the event
    """
    ALTER TABLE outbox ADD COLUMN personal INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX outbox_personal ON outbox (personal) WHERE personal = 1;
    """,
)


def version(db: sqlite3.Connection) -> int:
    """The schema version of an open file (0: empty)."""
    db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = db.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(db: sqlite3.Connection, target: int | None = None) -> int:
    """Apply the missing migrations in order, each in its own transaction (a failed one
    leaves the file at the version before it); returns the version reached.

    `db` must be in autocommit mode (`isolation_level=None`)."""
    goal = len(MIGRATIONS) if target is None else target
    if not 0 <= goal <= len(MIGRATIONS):
        raise MigrationError(f"no schema version {goal} (1-{len(MIGRATIONS)})")
    current = version(db)
    if current > len(MIGRATIONS):
        raise MigrationError(
            f"journal schema {current} is newer than this posterm knows ({len(MIGRATIONS)})"
        )
    for number in range(current + 1, goal + 1):
        # executescript: a script may hold ';' inside strings or triggers. It runs its own
        # BEGIN … COMMIT, so nothing of a failed migration stays.
        try:
            db.executescript(
                f"BEGIN IMMEDIATE;\n{MIGRATIONS[number - 1]}\n"
                f"INSERT INTO schema_version (version) VALUES ({number});\nCOMMIT;"
            )
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            if version(db) >= number:  # another process opening the file got there first
                continue
            raise MigrationError(f"migration to schema {number} failed: {exc}") from exc
    return max(current, goal)

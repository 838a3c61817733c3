"""The journal's schema, as ordered migrations; `schema_version` says how far a file is."""

from __future__ import annotations

import sqlite3

MIGRATIONS: list[str] = [
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
    # 2: lookups recovery and the receipt printer make on every run
    """
    CREATE INDEX txns_state ON txns (state);
    CREATE INDEX txns_receipt_no ON txns (receipt_no);
    CREATE INDEX txns_ref ON txns (ref_txn);
    CREATE INDEX receipts_pending ON receipts (state, receipt_id);
    CREATE INDEX outbox_unacked ON outbox (acked_at, seq);
    """,
]


def version(db: sqlite3.Connection) -> int:
    db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = db.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(db: sqlite3.Connection, target: int | None = None) -> int:
    """Apply the missing migrations, each in its own transaction; return the version."""
    goal = len(MIGRATIONS) if target is None else target
    current = version(db)
    if current > len(MIGRATIONS):
        raise sqlite3.DatabaseError(
            f"journal schema {current} is newer than this posterm ({len(MIGRATIONS)})"
        )
    for number in range(current + 1, goal + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in MIGRATIONS[number - 1].split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    return max(current, goal)

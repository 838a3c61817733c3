"""The host's schema, one list of migrations for SQLite and PostgreSQL. A migration is a
list of statements both speak, or a dict of statements per dialect where they differ.
`schema_version` holds the number of migrations applied; each runs in its own
transaction with that number, so a crash mid-way leaves the database at the step before.
Several processes starting at once on one PostgreSQL database: the version row is locked
first, so each migration runs once."""

from __future__ import annotations

from posterm.host.db import Database, DatabaseError, Tx

Statements = list[str] | dict[str, list[str]]
MIGRATION_LOCK = 0x706F7374  # PostgreSQL advisory lock ("post") while schema_version is made

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
    # 3: alerts (one open per kind, terminal and subject), the webhooks' durable queue,
    # when the retained status last changed, the sale's masked PAN out of the envelope
    # (the double-charge rule filters on it), the indexes the alert rules read by
    {
        dialect: [
            """CREATE TABLE IF NOT EXISTS alerts (
                alert_id TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                terminal TEXT NOT NULL,
                subject TEXT NOT NULL DEFAULT '',
                raised_at TEXT NOT NULL,
                cleared_at TEXT,
                detail TEXT NOT NULL
            )""",
            "CREATE UNIQUE INDEX IF NOT EXISTS alerts_one_open ON alerts (kind, terminal, subject)"
            " WHERE cleared_at IS NULL",
            "CREATE INDEX IF NOT EXISTS alerts_raised ON alerts (raised_at)",
            """CREATE TABLE IF NOT EXISTS webhook_deliveries (
                delivery_id TEXT PRIMARY KEY,
                url TEXT NOT NULL,
                kind TEXT NOT NULL,
                body TEXT NOT NULL,
                state TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                created_at TEXT NOT NULL,
                next_attempt_at TEXT NOT NULL,
                last_error TEXT,
                sent_at TEXT
            )""",
            "CREATE INDEX IF NOT EXISTS webhook_due ON webhook_deliveries (state, next_attempt_at)",
            "ALTER TABLE terminals ADD COLUMN status_at TEXT",
            "UPDATE terminals SET status_at = last_seen",  # the best guess for those known
            "CREATE INDEX IF NOT EXISTS events_type ON events (type, received_at)",
            "CREATE INDEX IF NOT EXISTS events_terminal_type"
            " ON events (terminal, type, occurred_at)",
            "ALTER TABLE events ADD COLUMN masked_pan TEXT",
            backfill,
            "CREATE INDEX IF NOT EXISTS events_card ON events (terminal, masked_pan, occurred_at)",
        ]
        for dialect, backfill in (
            (
                "sqlite",
                "UPDATE events SET masked_pan = json_extract(envelope,"
                " '$.data.masked_pan') WHERE type IN ('sale.approved', 'sale.recovered')",
            ),
            (
                "postgresql",
                "UPDATE events SET masked_pan = envelope::jsonb -> 'data' ->>"
                " 'masked_pan' WHERE type IN ('sale.approved', 'sale.recovered')",
            ),
        )
    },
    # 4: refund notifications: a refund's customer contact until its outcome, then the
    # notification's durable queue (the contact goes once it is delivered)
    [
        """CREATE TABLE IF NOT EXISTS contacts (
            txn_id TEXT PRIMARY KEY,
            terminal TEXT NOT NULL,
            contact TEXT NOT NULL,
            received_at TEXT NOT NULL
        )""",
        """CREATE TABLE IF NOT EXISTS notifications (
            notification_id TEXT PRIMARY KEY,
            txn_id TEXT NOT NULL UNIQUE,
            terminal TEXT NOT NULL,
            channel TEXT NOT NULL,
            contact TEXT,
            lang TEXT NOT NULL,
            facts TEXT NOT NULL,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            next_attempt_at TEXT NOT NULL,
            last_error TEXT,
            sent_at TEXT,
            claim TEXT
        )""",
        "CREATE INDEX IF NOT EXISTS notifications_due ON notifications (state, next_attempt_at)",
        "CREATE INDEX IF NOT EXISTS notifications_claim ON notifications (claim)",
    ],
    # 5: the dashboard's telemetry history (host/history.py, pruned after 48 h) and the
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
    # 6: an event's amount in minor units, so the double-charge rule reads only the card's
    # sales of the same amount (NULL in rows stored before: those are read as before)
    ["ALTER TABLE events ADD COLUMN amount_minor BIGINT"],
    # 7: messages that did not fit their wire schema (host/quarantine.py): never parsed
    # again; the same bytes again count in their row instead of a new one
    [
        """CREATE TABLE IF NOT EXISTS quarantine (
            digest TEXT PRIMARY KEY,
            terminal TEXT,
            topic TEXT NOT NULL,
            reason TEXT NOT NULL,
            size BIGINT NOT NULL,
            prefix TEXT NOT NULL,
            seen BIGINT NOT NULL DEFAULT 1,
            first_at TEXT NOT NULL,
            last_at TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS quarantine_last ON quarantine (last_at)",
    ],
    # 8: (issue 19) a transaction is named by (terminal, txn_id) everywhere: contacts and
    # notifications become unique per terminal and txn_id (two terminals may use one id;
    # the tables are made again, SQLite cannot drop a key), and every command sent is kept
    # with the terminal it went to, so only that terminal's reply counts
    [
        """CREATE TABLE contacts_by_terminal (
            terminal TEXT NOT NULL,
            txn_id TEXT NOT NULL,
            contact TEXT NOT NULL,
            received_at TEXT NOT NULL,
            PRIMARY KEY (terminal, txn_id)
        )""",
        "INSERT INTO contacts_by_terminal (terminal, txn_id, contact, received_at)"
        " SELECT terminal, txn_id, contact, received_at FROM contacts",
        "DROP TABLE contacts",
        "ALTER TABLE contacts_by_terminal RENAME TO contacts",
        """CREATE TABLE notifications_by_terminal (
            notification_id TEXT PRIMARY KEY,
            txn_id TEXT NOT NULL,
            terminal TEXT NOT NULL,
            channel TEXT NOT NULL,
            contact TEXT,
            lang TEXT NOT NULL,
            facts TEXT NOT NULL,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            next_attempt_at TEXT NOT NULL,
            last_error TEXT,
            sent_at TEXT,
            claim TEXT,
            UNIQUE (terminal, txn_id)
        )""",
        "INSERT INTO notifications_by_terminal (notification_id, txn_id, terminal, channel,"
        " contact, lang, facts, state, attempts, created_at, next_attempt_at, last_error,"
        " sent_at, claim) SELECT notification_id, txn_id, terminal, channel, contact, lang,"
        " facts, state, attempts, created_at, next_attempt_at, last_error, sent_at, claim"
        " FROM notifications",
        "DROP TABLE notifications",
        "ALTER TABLE notifications_by_terminal RENAME TO notifications",
        "CREATE INDEX IF NOT EXISTS notifications_due ON notifications (state, next_attempt_at)",
        "CREATE INDEX IF NOT EXISTS notifications_claim ON notifications (claim)",
        """CREATE TABLE IF NOT EXISTS commands (
            cmd_id TEXT PRIMARY KEY,
            terminal TEXT NOT NULL,
            name TEXT NOT NULL,
            sent_at TEXT NOT NULL
        )""",
    ],
    # 9: the dashboard's sessions, kept at the host (host/web/sessions.py): the cookie holds
    # a random id whose HMAC is the key; logout deletes the row, a changed password
    # (another password_tag) ends it. The audit log counts the logins the throttle refused
    # (one row per client and window: repeats, last_at) and is filtered by user and action
    [
        "ALTER TABLE audit_log ADD COLUMN repeats INTEGER NOT NULL DEFAULT 1",
        "ALTER TABLE audit_log ADD COLUMN last_at TEXT",
        "CREATE INDEX IF NOT EXISTS audit_log_user ON audit_log (username, at)",
        "CREATE INDEX IF NOT EXISTS audit_log_action ON audit_log (action, at)",
        """CREATE TABLE IF NOT EXISTS web_sessions (
            session_key TEXT PRIMARY KEY,
            username TEXT NOT NULL,
            password_tag TEXT NOT NULL,
            csrf TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS web_sessions_expiry ON web_sessions (expires_at)",
    ],
    # 10: a terminal's lives (host/lives.py): a re-flashed terminal (new journal_id in its
    # status) starts a new life; its events are stored with the life they belong to
    [
        "ALTER TABLE terminals ADD COLUMN journal_id TEXT",
        "ALTER TABLE terminals ADD COLUMN life INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE terminals ADD COLUMN reset_at TEXT",
        "ALTER TABLE events ADD COLUMN life INTEGER NOT NULL DEFAULT 0",
        """CREATE TABLE IF NOT EXISTS terminal_lives (
            terminal TEXT NOT NULL,
            journal_id TEXT NOT NULL,
            life INTEGER NOT NULL,
            started_at TEXT NOT NULL,
            PRIMARY KEY (terminal, journal_id)
        )""",
    ],
    # (issue 20) one outbound delivery queue (host/delivery/): webhook deliveries are
    # claimed with a lease like the notifications (the claim's token, its process's name
    # first); their rows and states stay as they were
    [
        "ALTER TABLE webhook_deliveries ADD COLUMN claim TEXT",
        "CREATE INDEX IF NOT EXISTS webhook_deliveries_claim ON webhook_deliveries (claim)",
    ],
    # (issue 21, wt-alerts) a terminal's mode as its telemetry last said and since when it
    # says it, and whether its printer has a problem and since when (host/fleet.py: the
    # "since" and the grace of the pt_down, fault, in_doubt and printer_problem alerts)
    [
        "ALTER TABLE terminals ADD COLUMN mode TEXT",
        "ALTER TABLE terminals ADD COLUMN mode_since TEXT",
        "ALTER TABLE terminals ADD COLUMN printer_state TEXT",
        "ALTER TABLE terminals ADD COLUMN printer_since TEXT",
    ],
    # (issue 21, wt-alerts) an alert acknowledged (who, when, a note) and muted until a
    # time (host/alerts/acks.py); a mute outlives the alert: the same condition raised
    # again within it is muted too
    [
        "ALTER TABLE alerts ADD COLUMN acked_at TEXT",
        "ALTER TABLE alerts ADD COLUMN acked_by TEXT",
        "ALTER TABLE alerts ADD COLUMN ack_note TEXT",
        "ALTER TABLE alerts ADD COLUMN muted_until TEXT",
        "ALTER TABLE alerts ADD COLUMN muted_by TEXT",
    ],
    # enrolment (wt-enrol): one-time codes (only their SHA-256 is kept) with the terminal id,
    # site and tags they give; used_at, the CSR key's fingerprint and the certificate's
    # serial once redeemed (old_serials: those renewals replaced, JSON, still listed in the
    # CRL on a revoke); revoked_at when the terminal is revoked
    [
        """CREATE TABLE IF NOT EXISTS enrolments (
            code_sha256 TEXT PRIMARY KEY,
            terminal TEXT NOT NULL UNIQUE,
            site TEXT,
            tags TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            used_at TEXT,
            key_sha256 TEXT,
            cert_serial TEXT,
            old_serials TEXT NOT NULL DEFAULT '[]',
            revoked_at TEXT
        )""",
    ],
    # (issue 24, wt-pubhost) how often the customer opened a refund's status page, and when
    # last (host/public/opens.py); the dashboard's refunds page shows it
    [
        """CREATE TABLE IF NOT EXISTS public_opens (
            terminal TEXT NOT NULL,
            txn_id TEXT NOT NULL,
            opens BIGINT NOT NULL,
            last_at TEXT NOT NULL,
            PRIMARY KEY (terminal, txn_id)
        )""",
    ],
    # the Pi's health over time in the telemetry history, for the terminal page's plots
    # (wt-health, host/history.py): throttled_now as its words joined by commas,
    # clock_synchronized 1 or 0, NULL where the terminal told nothing (not a Pi)
    [
        "ALTER TABLE telemetry_history ADD COLUMN cpu_temp_c DOUBLE PRECISION",
        "ALTER TABLE telemetry_history ADD COLUMN throttled_now TEXT",
        "ALTER TABLE telemetry_history ADD COLUMN disk_free_bytes BIGINT",
        "ALTER TABLE telemetry_history ADD COLUMN clock_synchronized INTEGER",
    ],
    # (issue 21, wt-search) the fleet-wide receipt search (host/lookup.py `find` without a
    # terminal) reads the outcome events of a time range by type and occurred_at
    [
        "CREATE INDEX IF NOT EXISTS events_type_occurred ON events (type, occurred_at)",
    ],
    # (issue 23, wt-ingest) the double-charge rule reads each new sale's card AND amount
    # (host/alerts/reads.py): with the amount in the index, the other sales of the same
    # card (a masked PAN many sales share) are not read one by one to compare amounts
    [
        "DROP INDEX IF EXISTS events_card",
        "CREATE INDEX IF NOT EXISTS events_card_amount"
        " ON events (terminal, masked_pan, amount_minor, occurred_at)",
    ],
    # (issue 23, wt-tick) leases: which of the processes sharing the database runs the
    # time-based alert rules (host/alerts/lease.py): its holder, until when
    [
        """CREATE TABLE IF NOT EXISTS leases (
            name TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            expires_at TEXT NOT NULL
        )""",
    ],
    # (issue 23, wt-tick) each terminal's last approved sale, kept at ingest (Store.ingest)
    # instead of a subquery per terminal in Store.fleet; filled from the events stored
    [
        "ALTER TABLE terminals ADD COLUMN last_sale_at TEXT",
        "UPDATE terminals SET last_sale_at = (SELECT MAX(e.occurred_at) FROM events e"
        " WHERE e.terminal = terminals.terminal AND e.type = 'sale.approved')",
    ],
    # (issue 23, wt-notify2) the ingest only keeps a refund's contact and counts up its
    # `news` when the refund's outcome or receipt arrives; the sender process looks at the
    # contacts with news and queues the notifications of those now final
    # (host/notify/promote.py). Contacts kept before: looked at once (news 1)
    ["ALTER TABLE contacts ADD COLUMN news INTEGER NOT NULL DEFAULT 1"],
    # (issue 23) on SQLite, contacts in one B-tree, their key's (WITHOUT ROWID), not a rowid
    # table beside its key's index: a refund burst writes one page path per contact, not
    # two (PostgreSQL's tables have no rowid)
    {
        "sqlite": [
            """CREATE TABLE contacts_keyed (
                terminal TEXT NOT NULL,
                txn_id TEXT NOT NULL,
                contact TEXT NOT NULL,
                received_at TEXT NOT NULL,
                news INTEGER NOT NULL DEFAULT 1,
                PRIMARY KEY (terminal, txn_id)
            ) WITHOUT ROWID""",
            "INSERT INTO contacts_keyed (terminal, txn_id, contact, received_at, news)"
            " SELECT terminal, txn_id, contact, received_at, news FROM contacts",
            "DROP TABLE contacts",
            "ALTER TABLE contacts_keyed RENAME TO contacts",
        ],
        "postgresql": [],
    },
]


def migrate(db: Database) -> int:
    """Bring the schema up to date; the version it is at."""
    with db.tx() as tx:
        if db.dialect == "postgresql":  # two processes' CREATE … IF NOT EXISTS collide
            tx.rows("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
        tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (id INTEGER PRIMARY KEY,"
            " version INTEGER NOT NULL)"
        )
        tx.execute(
            "INSERT INTO schema_version (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING"
        )
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
        raise DatabaseError(
            f"{db.where}: schema version {version} is newer than this"
            f" posterm-host ({len(MIGRATIONS)}); upgrade posterm-host"
        )
    return version


def _version(tx: Tx, dialect: str) -> int:
    lock = " FOR UPDATE" if dialect == "postgresql" else ""
    return int(tx.rows(f"SELECT version FROM schema_version WHERE id = 1{lock}")[0]["version"])

"""The journal: SQLite store of transactions, receipts, the audit trail and the outbox;
its reads, row types, card-data guard and schema migrations."""

"""Who runs the time-based alert rules when several `posterm-host run` processes share one
database (`[mqtt] share_group`, `run --instance N`): one of them, holding a lease (a row
of table `leases`: its holder and until when). The holder renews it each time it runs
the rules; another takes it only once it has expired, so an instance that dies is
replaced after at most one lease time. Taking and renewing are one UPDATE … WHERE
expired OR held by me: two processes racing for it cannot both win."""

from __future__ import annotations

from posterm.host.db import Database


class Lease:
    def __init__(self, db: Database, holder: str, name: str = "alerts.tick") -> None:
        self.db, self.holder, self.name = db, holder, name

    def hold(self, now: str, until: str) -> bool:
        """Take or renew the lease until `until` (RFC 3339 like `now`); True if this
        process holds it now."""
        with self.db.tx() as tx:
            tx.execute(
                "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO NOTHING",
                (self.name, self.holder, until),
            )
            taken: int = tx.execute(
                "UPDATE leases SET holder = ?, expires_at = ?"
                " WHERE name = ? AND (expires_at <= ? OR holder = ?)",
                (self.holder, until, self.name, now, self.holder),
            )
        return taken > 0

    def release(self) -> None:
        """Give the lease up (a process stopping): the next instance need not wait."""
        with self.db.tx() as tx:
            tx.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (self.name, self.holder))

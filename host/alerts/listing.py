"""Alerts as the CLI, the dashboard and the metrics read them: counts by kind, a page of
them worst first (moved out of `host/alerts/engine.py`, which re-exports them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from posterm.host.alerts import acks, rules
from posterm.host.db import DatabaseError
from posterm.host.store import Store, StoreError
from posterm.protocol.mqtt.events import rfc3339


def utc_now() -> datetime:
    return datetime.now(UTC)


def open_counts(store: Store, now: str | None = None) -> dict[str, int]:
    """Open alerts by kind (every kind, 0 included), not counting those muted at `now`."""
    return _counts(store, "(muted_until IS NULL OR muted_until <= ?)", now)


def muted_counts(store: Store, now: str | None = None) -> dict[str, int]:
    """Open alerts muted at `now`, by kind (every kind, 0 included)."""
    return _counts(store, "muted_until > ?", now)


def _counts(store: Store, muted: str, now: str | None) -> dict[str, int]:
    counts = dict.fromkeys(rules.KINDS, 0)
    for row in store.db.rows(
        f"SELECT kind, COUNT(*) AS n FROM alerts WHERE cleared_at IS NULL AND {muted}"
        " GROUP BY kind",
        (now or rfc3339(utc_now()),),
    ):
        counts[row["kind"]] = int(row["n"])
    return counts


def _where(open_only: bool, terminal: str | None) -> tuple[str, list[Any]]:
    where, args = ["1 = 1"], []
    if open_only:
        where.append("cleared_at IS NULL")
    if terminal is not None:
        where.append("terminal = ?")
        args.append(terminal)
    return " AND ".join(where), args


def listing(
    store: Store,
    *,
    open_only: bool = False,
    terminal: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    now: str | None = None,
) -> list[dict[str, Any]]:
    """Alerts worst first (`alerts.SEVERITY`, named in `severity`), then newest first, for
    `posterm-host alerts`, `fleet` and the dashboard: all of them, or a page of `limit`
    from `offset` (`count` says how many there are in all)."""
    where, args = _where(open_only, terminal)
    rank = " ".join(f"WHEN '{kind}' THEN {n}" for kind, n in rules.SEVERITY.items())
    page = "" if limit is None else f" LIMIT {int(limit)} OFFSET {int(offset)}"
    try:
        rows = store.db.rows(
            f"SELECT * FROM alerts WHERE {where} ORDER BY CASE kind {rank} ELSE"
            f" {len(rules.SEVERITY_NAMES) - 1} END, raised_at DESC, alert_id DESC{page}",
            args,
        )
    except DatabaseError as exc:
        raise StoreError(str(exc)) from exc
    return [acks.shown(r, now) for r in rows]  # muted: as of `now` (else the clock's)


def count(store: Store, *, open_only: bool = False, terminal: str | None = None) -> int:
    """How many alerts `listing` has in all (to say how many more than a page shows)."""
    where, args = _where(open_only, terminal)
    try:
        rows = store.db.rows(f"SELECT COUNT(*) AS n FROM alerts WHERE {where}", args)
    except DatabaseError as exc:
        raise StoreError(str(exc)) from exc
    return int(rows[0]["n"])


severity = acks.severity

"""The fleet's telemetry over time, for the dashboard's plots: a row per telemetry message
(outbox depth and age, pending receipts, in-doubt operations, paper, PT link, printer, and
the Pi's health: CPU temperature, throttling now, disk free, clock synchronised), written
with the terminal's latest telemetry and pruned after `KEEP_S`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from posterm.host.db import Tx
from posterm.protocol.mqtt.events import rfc3339

KEEP_S = 48 * 3600.0
COLUMNS = (
    "outbox_depth",
    "oldest_unsent_age_s",
    "pending_receipts",
    "in_doubt",
    "paper",
    "pt_link",
    "printer",
    "version",
    "cpu_temp_c",
    "throttled_now",
    "disk_free_bytes",
    "clock_synchronized",
)
_NUMBERS = (
    "outbox_depth",
    "oldest_unsent_age_s",
    "pending_receipts",
    "in_doubt",
    "cpu_temp_c",
    "disk_free_bytes",
)


def _value(telemetry: dict[str, Any], key: str) -> Any:
    """The column's value: a number, a short text, None where the terminal told nothing
    usable; `throttled_now` as its words joined by commas ("" for none now), and
    `clock_synchronized` as 1 or 0."""
    value = telemetry.get(key)
    if key == "throttled_now":
        if not isinstance(value, list) or not all(isinstance(w, str) for w in value):
            return None
        return ",".join(value)[:200]
    if key == "clock_synchronized":
        return int(value) if isinstance(value, bool) else None
    if key in _NUMBERS:
        if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) < 2**62:
            return value
        return None
    return value[:200] if isinstance(value, str) else None


def record(tx: Tx, tid: str, telemetry: dict[str, Any], at: str) -> None:
    """Inside the transaction that keeps the terminal's latest telemetry; drops the
    terminal's rows older than `KEEP_S`."""
    tx.execute(
        f"INSERT INTO telemetry_history (terminal, at, {', '.join(COLUMNS)})"
        f" VALUES (?, ?{', ?' * len(COLUMNS)})",
        (tid, at, *(_value(telemetry, k) for k in COLUMNS)),
    )
    cutoff = rfc3339(datetime.fromisoformat(at) - timedelta(seconds=KEEP_S))
    tx.execute("DELETE FROM telemetry_history WHERE terminal = ? AND at < ?", (tid, cutoff))


_PG_TYPES = {  # the columns' types (migrations 5 and the Pi's health), for `unnest`
    "outbox_depth": "bigint",
    "oldest_unsent_age_s": "float8",
    "pending_receipts": "bigint",
    "in_doubt": "bigint",
    "cpu_temp_c": "float8",
    "disk_free_bytes": "bigint",
    "clock_synchronized": "int",
}
CHUNK = 1000  # rows per SQLite statement (14 values each: under its 32766 variables)


def record_many(tx: Tx, dialect: str, seen: Sequence[tuple[str, dict[str, Any], str]]) -> None:
    """`record` for many (terminal, telemetry, at) at once, in two statements (per CHUNK
    rows on SQLite): the rows in one INSERT, then each terminal's rows older than `KEEP_S`
    before its latest `at` dropped in one DELETE (what one DELETE per row dropped)."""
    if not seen:
        return
    rows = [(tid, at, *(_value(t, k) for k in COLUMNS)) for tid, t, at in seen]
    cutoffs: dict[str, str] = {}
    for tid, _, at in seen:
        cutoff = rfc3339(datetime.fromisoformat(at) - timedelta(seconds=KEEP_S))
        cutoffs[tid] = max(cutoff, cutoffs.get(tid, cutoff))
    names = f"terminal, at, {', '.join(COLUMNS)}"
    if dialect == "postgresql":
        types = ", ".join(f"?::{_PG_TYPES.get(k, 'text')}[]" for k in ("terminal", "at", *COLUMNS))
        columns = [list(c) for c in zip(*rows, strict=True)]
        for i, k in enumerate(COLUMNS, start=2):  # an int where a float is kept, and back:
            if _PG_TYPES.get(k) == "float8":  # one Python type per array
                columns[i] = [None if v is None else float(v) for v in columns[i]]
            elif _PG_TYPES.get(k) in ("bigint", "int"):
                columns[i] = [None if v is None else round(v) for v in columns[i]]
        tx.execute(
            f"INSERT INTO telemetry_history ({names}) SELECT * FROM unnest({types})", columns
        )
        tx.execute(
            "DELETE FROM telemetry_history h USING unnest(?::text[], ?::text[]) AS"
            " c(terminal, cutoff) WHERE h.terminal = c.terminal AND h.at < c.cutoff",
            [list(c) for c in zip(*sorted(cutoffs.items()), strict=True)],
        )
        return
    marks = f"({', '.join('?' for _ in ('terminal', 'at', *COLUMNS))})"
    for i in range(0, len(rows), CHUNK):
        chunk = rows[i : i + CHUNK]
        tx.execute(
            f"INSERT INTO telemetry_history ({names}) VALUES {', '.join([marks] * len(chunk))}",
            [v for row in chunk for v in row],
        )
    pairs = sorted(cutoffs.items())
    for i in range(0, len(pairs), CHUNK):
        chunk = pairs[i : i + CHUNK]
        tx.execute(
            f"WITH c(terminal, cutoff) AS (VALUES {', '.join(['(?, ?)'] * len(chunk))})"
            " DELETE FROM telemetry_history WHERE terminal IN (SELECT terminal FROM c) AND"
            " at < (SELECT cutoff FROM c WHERE c.terminal = telemetry_history.terminal)",
            [v for pair in chunk for v in pair],
        )


def since(hours: float, now: datetime | None = None) -> str:
    return rfc3339((now or datetime.now(UTC)) - timedelta(hours=hours))

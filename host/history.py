"""The fleet's telemetry over time, for the dashboard's plots: a row per telemetry message
(outbox depth and age, pending receipts, in-doubt operations, paper, PT link, printer, and
the Pi's health: CPU temperature, throttling now, disk free, clock synchronised), written
with the terminal's latest telemetry and pruned after `KEEP_S`."""

from __future__ import annotations

import json
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


_PG_TYPES = {  # the columns' types (migrations 5 and the Pi's health), for PostgreSQL
    "outbox_depth": "bigint",
    "oldest_unsent_age_s": "float8",
    "pending_receipts": "bigint",
    "in_doubt": "bigint",
    "cpu_temp_c": "float8",
    "disk_free_bytes": "bigint",
    "clock_synchronized": "int",
}
CHUNK = 1000  # rows per SQLite statement (14 values each: under its 32766 variables)


def _cutoffs(seen: Sequence[tuple[str, dict[str, Any], str]]) -> dict[str, str]:
    """Per terminal: its rows before this are dropped (`KEEP_S` before its latest `at`)."""
    cutoffs: dict[str, str] = {}
    for tid, _, at in seen:
        cutoff = rfc3339(datetime.fromisoformat(at) - timedelta(seconds=KEEP_S))
        cutoffs[tid] = max(cutoff, cutoffs.get(tid, cutoff))
    return cutoffs


def pg_parts(seen: Sequence[tuple[str, dict[str, Any], str]]) -> tuple[list[str], list[str]]:
    """`record` for many (terminal, telemetry, at) on PostgreSQL, as two parts of one
    data-modifying WITH (host/telemetry.py) and their two JSON arguments: the rows in one
    INSERT (`jsonb_to_recordset`: one parameter, no array quoting per value), the pruning
    in one DELETE. The parts of one statement do not see each other's rows, so a row
    already older than its terminal's cutoff is not inserted (one DELETE per row dropped
    it)."""
    cutoffs = _cutoffs(seen)
    rows = []
    for tid, telemetry, at in seen:
        if at < cutoffs[tid]:
            continue
        row: dict[str, Any] = {"terminal": tid, "at": at}
        for k in COLUMNS:
            v = _value(telemetry, k)
            if v is not None and _PG_TYPES.get(k) == "float8":
                v = float(v)
            elif v is not None and _PG_TYPES.get(k) in ("bigint", "int"):
                v = round(v)  # as the assignment cast of a float parameter did
            row[k] = v
        rows.append(row)
    typed = ", ".join(f"{k} {_PG_TYPES.get(k, 'text')}" for k in ("terminal", "at", *COLUMNS))
    names = f"terminal, at, {', '.join(COLUMNS)}"
    parts = [
        f"h_in AS (INSERT INTO telemetry_history ({names}) SELECT {names} FROM"
        f" jsonb_to_recordset(?::jsonb) AS h({typed}))",
        "h_out AS (DELETE FROM telemetry_history h USING jsonb_to_recordset(?::jsonb) AS"
        " c(terminal text, cutoff text) WHERE h.terminal = c.terminal AND h.at < c.cutoff)",
    ]
    args = [
        json.dumps(rows),
        json.dumps([{"terminal": t, "cutoff": c} for t, c in sorted(cutoffs.items())]),
    ]
    return parts, args


def record_many(tx: Tx, seen: Sequence[tuple[str, dict[str, Any], str]]) -> None:
    """`record` for many (terminal, telemetry, at) at once on SQLite, in two statements
    per CHUNK rows: the rows in one INSERT, then each terminal's rows older than `KEEP_S`
    before its latest `at` dropped in one DELETE (what one DELETE per row dropped)."""
    if not seen:
        return
    rows = [(tid, at, *(_value(t, k) for k in COLUMNS)) for tid, t, at in seen]
    names = f"terminal, at, {', '.join(COLUMNS)}"
    marks = f"({', '.join('?' for _ in ('terminal', 'at', *COLUMNS))})"
    for i in range(0, len(rows), CHUNK):
        chunk = rows[i : i + CHUNK]
        tx.execute(
            f"INSERT INTO telemetry_history ({names}) VALUES {', '.join([marks] * len(chunk))}",
            [v for row in chunk for v in row],
        )
    pairs = sorted(_cutoffs(seen).items())
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

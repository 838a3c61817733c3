"""The fleet's telemetry over time, for the dashboard's plots: a row per telemetry message
(outbox depth and age, pending receipts, in-doubt operations, paper, PT link, printer, and
the Pi's health: CPU temperature, throttling now, disk free, clock synchronised), written
with the terminal's latest telemetry and pruned after `KEEP_S`."""

from __future__ import annotations

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


def since(hours: float, now: datetime | None = None) -> str:
    return rfc3339((now or datetime.now(UTC)) - timedelta(hours=hours))

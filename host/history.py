"""The fleet's telemetry over time, for the dashboard's plots: a row per telemetry message
(outbox depth and age, pending receipts, in-doubt operations, paper, PT link, printer),
written with the terminal's latest telemetry and pruned after `KEEP_S`."""

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
)
_NUMBERS = ("outbox_depth", "oldest_unsent_age_s", "pending_receipts", "in_doubt")


def _value(telemetry: dict[str, Any], key: str) -> Any:
    value = telemetry.get(key)
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

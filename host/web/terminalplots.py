"""The terminal page's plots over the range the operator picks (`RANGES`): the Pi's health
(CPU temperature, under-voltage and throttling, disk free, clock synchronised) and the
terminal's paper, PT link and outbox, from the telemetry history (host/history.py), each
drawn over the real range of its points."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from markupsafe import Markup

from posterm.host import history, lookup
from posterm.host.store import Store
from posterm.host.web import plots
from posterm.protocol.errorcodes import ErrorCode

# what the picker offers; the history keeps 48 hours (history.KEEP_S), no more is offered
RANGES = {"1h": 1.0, "6h": 6.0, "24h": 24.0, "48h": 48.0}
DEFAULT_RANGE = "6h"
GB = 1_000_000_000
POWER_LEVELS = {"ok": 2.0, "throttled": 1.0, "under-voltage": 0.0}
CLOCK_LEVELS = {"synced": 1.0, "not synced": 0.0}

Row = dict[str, Any]


def pick_range(text: str | None) -> str:
    """The picker's `range` parameter; none: DEFAULT_RANGE; another: a bad request."""
    if text is None:
        return DEFAULT_RANGE
    if text not in RANGES:
        raise lookup.LookupFailed(ErrorCode.BAD_REQUEST, f"range: one of {', '.join(RANGES)}", 2)
    return text


def power(row: Row) -> float | None:
    """Under-voltage now (the worst), another throttling word now, or none (ok)."""
    words = row["throttled_now"]
    if words is None:
        return None
    if "under_voltage" in words.split(","):
        return POWER_LEVELS["under-voltage"]
    return POWER_LEVELS["throttled" if words else "ok"]


def _number(key: str, scale: float = 1.0) -> Callable[[Row], float | None]:
    return lambda row: None if row[key] is None else float(row[key]) / scale


def _level(key: str, levels: dict[str, float]) -> Callable[[Row], float | None]:
    return lambda row: levels.get(row[key]) if isinstance(row[key], str) else None


def _clock(row: Row) -> float | None:
    value = row["clock_synchronized"]
    return None if value is None else float(bool(value))


def build(store: Store, tid: str, range_name: str, now: datetime | None = None) -> dict[str, Any]:
    """{"range", "ranges", "first", "last", "points", "plots": [(caption, svg)]}: the
    terminal's history in the picked range (`pick_range`) up to `now`."""
    rows = store.telemetry_history(tid, history.since(RANGES[range_name], now))

    def plot(
        caption: str, value: Callable[[Row], float | None], **style: Any
    ) -> tuple[str, Markup]:
        points = [(r["at"], value(r)) for r in rows]
        return caption, plots.steps(points, f"{tid}: {caption.lower()}", **style)

    paper_ticks = {"ok": 2.0, "near end": 1.0, "out": 0.0}
    link_ticks = {"up": 1.0, "down": 0.0}
    return {
        "range": range_name,
        "ranges": list(RANGES),
        "first": rows[0]["at"] if rows else None,
        "last": rows[-1]["at"] if rows else None,
        "points": len(rows),
        "plots": [
            plot("CPU temperature", _number("cpu_temp_c"), bottom=None, unit=" °C"),
            plot("Under-voltage, throttling", power, top=2, ticks=POWER_LEVELS),
            plot("Disk free", _number("disk_free_bytes", GB), unit=" GB"),
            plot("Clock", _clock, top=1, ticks=CLOCK_LEVELS),
            plot("Paper", _level("paper", plots.PAPER_LEVELS), top=2, ticks=paper_ticks),
            plot("PT link", _level("pt_link", plots.LINK_LEVELS), top=1, ticks=link_ticks),
            plot("Outbox depth", _number("outbox_depth")),
        ],
    }

"""The Pi's health rules, pure like host/alerts/rules.py, over the health of each fleet row
(its latest telemetry, host/fleet.py `health`): `pi_hot` (CPU at or over `cpu_temp_c`),
`pi_power` (under-voltage or throttling now), `pi_disk` (less than `disk_free_mb` free),
`pi_clock` (the clock not synchronised once postermd has run `clock_s`: receipts and
events carry wrong times; NTP needs a while after a boot). A value the
terminal does not tell (not a Pi) raises nothing. Not for a terminal offline."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from posterm.host.alerts.rules import Finding, Limits
from posterm.host.fleet import finite

MB = 1_000_000


def findings(fleet: Iterable[dict[str, Any]], limits: Limits, now: str) -> list[Finding]:
    """Every terminal's (`Store.fleet()` rows as of `now`)."""
    del now  # level rules of the latest telemetry: no grace
    return [found for t in fleet for found in terminal_findings(t, limits)]


def terminal_findings(t: dict[str, Any], limits: Limits) -> list[Finding]:
    if t["state"] not in ("online", "stale"):
        return []
    tid, health, out = t["terminal"], t.get("health") or {}, []
    at = {"telemetry_at": t["telemetry_at"]}
    temp = finite(health.get("cpu_temp_c"), -1.0, 200.0)
    if health.get("cpu_temp_c") is not None and temp >= limits.cpu_temp_c:
        out.append(
            Finding("pi_hot", tid, "", {**at, "cpu_temp_c": temp, "limit": limits.cpu_temp_c})
        )
    throttled = health.get("throttled_now")
    if isinstance(throttled, list) and throttled:
        out.append(Finding("pi_power", tid, "", {**at, "throttled_now": throttled}))
    free = health.get("disk_free_bytes")
    if free is not None and finite(free, -1.0) < limits.disk_free_mb * MB:
        detail = {**at, "disk_free_bytes": free, "limit_bytes": limits.disk_free_mb * MB}
        out.append(Finding("pi_disk", tid, "", detail))
    uptime = finite(health.get("uptime_s"), 0.0)
    if health.get("clock_synchronized") is False and uptime >= limits.clock_s:
        out.append(Finding("pi_clock", tid, "", {**at, "uptime_s": uptime}))
    return out

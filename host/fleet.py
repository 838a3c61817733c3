"""A terminal's state as the back office sees it, from its `terminals` row: online or
offline from the retained status (the store keeps only the newest session's), stale when
its telemetry has been silent for 3 of its periods (the telemetry's own `period_s`, else
`[host] stale_after_s` as a whole), what its last telemetry said, whether it can take
payments and why not (`payments`), and the Pi's health (`health`)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

STALE_PERIODS = 3
TELEMETRY_KEYS = (
    "mode",
    "reason",
    "selling",
    "pt_link",
    "printer",
    "paper",
    "outbox_depth",
    "oldest_unsent_age_s",
    "pending_receipts",
    "in_doubt",
    "awaiting_approval",
    "version",
)
HEALTH_KEYS = (
    "cpu_temp_c",
    "throttled_now",
    "throttled_since_boot",
    "disk_free_bytes",
    "clock_synchronized",
    "uptime_s",
)
SELLING_MODES = ("ready", "busy")  # the modes that take payments (busy: one is running)
MODE_WHY = {
    "pt_down": "PT down",
    "fault": "fault",
    "in_doubt": "in doubt",
    "starting": "starting",
    "recovering": "recovering in-doubt operations",
}


def seconds(start: str | None, end: str) -> float | None:
    """Seconds from one RFC 3339 time to another (None without a start)."""
    if start is None:
        return None
    try:
        return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except (TypeError, ValueError):  # malformed, or one with a zone and one without
        return None


def finite(value: Any, default: float, most: float = 1e12) -> float:
    """A number from a stored message as a float in [0, most], else `default`: rows stored
    before the wire schemas may hold a 400-digit integer, NaN or a string."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    try:
        number = float(value)
    except OverflowError:
        return default
    return number if 0 <= number <= most else default


def stale_limit(telemetry: dict[str, Any], stale_after_s: float) -> float:
    """How long telemetry may be silent: 3 periods of the terminal's own, else the default."""
    period = finite(telemetry.get("period_s"), 0.0, 86_400.0)
    return STALE_PERIODS * period if period > 0 else stale_after_s


def describe(
    row: dict[str, Any],
    gap_since: str | None,
    last_sale_at: str | None,
    now: str,
    stale_after_s: float,
    *,
    in_doubt_txns: list[str] | None = None,
) -> dict[str, Any]:
    """`state`: online, stale (online by its status, telemetry silent), offline, or unknown
    (no status yet). `gap_since`: when a seq past a missing one arrived (None: no gap).
    `in_doubt_txns`: its in-doubt operations the host has no outcome of yet."""
    tele = json.loads(row["telemetry"]) if row.get("telemetry") else {}
    silent = seconds(row.get("telemetry_at"), now)
    limit = stale_limit(tele, stale_after_s)
    if row.get("session") is None:
        state = "unknown"
    elif not row["online"]:
        state = "offline"
    elif silent is None:  # no telemetry since it came online: silent since its birth
        since = seconds(row.get("status_at"), now)
        state = "stale" if since is not None and since > limit else "online"
    else:
        state = "stale" if silent > limit else "online"
    out: dict[str, Any] = {
        "terminal": row["terminal"],
        "state": state,
        "online": bool(row["online"]),
        "stale": state == "stale",
        "session": row["session"],
        "status_since": row.get("status_at"),
        "last_seen": row["last_seen"],
        "telemetry_at": row.get("telemetry_at"),
        "stale_after_s": limit,
        "contiguous_seq": row["contiguous_seq"],
        "gap_at": None if gap_since is None else int(row["contiguous_seq"]) + 1,
        "gap_since": gap_since,
        "last_sale_at": last_sale_at,
        "life": row.get("life") or 0,
        "reset_at": row.get("reset_at"),
    }
    for key in TELEMETRY_KEYS:
        out[key] = tele.get(key)
    out["mode_since"] = row.get("mode_since")
    out["printer_since"] = row.get("printer_since")  # since when its printer_state holds
    out["printer_state"] = printer_state(tele.get("printer"))
    out["in_doubt_txns"] = list(in_doubt_txns or [])
    out["payments"] = payments(
        state,
        tele,
        out["in_doubt_txns"],
        row.get("telemetry_at"),
        out["printer_state"],
        terminal=row["terminal"],
    )
    out["health"] = {key: tele.get(key) for key in HEALTH_KEYS}
    return out


def printer_state(text: Any) -> str:
    """ "ok" (online, paper ok or near its end), "paper_out", "problem" (offline, cover
    open, error, no valid answer) or "unknown" (no printer status told)."""
    if not isinstance(text, str) or not text:
        return "unknown"
    if "cover open" in text or "error" in text or not text.startswith("online"):
        return "problem"
    return "paper_out" if "paper out" in text else "ok"


def payments(
    state: str,
    tele: dict[str, Any],
    in_doubt_txns: list[str],
    telemetry_at: str | None,
    printer: str = "unknown",
    *,
    terminal: str = "TERMINAL",
) -> dict[str, Any]:
    """Can the terminal take payments now, and why not, the one place this is decided (the
    CLI and the dashboard show it): {"ok": bool, "level": str, "why": str}. `level`: yes,
    warn (it takes payments, but its receipts are held: printer out of paper or in trouble;
    DESIGN rule 3 prints them when it is back), no (its mode takes no new money operation)
    or unknown (offline, silent, never seen: its last word is not now). From its connection
    state, then its mode and reason, then its printer (`printer_state`)."""
    mode, reason = tele.get("mode"), tele.get("reason")
    if state == "unknown":
        return {"ok": False, "level": "unknown", "why": "never connected"}
    if state == "offline":
        return {"ok": False, "level": "unknown", "why": "offline"}
    if not isinstance(mode, str):
        return {"ok": False, "level": "unknown", "why": "no telemetry yet"}
    if state == "stale":
        return {"ok": False, "level": "unknown", "why": f"no telemetry since {telemetry_at}"}
    if mode in SELLING_MODES:
        held = {"paper_out": "printer out of paper", "problem": "printer in trouble"}
        if printer in held or tele.get("paper") == "out":
            trouble = held.get(printer, "printer out of paper")
            return {"ok": True, "level": "warn", "why": f"takes payments; {trouble}, receipts held"}
        return {"ok": True, "level": "yes", "why": "takes payments"}
    why = MODE_WHY.get(mode, mode)
    if mode == "in_doubt" and in_doubt_txns:
        txns = ", ".join(in_doubt_txns)
        first = in_doubt_txns[0]
        why = (
            f"in doubt: {txns}; next: posterm resolve {first} on the terminal or"
            f" posterm-host resolve {terminal} {first} charged|not-charged, after checking the PT"
        )
    if isinstance(reason, str) and reason and reason != mode:
        why = f"{why} ({reason})"
    return {"ok": False, "level": "no", "why": why}

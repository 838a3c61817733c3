"""What the terminal tells the fleet every `mqtt.telemetry_s` (docs/mqtt.md): the PT link,
printer and paper, mode and why, the outbox, receipts, in-doubt operations, refunds that
wait, journal size, disk, uptime, version, and the machine's health (`daemon/health.py`):
clock synchronised, under-voltage and throttling, CPU temperature."""

from __future__ import annotations

import re
import time
from typing import Any

from posterm.daemon.journal.retention import disk_free, journal_size
from posterm.daemon.journal.store import Journal
from posterm.daemon.states import Mode
from posterm.protocol.mqtt.events import now_rfc3339


def telemetry(
    status: dict[str, Any],
    journal: Journal,
    *,
    started: float,
    version: str,
    period_s: float | None = None,
) -> dict[str, Any]:
    """`status` is the terminal's own snapshot (`Terminal.status()`); `period_s` is how
    often it is sent (the host calls a terminal stale after 3 periods of silence)."""
    age = journal.oldest_unsent_age()
    mode = status["state"]
    health = status.get("health") or {}
    throttled = health.get("throttled")
    return {
        "ts": now_rfc3339(),
        "terminal": status["terminal"],
        "period_s": period_s,
        "mode": mode,
        "reason": status["reason"],
        "selling": status["selling"],
        "pt_link": "down" if mode == str(Mode.PT_DOWN) else "up",
        "printer": status["printer"],
        "paper": _paper(status["printer"]),
        "outbox_depth": journal.outbox_depth(),
        "oldest_unsent_age_s": None if age is None else round(age, 1),
        "pending_receipts": status["pending_receipts"],
        "in_doubt": status["in_doubt"],
        "awaiting_approval": len(status["awaiting_approval"]),
        "journal_bytes": journal_size(journal.path),
        "disk_free_bytes": disk_free(journal.path),
        "uptime_s": round(time.monotonic() - started, 1),
        "version": version,
        "cpu_temp_c": health.get("cpu_temp_c"),
        "clock_synchronized": (health.get("clock") or {}).get("synchronized"),
        # None: unknown (not a Pi); else what holds now, e.g. ["under_voltage"]
        "throttled_now": None if throttled is None else throttled["now"],
        "throttled_since_boot": None if throttled is None else throttled["since_boot"],
        "update_lock": status.get("update_lock"),
    }


def _paper(printer: str) -> str:
    """ok, near_end, out or unknown, from the printer's status text."""
    found = re.search(r"paper (\w+)", printer)
    return found.group(1) if found else "unknown"

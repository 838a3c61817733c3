"""The rules of a terminal that cannot take payments, pure like host/alerts/rules.py:
`pt_down` and `fault` once its telemetry's mode has said so for their grace, `in_doubt`
at once when its mode says so and the host knows no operation in doubt (those are alerted
by transaction), `printer_problem` once its printer has been offline, open, in error or
silent for its grace. "since" is when the condition began (host/fleet.py `mode_since`,
`printer_since`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from posterm.host.alerts.names import next_step
from posterm.host.alerts.rules import Finding, Limits
from posterm.host.fleet import seconds

MODE_KINDS = {"pt_down": "pt_down", "fault": "fault"}  # telemetry mode -> alert kind


def findings(fleet: Iterable[dict[str, Any]], limits: Limits, now: str) -> list[Finding]:
    """Every terminal's (`Store.fleet()` rows as of `now`)."""
    return [found for t in fleet for found in mode_findings(t, limits, now)]


def mode_findings(t: dict[str, Any], limits: Limits, now: str) -> list[Finding]:
    """A terminal that cannot take payments: pt_down or fault past its grace, in doubt with
    no operation the host knows of (those are alerted by transaction), a printer problem
    past its grace. Not for one offline (terminal_offline says it)."""
    if t["state"] not in ("online", "stale"):
        return []
    tid, mode, out = t["terminal"], t["mode"], []
    since = t.get("mode_since") or t["telemetry_at"]
    held = seconds(since, now)
    kind = MODE_KINDS.get(str(mode))
    if kind is not None and held is not None:
        grace = limits.pt_down_s if kind == "pt_down" else limits.fault_s
        if held > grace:
            out.append(Finding(kind, tid, "", {"since": since, "reason": t["reason"]}))
    if mode == "in_doubt" and not t.get("in_doubt_txns"):
        detail = {"since": since, "reason": t["reason"], "next_step": next_step(None)}
        out.append(Finding("in_doubt", tid, "", detail))
    if t.get("printer_state") == "problem":
        printer_since = t.get("printer_since") or t["telemetry_at"]
        bad = seconds(printer_since, now)
        if bad is not None and bad > limits.printer_s:
            detail = {"since": printer_since, "printer": t["printer"]}
            out.append(Finding("printer_problem", tid, "", detail))
    return out

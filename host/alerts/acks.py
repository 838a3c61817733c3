"""An operator's word on an alert: acknowledged (who, when, a note: "someone is on it") or
muted until a time (no webhook for it, and the same condition raised again before then is
muted too). The CLI (`posterm-host alerts ack|mute`) and the dashboard's API call these."""

from __future__ import annotations

import json
import re
from typing import Any

from posterm.host.alerts import names, rules
from posterm.host.alerts.rules import Finding, later
from posterm.host.db import DatabaseError, Tx
from posterm.host.store import Store, StoreError
from posterm.protocol.errorcodes import ErrorCode
from posterm.protocol.mqtt.events import now_rfc3339

MAX_NOTE = 500
MAX_BY = 64
MIN_MUTE_S = 60.0
MAX_MUTE_S = 30 * 86400.0
_DURATION = re.compile(r"([0-9]{1,6})([smhd])")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class AlertActionError(Exception):
    """An acknowledgement or a mute refused; nothing changed. `status`: 2 bad input, 1 an
    alert that is not there or not open."""

    def __init__(self, code: ErrorCode, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def duration_s(text: str) -> float:
    """`90s`, `30m`, `2h`, `1d` (1 minute to 30 days) as seconds."""
    found = _DURATION.fullmatch(text.strip())
    if found is None:
        raise AlertActionError(
            ErrorCode.BAD_REQUEST, f"{text!r} is not a duration like 30m, 2h or 1d", 2
        )
    seconds = float(int(found.group(1)) * _UNIT_S[found.group(2)])
    if not MIN_MUTE_S <= seconds <= MAX_MUTE_S:
        raise AlertActionError(ErrorCode.BAD_REQUEST, "a mute lasts 1 minute to 30 days", 2)
    return seconds


def _who(by: str, note: str) -> tuple[str, str]:
    by, note = by.strip(), note.strip()
    if not by or len(by) > MAX_BY or not by.isprintable():
        raise AlertActionError(ErrorCode.BAD_REQUEST, f"who: 1-{MAX_BY} printable characters", 2)
    if len(note) > MAX_NOTE or not note.replace("\n", " ").isprintable():
        raise AlertActionError(
            ErrorCode.BAD_REQUEST, f"the note: at most {MAX_NOTE} printable characters", 2
        )
    return by, note


def acknowledge(store: Store, alert_id: str, *, by: str, note: str, now: str) -> dict[str, Any]:
    """Mark an open alert acknowledged by `by` with `note` (again: the latest word stands);
    the alert as listed."""
    by, note = _who(by, note)
    return _update(
        store,
        alert_id,
        "acked_at = ?, acked_by = ?, ack_note = ?",
        (now, by, note or None),
    )


def mute(store: Store, alert_id: str, *, by: str, seconds: float, now: str) -> dict[str, Any]:
    """Mute an open alert for `seconds` (from `now`); the alert as listed."""
    by, _ = _who(by, "")
    if not MIN_MUTE_S <= seconds <= MAX_MUTE_S:
        raise AlertActionError(ErrorCode.BAD_REQUEST, "a mute lasts 1 minute to 30 days", 2)
    return _update(store, alert_id, "muted_until = ?, muted_by = ?", (later(now, seconds), by))


def _update(store: Store, alert_id: str, sets: str, args: tuple[Any, ...]) -> dict[str, Any]:
    try:
        with store.db.tx() as tx:
            rows = tx.rows("SELECT * FROM alerts WHERE alert_id = ?", (alert_id,))
            if not rows:
                raise AlertActionError(ErrorCode.UNKNOWN_ALERT, f"no alert {alert_id}")
            if rows[0]["cleared_at"] is not None:
                raise AlertActionError(
                    ErrorCode.ALERT_CLEARED,
                    f"alert {alert_id} was cleared at {rows[0]['cleared_at']}",
                )
            tx.execute(f"UPDATE alerts SET {sets} WHERE alert_id = ?", (*args, alert_id))
            row = tx.rows("SELECT * FROM alerts WHERE alert_id = ?", (alert_id,))[0]
    except DatabaseError as exc:
        raise StoreError(str(exc)) from exc
    return shown(dict(row))


def carried_mute(tx: Tx, found: Finding, now: str) -> tuple[str, str] | None:
    """The mute (until, by) of the latest alert of the same kind, terminal and subject if
    it still runs at `now`: a condition that comes back while muted is muted too."""
    rows = tx.rows(
        "SELECT muted_until, muted_by FROM alerts WHERE kind = ? AND terminal = ? AND"
        " subject = ? AND muted_until > ? ORDER BY muted_until DESC LIMIT 1",
        (found.kind, found.terminal, found.subject, now),
    )
    return (str(rows[0]["muted_until"]), str(rows[0]["muted_by"])) if rows else None


def muted(row: dict[str, Any], now: str) -> bool:
    until = row.get("muted_until")
    return isinstance(until, str) and until > now


def severity(kind: str) -> str:
    """critical, warning or notice (`rules.SEVERITY`; notice for a kind not there)."""
    levels = rules.SEVERITY_NAMES
    return levels[min(rules.SEVERITY.get(kind, len(levels) - 1), len(levels) - 1)]


def txns(detail: Any) -> list[str]:
    """The transactions (of the alert's terminal) an alert's detail names: its `txn_id`
    (in doubt, receipt pending) or its `txns` (a double charge)."""
    if not isinstance(detail, dict):
        return []
    many = detail.get("txns")
    named: list[Any] = many if isinstance(many, list) else [detail.get("txn_id")]
    return [t for t in named if isinstance(t, str) and t]


def shown(row: dict[str, Any], now: str | None = None) -> dict[str, Any]:
    """An `alerts` row as listed: its detail parsed, its severity, friendly name, the
    transactions it names (`txns`), since
    (when its condition began: the detail's `since`, else when it was raised) and whether
    it is muted now."""
    detail = json.loads(row["detail"])
    since = detail.get("since") if isinstance(detail, dict) else None
    return {
        **row,
        "severity": severity(row["kind"]),
        "name": names.name(row["kind"]),
        "txns": txns(detail),
        "since": since if isinstance(since, str) else row["raised_at"],
        "muted": muted(row, now or now_rfc3339()),
        "detail": detail,
    }

"""The audit log of the dashboard: every action a user asks for (approve, reject, reprint,
close the day, and logins), who asked, when, what, and how it ended. Logins the throttle
refused are counted, not written one by one: one row per client and burst
(`repeats`, `last_at`), so a flood of them cannot push the operators' actions out of the
log. Read page by page, filtered by user and action."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from posterm.host.db import DatabaseError
from posterm.host.store import Store, StoreError
from posterm.protocol.errorcodes import ErrorCode
from posterm.protocol.mqtt.events import now_rfc3339, rfc3339, uuid7

THROTTLE_WINDOW_S = 300  # a quiet gap this long ends a burst of refused logins
BURST_MAX_S = 3600  # and a burst's row counts for at most this long
PER_PAGE = 50
MAX_PER_PAGE = 500
FILTER_MAX = 64  # characters of a user or action filter


class AuditQueryError(Exception):
    """A page of the log asked for with a bad page, size or filter."""


def write(
    store: Store,
    *,
    user: str,
    role: str,
    action: str,
    target: str,
    ok: bool,
    result: dict[str, Any],
) -> None:
    try:
        with store.db.tx() as tx:
            tx.execute(
                "INSERT INTO audit_log (audit_id, at, username, role, action, target, ok,"
                " result) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    uuid7(),
                    now_rfc3339(),
                    user,
                    role,
                    action,
                    target,
                    1 if ok else 0,
                    json.dumps(result),
                ),
            )
    except DatabaseError as exc:
        raise StoreError(str(exc)) from exc


def throttled(store: Store, *, client: str, user: str, now: float | None = None) -> None:
    """A login the throttle refused: counted in the client's row of this burst, the row whose
    last refusal is under THROTTLE_WINDOW_S old and whose first is under BURST_MAX_S old
    (so a flood is one row whatever the clock says, and a day-long one a row an hour). The
    first refusal of a burst writes the row, with the name it tried first; concurrent
    first refusals meet on one id and all count."""
    moment = time.time() if now is None else now
    at = rfc3339(datetime.fromtimestamp(moment, UTC))
    quiet = rfc3339(datetime.fromtimestamp(moment - THROTTLE_WINDOW_S, UTC))
    oldest = rfc3339(datetime.fromtimestamp(moment - BURST_MAX_S, UTC))
    try:
        with store.db.tx() as tx:
            open_rows = tx.rows(
                "SELECT audit_id FROM audit_log WHERE action = 'login' AND target = ?"
                " AND audit_id LIKE 'throttled/%' AND last_at > ? AND at > ?"
                " ORDER BY last_at DESC LIMIT 1",
                (client, quiet, oldest),
            )
            if open_rows:
                tx.execute(
                    "UPDATE audit_log SET repeats = repeats + 1,"
                    " last_at = CASE WHEN last_at < ? THEN ? ELSE last_at END"
                    " WHERE audit_id = ?",
                    (at, at, open_rows[0]["audit_id"]),
                )
                return
            window = int(moment // THROTTLE_WINDOW_S)
            tx.execute(
                "INSERT INTO audit_log (audit_id, at, username, role, action, target, ok,"
                " result, repeats, last_at) VALUES (?, ?, ?, '-', 'login', ?, 0, ?, 1, ?)"
                " ON CONFLICT (audit_id) DO UPDATE SET repeats = audit_log.repeats + 1,"
                " last_at = excluded.last_at",
                (
                    f"throttled/{window}/{client}",
                    at,
                    user,
                    client,
                    json.dumps({"code": ErrorCode.THROTTLED, "client": client}),
                    at,
                ),
            )
    except DatabaseError as exc:
        raise StoreError(str(exc)) from exc


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    page: int  # from 1
    pages: int  # at least 1
    total: int  # rows matching the filters

    def json(self) -> dict[str, Any]:
        return {"audit": self.rows, "page": self.page, "pages": self.pages, "total": self.total}


def page(
    store: Store,
    *,
    user: str | None = None,
    action: str | None = None,
    number: int = 1,
    per_page: int = PER_PAGE,
) -> Page:
    """Newest first; `user`, `action`: exact matches (None or "": any)."""
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise AuditQueryError(f"per_page: 1-{MAX_PER_PAGE}")
    if number < 1:
        raise AuditQueryError("page: from 1")
    where, args = [], []
    for column, value in (("username", user), ("action", action)):
        if value:
            if len(value) > FILTER_MAX:
                raise AuditQueryError(f"{column}: at most {FILTER_MAX} characters")
            where.append(f"{column} = ?")
            args.append(value)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    try:
        total = int(store.db.rows(f"SELECT COUNT(*) AS n FROM audit_log{clause}", args)[0]["n"])
        rows = store.db.rows(
            "SELECT at, username, role, action, target, ok, result, repeats,"
            f" last_at FROM audit_log{clause} ORDER BY at DESC, audit_id DESC"
            " LIMIT ? OFFSET ?",
            [*args, per_page, (number - 1) * per_page],
        )
    except DatabaseError as exc:
        raise StoreError(str(exc)) from exc
    return Page(
        [{**r, "ok": bool(r["ok"]), "result": json.loads(r["result"])} for r in rows],
        number,
        max(1, -(-total // per_page)),
        total,
    )


def listing(store: Store, limit: int = 200) -> list[dict[str, Any]]:
    """The newest `limit` rows."""
    return page(store, per_page=limit).rows


def parse_query(query: Any) -> dict[str, Any]:
    """`page`, `per_page`, `user`, `action` of a query string, for `page()`."""
    out: dict[str, Any] = {"user": query.get("user") or None, "action": query.get("action") or None}
    for key, name, default in (("page", "number", 1), ("per_page", "per_page", PER_PAGE)):
        text = query.get(key) or str(default)
        if not text.isdigit() or len(text) > 6:
            raise AuditQueryError(f"{key}: a whole number")
        out[name] = int(text)
    return out

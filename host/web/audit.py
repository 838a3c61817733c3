"""The audit log of the dashboard: every action a user asks for (approve, reject, reprint,
close the day, and logins), who asked, when, what, and how it ended. Logins the throttle
refused are counted, not written one by one: one row per client and THROTTLE_WINDOW_S
(`repeats`, `last_at`), so a flood of them cannot push the operators' actions out of the
log. Read page by page, filtered by user and action."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from posterm.host.db import DatabaseError
from posterm.host.store import Store, StoreError
from posterm.protocol.mqtt.events import now_rfc3339, uuid7

THROTTLE_WINDOW_S = 300
PER_PAGE = 50
MAX_PER_PAGE = 500
FILTER_MAX = 64  # characters of a user or action filter


class AuditQueryError(Exception):
    """A page of the log asked for with a bad page, size or filter."""


def write(store: Store, *, user: str, role: str, action: str, target: str, ok: bool,
          result: dict[str, Any]) -> None:  # fmt: skip
    try:
        with store.db.tx() as tx:
            tx.execute("INSERT INTO audit_log (audit_id, at, username, role, action, target, ok,"
                       " result) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (uuid7(), now_rfc3339(), user, role, action, target, 1 if ok else 0,
                        json.dumps(result)))  # fmt: skip
    except DatabaseError as exc:
        raise StoreError(str(exc)) from exc


def throttled(store: Store, *, client: str, user: str, now: float | None = None) -> None:
    """A login the throttle refused: the client's row of this window counts it (the first
    one writes it, with the name it tried first); one statement, so concurrent refusals
    all count."""
    window = int((time.time() if now is None else now) // THROTTLE_WINDOW_S)
    at = now_rfc3339()
    try:
        with store.db.tx() as tx:
            tx.execute("INSERT INTO audit_log (audit_id, at, username, role, action, target, ok,"
                       " result, repeats, last_at) VALUES (?, ?, ?, '-', 'login', ?, 0, ?, 1, ?)"
                       " ON CONFLICT (audit_id) DO UPDATE SET repeats = audit_log.repeats + 1,"
                       " last_at = excluded.last_at",
                       (f"throttled/{window}/{client}", at, user, client,
                        json.dumps({"code": "throttled", "client": client}), at))  # fmt: skip
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


def page(store: Store, *, user: str | None = None, action: str | None = None,
         number: int = 1, per_page: int = PER_PAGE) -> Page:  # fmt: skip
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
        rows = store.db.rows("SELECT at, username, role, action, target, ok, result, repeats,"
                             f" last_at FROM audit_log{clause} ORDER BY at DESC, audit_id DESC"
                             " LIMIT ? OFFSET ?", [*args, per_page, (number - 1) * per_page])
    except DatabaseError as exc:
        raise StoreError(str(exc)) from exc
    return Page([{**r, "ok": bool(r["ok"]), "result": json.loads(r["result"])} for r in rows],
                number, max(1, -(-total // per_page)), total)  # fmt: skip


def listing(store: Store, limit: int = 200) -> list[dict[str, Any]]:
    """The newest `limit` rows."""
    return page(store, per_page=limit).rows


def parse_query(query: Any) -> dict[str, Any]:
    """`page`, `per_page`, `user`, `action` of a query string, for `page()`."""
    out: dict[str, Any] = {"user": query.get("user") or None,
                           "action": query.get("action") or None}  # fmt: skip
    for key, name, default in (("page", "number", 1), ("per_page", "per_page", PER_PAGE)):
        text = query.get(key) or str(default)
        if not text.isdigit() or len(text) > 6:
            raise AuditQueryError(f"{key}: a whole number")
        out[name] = int(text)
    return out

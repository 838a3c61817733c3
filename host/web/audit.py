"""The audit log of the dashboard: every action a user asks for (approve, reject, reprint,
close the day, and logins), who asked, when, what, and how it ended."""

from __future__ import annotations

import json
from typing import Any

from posterm.host.db import DatabaseError
from posterm.host.store import Store, StoreError
from posterm.protocol.mqtt.events import now_rfc3339, uuid7


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


def listing(store: Store, limit: int = 200) -> list[dict[str, Any]]:
    """Newest first."""
    try:
        rows = store.db.rows("SELECT at, username, role, action, target, ok, result FROM"
                             f" audit_log ORDER BY at DESC, audit_id DESC LIMIT {int(limit)}")
    except DatabaseError as exc:
        raise StoreError(str(exc)) from exc
    return [{**r, "ok": bool(r["ok"]), "result": json.loads(r["result"])} for r in rows]

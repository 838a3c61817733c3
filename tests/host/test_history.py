"""The dashboard's tables on SQLite and PostgreSQL: the telemetry history written with each
telemetry message and pruned after 48 h, and the audit log."""

from __future__ import annotations

import pytest

from posterm.host import history
from posterm.host.store import Store
from posterm.host.web import audit


def test_telemetry_history_is_kept_48_hours(store_url: str) -> None:
    store = Store(store_url)
    try:
        with store.db.tx() as tx:
            history.record(
                tx, "pos-1", {"outbox_depth": 3, "paper": "ok"}, "2026-11-26T10:00:00.000Z"
            )
            history.record(
                tx, "pos-1", {"outbox_depth": True, "paper": 7}, "2026-11-28T09:00:00.000Z"
            )
            history.record(
                tx,
                "pos-1",
                {"outbox_depth": 5, "pt_link": "down", "oldest_unsent_age_s": 2.5},
                "2026-11-28T11:00:00.000Z",
            )
        rows = store.telemetry_history("pos-1", "2000-01-01T00:00:00.000Z")
        assert [
            (r["at"][:13], r["outbox_depth"], r["paper"], r["pt_link"], r["oldest_unsent_age_s"])
            for r in rows
        ] == [("2026-11-28T09", None, None, None, None), ("2026-11-28T11", 5, None, "down", 2.5)]
        store.saw_telemetry("pos-1", {"outbox_depth": 1, "paper": "out", "pt_link": "up"})
        assert [r["paper"] for r in store.telemetry_history("pos-1", history.since(1))] == ["out"]
    finally:
        store.close()


def test_the_audit_log_keeps_who_what_and_the_outcome(store_url: str) -> None:
    store = Store(store_url)
    try:
        audit.write(
            store,
            user="olga",
            role="operator",
            action="approve",
            target="T1",
            ok=True,
            result={"ok": True, "reply": {"state": "approved"}},
        )
        audit.write(
            store,
            user="vic",
            role="viewer",
            action="refused",
            target="/api/x",
            ok=False,
            result={"code": "forbidden"},
        )
        rows = audit.listing(store)
        assert [(r["username"], r["action"], r["ok"]) for r in rows] == [
            ("vic", "refused", False),
            ("olga", "approve", True),
        ]
        assert rows[1]["result"]["reply"]["state"] == "approved" and rows[0]["at"]
    finally:
        store.close()


def test_throttled_logins_are_counted_and_the_log_is_read_by_page(store_url: str) -> None:
    """GIVEN an operator's action, 200 throttled logins from one client in one burst that
    crosses a multiple of THROTTLE_WINDOW_S on the clock, 3 from another, and one more from
    the first after a quiet THROTTLE_WINDOW_S WHEN the log is read THEN each burst has one
    row with its count; the action is on the first page; pages and filters hold."""
    store = Store(store_url)
    try:
        audit.write(
            store,
            user="olga",
            role="operator",
            action="eod",
            target="pos-1",
            ok=True,
            result={"ok": True},
        )
        now = 1_800_000_000.0 - 10  # the clock's 300 s window turns 10 s into the burst
        for i in range(200):
            audit.throttled(store, client="203.0.113.7", user=f"admin{i % 3}", now=now + i / 10)
        for _ in range(3):
            audit.throttled(store, client="203.0.113.8", user="olga", now=now)
        last = now + 19.9
        audit.throttled(store, client="203.0.113.7", user="x", now=last + audit.THROTTLE_WINDOW_S)
        first = audit.page(store, per_page=2)
        assert (first.total, first.pages, len(first.rows)) == (4, 2, 2)
        rows = first.rows + audit.page(store, per_page=2, number=2).rows
        counts = sorted((r["target"], r["repeats"]) for r in rows if r["action"] == "login")
        assert counts == [("203.0.113.7", 1), ("203.0.113.7", 200), ("203.0.113.8", 3)]
        assert [r["action"] for r in audit.page(store, user="olga").rows] == ["login", "eod"]
        assert [r["target"] for r in audit.page(store, action="eod").rows] == ["pos-1"]
        for bad in ({"number": 0}, {"per_page": 0}, {"user": "u" * 65}):
            with pytest.raises(audit.AuditQueryError):
                audit.page(store, **bad)  # type: ignore[arg-type]
    finally:
        store.close()


def test_a_day_long_flood_of_throttled_logins_is_a_row_an_hour(store_url: str) -> None:
    """GIVEN one client refused every 60 s for 3 hours (never quiet for THROTTLE_WINDOW_S)
    WHEN the log is read THEN it holds one row per BURST_MAX_S, and their counts add up."""
    store = Store(store_url)
    try:
        now = 1_800_000_000.0
        for i in range(180):
            audit.throttled(store, client="203.0.113.9", user="admin", now=now + 60 * i)
        rows = audit.page(store).rows
        assert len(rows) == 3 * 3600 // audit.BURST_MAX_S
        assert sum(r["repeats"] for r in rows) == 180
    finally:
        store.close()

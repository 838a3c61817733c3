"""The dashboard's tables on SQLite and PostgreSQL: the telemetry history written with each
telemetry message and pruned after 48 h, and the audit log."""

from __future__ import annotations

from posterm.host import history
from posterm.host.store import Store
from posterm.host.web import audit


def test_telemetry_history_is_kept_48_hours(store_url: str) -> None:
    store = Store(store_url)
    try:
        with store.db.tx() as tx:
            history.record(tx, "pos-1", {"outbox_depth": 3, "paper": "ok"},
                           "2026-11-26T10:00:00.000Z")  # fmt: skip
            history.record(tx, "pos-1", {"outbox_depth": True, "paper": 7},
                           "2026-11-28T09:00:00.000Z")  # fmt: skip
            history.record(tx, "pos-1", {"outbox_depth": 5, "pt_link": "down",
                                         "oldest_unsent_age_s": 2.5},
                           "2026-11-28T11:00:00.000Z")  # fmt: skip
        rows = store.telemetry_history("pos-1", "2000-01-01T00:00:00.000Z")
        assert [(r["at"][:13], r["outbox_depth"], r["paper"], r["pt_link"],
                 r["oldest_unsent_age_s"]) for r in rows] == [
            ("2026-11-28T09", None, None, None, None), ("2026-11-28T11", 5, None, "down", 2.5)]
        store.saw_telemetry("pos-1", {"outbox_depth": 1, "paper": "out", "pt_link": "up"})
        assert [r["paper"] for r in store.telemetry_history("pos-1", history.since(1))] == ["out"]
    finally:
        store.close()


def test_the_audit_log_keeps_who_what_and_the_outcome(store_url: str) -> None:
    store = Store(store_url)
    try:
        audit.write(store, user="olga", role="operator", action="approve", target="T1", ok=True,
                    result={"ok": True, "reply": {"state": "approved"}})  # fmt: skip
        audit.write(store, user="vic", role="viewer", action="refused", target="/api/x",
                    ok=False, result={"code": "forbidden"})  # fmt: skip
        rows = audit.listing(store)
        assert [(r["username"], r["action"], r["ok"]) for r in rows] == [
            ("vic", "refused", False), ("olga", "approve", True)]
        assert rows[1]["result"]["reply"]["state"] == "approved" and rows[0]["at"]
    finally:
        store.close()

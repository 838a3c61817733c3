"""Issue 23 (capacity on PostgreSQL): a batch's telemetry is written in a fixed few
statements whatever the number of messages, with the rows one message at a time left; and
the shared host's gap checks are one query for all the terminals whose grace has passed,
on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from posterm.host import history
from posterm.host.store import Store
from posterm.protocol.mqtt import topics
from posterm.protocol.mqtt.events import envelope
from tests.host.test_service import resends, service
from tests.support.fleet import txn_data

QUIET = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@contextmanager
def statements(store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The SQL statements the store sends to its database meanwhile (its transactions'
    BEGIN and COMMIT left out): SQLite's trace, psycopg's cursor calls (an executemany or
    a COPY counted once: one statement, its rows as data)."""
    seen: list[str] = []
    if store.db.dialect == "sqlite":
        store.db._db.set_trace_callback(seen.append)  # type: ignore[attr-defined]
    else:
        import psycopg  # noqa: PLC0415

        for name in ("execute", "executemany", "copy"):
            method = getattr(psycopg.Cursor, name)

            def counted(self: Any, query: Any, *args: Any, _m: Any = method, **kw: Any) -> Any:
                seen.append(str(query))
                return _m(self, query, *args, **kw)

            monkeypatch.setattr(psycopg.Cursor, name, counted)
    try:
        yield seen
    finally:
        if store.db.dialect == "sqlite":
            store.db._db.set_trace_callback(None)  # type: ignore[attr-defined]
        monkeypatch.undo()
    seen[:] = [s for s in seen if not s.lstrip().upper().startswith(QUIET)]


def _telemetry_batch(store: Store, monkeypatch: pytest.MonkeyPatch, count: int, tag: str) -> int:
    tids = [f"{tag}-{n % max(1, count // 2):03d}" for n in range(count)]  # 2 each
    with statements(store, monkeypatch) as seen, store.batch(tids):
        for n, tid in enumerate(tids):
            store.saw_telemetry(tid, {"mode": "ready", "outbox_depth": n, "paper": "ok"})
    return len(seen)


def test_a_batch_s_telemetry_is_a_few_statements_whatever_its_size(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a batch of 1 telemetry message and one of 500 (250 terminals, 2 each) WHEN
    each is stored in one batch THEN both send the same number of statements, a handful
    (it was 4 per message), and the 500 made 500 history rows and 250 latest rows."""
    store = Store(store_url)
    try:
        one = _telemetry_batch(store, monkeypatch, 1, "one")
        many = _telemetry_batch(store, monkeypatch, 500, "many")
        assert one == many <= 8
        rows = store._all(
            "SELECT COUNT(*) AS n FROM telemetry_history WHERE terminal LIKE 'many-%'"
        )
        assert rows[0]["n"] == 500
        latest = store._all(
            "SELECT COUNT(*) AS n FROM terminals WHERE terminal LIKE 'many-%'"
            " AND telemetry IS NOT NULL"
        )
        assert latest[0]["n"] == 250
    finally:
        store.close()


def _at(minute: int) -> str:
    return f"2026-12-01T10:{minute:02d}:00.000Z"


def test_a_batch_leaves_the_rows_one_message_at_a_time_left(store_url: str) -> None:
    """GIVEN terminals ready (printer ok) since 10:00, and a history row of two days ago
    WHEN one batch brings, per terminal, ready then ready again (a), pt_down then pt_down
    (b), pt_down then ready (c), and a printer going paper out then ok (d)
    THEN a keeps ready since 10:00, b says pt_down since 10:01, c ready since 10:02 (it
    changed twice), d's printer ok since 10:02; the latest telemetry is each one's last
    message; a history row per message, the two-day-old row dropped."""
    store = Store(store_url)
    ok, out = "online, paper ok", "online, paper out"
    try:
        for tid in "abcd":
            store.saw_telemetry(tid, {"mode": "ready", "printer": ok}, at=_at(0))
        with store.transaction() as tx:
            history.record(tx, "a", {"paper": "old"}, "2026-11-29T09:00:00.000Z")
        told = {
            "a": [("ready", ok), ("ready", ok)],
            "b": [("pt_down", ok), ("pt_down", ok)],
            "c": [("pt_down", ok), ("ready", ok)],
            "d": [("ready", out), ("ready", ok)],
        }
        with store.batch(list(told)):
            for minute in (1, 2):
                for tid, said in told.items():
                    mode, printer = said[minute - 1]
                    store.saw_telemetry(
                        tid, {"mode": mode, "printer": printer, "n": minute}, at=_at(minute)
                    )
        rows = {
            r["terminal"]: r
            for r in store._all(
                "SELECT terminal, telemetry, telemetry_at, last_seen, mode, mode_since,"
                " printer_state, printer_since FROM terminals"
            )
        }
        got = {
            tid: (r["mode"], r["mode_since"], r["printer_state"], r["printer_since"])
            for tid, r in rows.items()
        }
        assert got == {
            "a": ("ready", _at(0), "ok", _at(0)),
            "b": ("pt_down", _at(1), "ok", _at(0)),
            "c": ("ready", _at(2), "ok", _at(0)),
            "d": ("ready", _at(0), "ok", _at(2)),
        }
        for r in rows.values():
            assert json.loads(r["telemetry"])["n"] == 2
            assert r["telemetry_at"] == r["last_seen"] == _at(2)
        assert [(r["at"], r["paper"]) for r in store.telemetry_history("a", "2000")] == [
            (_at(0), None),
            (_at(1), None),
            (_at(2), None),
        ]
    finally:
        store.close()


def test_the_gap_checks_are_one_query_for_1_or_200_terminals(
    tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a shared host that stored seq 1 and 3 of 1 terminal, and of 200 others (seq 2
    went to another process) WHEN the grace has passed and it checks the gaps THEN one
    query each time, and a resend of seq 2 for every terminal; AND WHEN another process
    then commits seq 2 of half of them THEN the next check (one query) asks nothing and
    forgets those, and the gaps still there are asked again only after RESEND_AFTER_S."""
    svc = service(tmp_path, store_url, share_group="posterm")

    def check(tids: list[str]) -> int:
        for tid in tids:
            for seq in (1, 3):
                env = envelope(tid, seq, "sale.approved", txn_data(f"T{seq}"))
                svc.inbox.put((topics.terminal(tid, "events"), json.dumps(env).encode()))
        svc._round()
        assert set(tids) <= set(svc.gaps.open)
        svc.gaps.open = {t: (g, s - 5) for t, (g, s) in svc.gaps.open.items()}  # the grace is over
        with statements(svc.store, monkeypatch) as seen:
            svc.gaps.ask()
        return len(seen)

    try:
        assert check(["pos-solo"]) == 1
        many = [f"pos-{n:03d}" for n in range(200)]
        assert check(many) == 1
        assert resends(svc) == [2] * 201
        other = Store(store_url)
        other.ingest([envelope(t, 2, "sale.approved", txn_data("T2")) for t in many[:100]])
        other.close()
        with statements(svc.store, monkeypatch) as seen:
            svc.gaps.ask()
        assert len(seen) == 1 and resends(svc) == [2] * 201
        assert sorted(svc.gaps.open) == sorted(["pos-solo", *many[100:]])
    finally:
        svc.store.close()


def test_ingest_inside_a_batch_does_not_create_or_lock_its_terminals_again(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a batch() of 30 new terminals (it created their rows and, on PostgreSQL,
    locked them in terminal order) WHEN its events are ingested in it THEN the terminals
    table is written once (batch's INSERT on PostgreSQL, ingest's on SQLite), and on
    PostgreSQL read twice, both times locking: the known ones (none), then the rows it
    created; AND the next batch of the same terminals reads them once, locking them, and
    its ingest reads them no more (issue 23: a round trip a batch); AND an ingest outside
    any batch creates and locks them itself."""
    store = Store(store_url)
    tids = [f"pos-{n:03d}" for n in range(30)]
    try:
        with statements(store, monkeypatch) as seen, store.batch(tids):
            store.ingest([envelope(tid, 1, "sale.approved", txn_data("T1")) for tid in tids])
        creates = [s for s in seen if s.lstrip().startswith("INSERT INTO terminals")]
        locks = [s for s in seen if "FOR UPDATE" in s]
        if store.db.dialect == "postgresql":
            assert len(creates) == 1 and len(locks) == 2, (creates, locks)
        else:  # (SQLite's trace shows an executemany's rows one by one: each terminal once)
            assert len(creates) == len(set(creates)) == 30 and not locks, (creates, locks)
        with statements(store, monkeypatch) as seen, store.batch(tids):
            store.ingest([envelope(tid, 2, "sale.approved", txn_data("T2")) for tid in tids])
        reads = [s for s in seen if "FROM terminals" in s]
        if store.db.dialect == "postgresql":
            assert len(reads) == 1 and "FOR UPDATE" in reads[0], reads
            assert not any(s.lstrip().startswith("INSERT INTO terminals") for s in seen)
        moved = store.db.rows("SELECT terminal, contiguous_seq FROM terminals")
        assert {r["terminal"]: r["contiguous_seq"] for r in moved} == dict.fromkeys(tids, 2)
        fresh = [f"new-{n:03d}" for n in range(5)]
        with statements(store, monkeypatch) as seen:
            done = store.ingest(
                [envelope(tid, 1, "sale.approved", txn_data("T1")) for tid in fresh]
            )
        assert sorted(done.new) == fresh
        assert any(s.lstrip().startswith("INSERT INTO terminals") for s in seen)
        # PostgreSQL: the known ones locked (none), then the ones it created
        assert sum("FOR UPDATE" in s for s in seen) == 2 * (store.db.dialect == "postgresql")
        assert {t["terminal"] for t in store.fleet()} == {*tids, *fresh}
    finally:
        store.close()


def test_a_statement_run_once_per_connection_runs_again_after_a_rollback_or_a_new_connection(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN the host's database WHEN a transaction runs a temporary table's CREATE through
    `Tx.once` and commits THEN the next transactions do not send it again (their INSERT
    into it still works); AND a transaction that ran it and rolled back leaves it to the
    next one (the CREATE went with the rollback); AND on PostgreSQL, a new connection (the
    last one broke) sends it again."""
    store = Store(store_url)
    create = "CREATE TEMP TABLE IF NOT EXISTS scratch_once (n INTEGER)"

    def creates(*, fail: bool = False) -> int:
        with statements(store, monkeypatch) as seen:
            try:
                with store.db.tx() as tx:
                    tx.once(create)
                    tx.execute("INSERT INTO scratch_once (n) VALUES (1)")
                    if fail:
                        raise RuntimeError("rolled back")
            except RuntimeError:
                pass
        return sum(s.lstrip().startswith("CREATE TEMP") for s in seen)

    try:
        assert creates(fail=True) == 1
        assert creates() == 1
        assert creates() == 0
        assert creates() == 0
        if store.db.dialect == "postgresql":
            store.db._conn.close()  # type: ignore[attr-defined]
            assert creates() == 1
            assert creates() == 0
        # the committed INSERTs since the table was made (on PostgreSQL, the new connection's)
        kept = store.db.rows("SELECT COUNT(*) AS n FROM scratch_once")[0]["n"]
        assert kept == (2 if store.db.dialect == "postgresql" else 3)
    finally:
        store.close()

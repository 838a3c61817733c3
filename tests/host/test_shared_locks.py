"""Issue 23: host processes sharing a fleet on one PostgreSQL database do not queue behind
each other's row locks: a batch takes the terminals no other process holds and leaves the
others' messages for its next round (acked after their own commit); after SKIP_ROUNDS
such rounds in a row it waits for the locks, so nothing is left for ever."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from posterm.host.service import SKIP_ROUNDS, HostService
from posterm.host.store import Store
from posterm.protocol.mqtt import topics
from posterm.protocol.mqtt.events import envelope
from tests.host.test_service import acked, service
from tests.support.broker import wait_for
from tests.support.fleet import txn_data

pytestmark = pytest.mark.slow  # a PostgreSQL server


def _sales(svc: HostService, tid: str, seqs: range) -> list[str]:
    ids = []
    for seq in seqs:
        env = envelope(tid, seq, "sale.approved", txn_data(f"T{seq}"))
        svc.inbox.put((topics.terminal(tid, "events"), json.dumps(env).encode()))
        ids.append(env["event_id"])
    return ids


def _round(svc: HostService) -> threading.Thread:
    thread = threading.Thread(target=svc._round, daemon=True)
    thread.start()
    return thread


def _waits_for_a_lock(store: Store) -> bool:
    rows = store._all(
        "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        " AND datname = current_database()"
    )
    return bool(rows[0]["n"])


def test_a_shared_host_takes_the_terminals_no_other_process_holds(
    tmp_path: Path, pg_url: str
) -> None:
    """GIVEN another process in the middle of a batch of pos-x (its row locked) WHEN this
    process's batch brings events of pos-x and pos-y THEN its round returns without
    waiting, with pos-y's events stored and acked and pos-x's not; AND WHEN the other
    commits THEN the next round stores and acks pos-x's."""
    svc = service(tmp_path, pg_url, share_group="posterm")
    other = Store(pg_url)
    with other.batch(["pos-x", "pos-y"]):  # known terminals (a new one's row is created)
        pass
    try:
        x = _sales(svc, "pos-x", range(1, 3))
        y = _sales(svc, "pos-y", range(1, 4))
        with other.batch(["pos-x"]):
            thread = _round(svc)
            thread.join(30)
            assert not thread.is_alive(), "the round waited for the other's lock"
            assert sorted(acked(svc)) == sorted(y)
        svc._round()
        assert sorted(acked(svc)) == sorted(x + y)
        assert [e["seq"] for e in svc.store.events(terminal="pos-x")] == [1, 2]
    finally:
        other.close()
        svc.store.close()


def test_after_skip_rounds_in_a_row_a_shared_host_waits_for_the_lock(
    tmp_path: Path, pg_url: str
) -> None:
    """GIVEN pos-x held by another process for longer WHEN this process's rounds leave its
    events SKIP_ROUNDS-1 times THEN the next round waits for the lock (seen in
    pg_stat_activity) instead of leaving them again, and stores them once the other
    commits."""
    svc = service(tmp_path, pg_url, share_group="posterm")
    other = Store(pg_url)
    with other.batch(["pos-x", "pos-y"]):  # known terminals (a new one's row is created)
        pass
    try:
        x = _sales(svc, "pos-x", range(1, 3))
        with other.batch(["pos-x"]):
            for _ in range(SKIP_ROUNDS):  # the first takes them in, then SKIP_ROUNDS-1 again
                thread = _round(svc)
                thread.join(30)
                assert not thread.is_alive() and acked(svc) == []
            thread = _round(svc)
            wait_for(lambda: _waits_for_a_lock(other), "this process waiting for pos-x")
        thread.join(30)
        assert not thread.is_alive() and sorted(acked(svc)) == sorted(x)
    finally:
        other.close()
        svc.store.close()


def test_a_batch_with_a_status_waits_for_the_lock(tmp_path: Path, pg_url: str) -> None:
    """GIVEN pos-x held by another process WHEN this process's batch brings pos-x's
    retained status (every process gets every status, in the same order: skipping them
    would only make the processes take turns) THEN the round waits for the lock (seen in
    pg_stat_activity) and stores the status once the other commits."""
    svc = service(tmp_path, pg_url, share_group="posterm")
    other = Store(pg_url)
    with other.batch(["pos-x"]):
        pass
    try:
        status = {"online": True, "session": 3}
        svc.inbox.put((topics.terminal("pos-x", "status"), json.dumps(status).encode()))
        with other.batch(["pos-x"]):
            thread = _round(svc)
            wait_for(lambda: _waits_for_a_lock(other), "this process waiting for pos-x")
        thread.join(30)
        assert not thread.is_alive()
        (row,) = svc.store._all("SELECT session, online FROM terminals WHERE terminal = 'pos-x'")
        assert (row["session"], row["online"]) == (3, 1)
    finally:
        other.close()
        svc.store.close()

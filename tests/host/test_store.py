"""posterm-host's store on SQLite and on PostgreSQL: every event once, the contiguous seq and
its gaps, a late will of an old session ignored, two host processes (two connections)
ingesting one fleet at once, and on PostgreSQL a server restart under a live Store."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from posterm.host.store import Store, StoreError
from posterm.protocol.mqtt.events import envelope
from tests.support.postgres import Cluster


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = Store(store_url)
    yield s
    s.close()


def events(tid: str, seqs: range | list[int]) -> list[dict[str, Any]]:
    return [envelope(tid, n, "sale.approved", {"txn_id": f"T{n}", "amount": "1.00"}) for n in seqs]


def stored(store: Store) -> list[tuple[str, int]]:
    return [(e["terminal"], e["seq"]) for e in store.events(limit=None)]


def test_each_event_is_stored_once_and_every_copy_is_acked(store: Store) -> None:
    """GIVEN a batch with an event twice WHEN it is ingested twice THEN each event is
    stored once, new the first time, known (acked again) the second."""
    batch = events("pos-a", range(1, 4)) + events("pos-b", [1])
    first = store.ingest([*batch, batch[0]])
    assert sorted(first.new["pos-a"]) == sorted(e["event_id"] for e in batch[:3])
    assert first.known == {} and first.gaps == {}
    again = store.ingest(batch)
    assert again.new == {} and sorted(again.to_ack()["pos-a"]) == sorted(first.new["pos-a"])
    assert stored(store) == [("pos-a", 1), ("pos-a", 2), ("pos-a", 3), ("pos-b", 1)]


def test_the_contiguous_seq_stops_at_a_gap_until_it_is_filled(store: Store) -> None:
    """GIVEN seq 1, 2, 4, 5 WHEN 3 arrives later THEN the gap is 3 until then, none after."""
    ev = events("pos-a", range(1, 7))
    done = store.ingest([ev[0], ev[1], ev[3], ev[4]])
    assert done.gaps == {"pos-a": 3} and store.gap("pos-a") == 3
    assert store.fleet()[0]["contiguous_seq"] == 2
    done = store.ingest([ev[2]])
    assert done.gaps == {} and store.gap("pos-a") is None
    assert store.fleet()[0]["contiguous_seq"] == 5
    assert store.ingest([ev[5]]).gaps == {} and store.fleet()[0]["contiguous_seq"] == 6


def test_a_late_will_of_an_old_session_is_ignored(store: Store) -> None:
    assert store.saw_status("pos-a", {"online": True, "session": 5})
    assert not store.saw_status("pos-a", {"online": False, "session": 4})
    assert store.fleet()[0]["online"] is True
    assert store.saw_status("pos-a", {"online": False, "session": 5})
    assert not store.saw_status("pos-a", {"online": True, "session": 5})  # its own will came
    assert store.fleet()[0]["online"] is False
    assert store.saw_status("pos-a", {"online": True, "session": 6})
    assert store.fleet()[0]["online"] is True and store.fleet()[0]["session"] == 6
    assert not store.saw_status("pos-a", {"online": True})  # no session: not a status
    assert not store.saw_status("pos-a", {"online": True, "session": 2**64})  # no BIGINT


def test_a_string_postgresql_cannot_hold_is_not_a_lookup_column(store: Store) -> None:
    (ev,) = events("pos-a", [1])
    ev["data"]["txn_id"] = "T\x001"
    assert store.ingest([ev]).new == {"pos-a": [ev["event_id"]]}
    assert store.events()[0]["data"]["txn_id"] == "T\x001"  # the envelope keeps it


def test_two_processes_ingesting_one_fleet_store_each_event_once(store_url: str) -> None:
    """GIVEN two stores on one database (two host processes) WHEN they ingest the events of
    20 terminals at once, interleaved and partly the same THEN every event is stored once,
    no deadlock, and every terminal's contiguous seq is its last."""
    one, two = Store(store_url), Store(store_url)
    fleet = {f"pos-{t:02d}": events(f"pos-{t:02d}", range(1, 41)) for t in range(20)}
    errors: list[BaseException] = []

    def feed(store: Store, parity: int) -> None:
        try:
            for n in range(0, 40, 4):  # batches of 4 seqs per terminal, every terminal
                batch = [
                    e
                    for evs in fleet.values()
                    for e in evs[n : n + 4]
                    if e["seq"] % 2 == parity or e["seq"] % 4 == 1
                ]
                store.ingest(batch)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=feed, args=(s, p)) for s, p in ((one, 0), (two, 1))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(stored(one)) == sorted((tid, n) for tid in fleet for n in range(1, 41))
    assert {(t["terminal"], t["contiguous_seq"], t["gap_at"]) for t in one.fleet()} == {
        (tid, 40, None) for tid in fleet
    }
    one.close()
    two.close()


@pytest.mark.slow
def test_a_stopped_postgresql_fails_the_transaction_then_serves_again(
    pg_cluster: Cluster, pg_url: str
) -> None:
    store = Store(pg_url)
    ev = events("pos-a", range(1, 4))
    store.ingest(ev[:1])
    pg_cluster.stop()
    try:
        with pytest.raises(StoreError):
            store.ingest(ev[1:2])
    finally:
        pg_cluster.start()
    store.ingest(ev[1:])  # the failed one found the link broken: this runs on a new one
    assert stored(store) == [("pos-a", 1), ("pos-a", 2), ("pos-a", 3)]
    store.close()


def test_batches_of_two_processes_touching_terminals_in_any_order_never_deadlock(
    store_url: str,
) -> None:
    """GIVEN two stores (two host processes) WHEN each commits batches with telemetry of
    one terminal and events of another, in opposite orders THEN no batch fails (the
    batch's terminals are locked first, in one order)."""
    stores = [Store(store_url), Store(store_url)]
    tids = [f"pos-{i}" for i in range(6)]
    seqs = dict.fromkeys(tids, 0)
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work(store: Store, order: list[str]) -> None:
        try:
            for n in range(40):
                first, second = order[n % 6], order[(n + 3) % 6]
                with lock:
                    seqs[second] += 1
                    evs = events(second, [seqs[second]])
                with store.batch([first, second]):
                    store.saw_telemetry(first, {"n": n})
                    store.ingest(evs)
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=work, args=(s, o))
        for s, o in zip(stores, (tids, tids[::-1]), strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(stored(stores[0])) == 80
    for s in stores:
        s.close()


def open_at_once(url: str, count: int) -> tuple[list[Store], list[BaseException]]:
    opened: list[Store] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def open_it() -> None:
        barrier.wait(30)
        try:
            opened.append(Store(url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return opened, errors


@pytest.mark.slow
def test_host_processes_starting_at_once_migrate_once(pg_cluster: Cluster) -> None:
    """GIVEN a new PostgreSQL database WHEN four host processes open it at once THEN each
    opens it (CREATE TABLE IF NOT EXISTS alone collides on PostgreSQL)."""
    for _ in range(3):
        opened, errors = open_at_once(pg_cluster.create_database(), 4)
        assert errors == [] and len(opened) == 4
        for s in opened:
            s.close()

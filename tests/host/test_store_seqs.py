"""Each terminal's contiguous seq at ingest (`host/store_seqs.py`): whatever order and
batches its events arrive in, the contiguous seq and the first missing one are what the
events stored say; and a gap that never fills does not make each later batch read every
event the terminal sent since (a terminal whose lost event is never resent would slow the
host's ingest a little more with every event)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posterm.host import db as dbmod
from posterm.host import store_seqs
from posterm.host.alerts.engine import Alerter
from posterm.host.alerts.rules import Limits
from posterm.host.store import Store
from posterm.protocol.mqtt.events import envelope
from posterm.protocol.mqtt.wire import MAX_SEQ
from tests.support.fleet import sale_data, txn_data

TERMINALS = ("pos-a", "pos-b", "pos-c")
REFUND = txn_data("R1", "refund", "approved_unconfirmed", "7.50", masked_pan="411111******1111")


def events(tid: str, seqs: list[int]) -> list[dict[str, Any]]:
    return [envelope(tid, seq, "sale.approved", sale_data(seq)) for seq in seqs]


def expected(stored: set[int]) -> tuple[int, int | None]:
    """(contiguous seq, first missing seq if a later one is stored) of the seqs stored."""
    run = 0
    while run + 1 in stored:
        run += 1
    return run, (run + 1 if any(seq > run for seq in stored) else None)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The number of rows each statement the store reads returns, meanwhile (its INSERTs'
    RETURNING left out: what is new, not what is read)."""
    sizes: list[int] = []
    for cls in (dbmod._SqliteTx, dbmod._PgTx):
        rows = cls.rows

        def counting(self: Any, sql: str, args: Any = (), _rows: Any = rows) -> Any:
            found = _rows(self, sql, args)
            if not sql.lstrip().upper().startswith("INSERT"):
                sizes.append(len(found))
            return found

        monkeypatch.setattr(cls, "rows", counting)
    yield sizes


@settings(max_examples=40, deadline=None)
@given(
    plan=st.lists(
        st.tuples(st.sampled_from(TERMINALS), st.lists(st.integers(1, 400), max_size=40)),
        min_size=1,
        max_size=12,
    )
)
def test_the_contiguous_seq_and_the_gap_are_what_the_events_stored_say(
    plan: list[tuple[str, list[int]]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """GIVEN the seqs of three terminals arriving in any order, in batches of any size
    (runs longer than a window of reads, gaps that fill late, seqs sent twice) WHEN each
    batch is ingested THEN each terminal's contiguous seq is the longest run from 1 of
    its seqs stored, and a batch's gap for it the first missing seq when a later one is
    stored (SQLite; PostgreSQL in the examples below)."""
    store = Store(f"sqlite://{tmp_path_factory.mktemp('seqs') / 'host.db'}")
    stored: dict[str, set[int]] = {tid: set() for tid in TERMINALS}
    try:
        for tid, seqs in plan:
            done = store.ingest(events(tid, seqs))
            stored[tid].update(seqs)
            _, gap = expected(stored[tid])
            assert store.gap(tid) == gap
            if seqs:
                assert done.gaps.get(tid) == gap
        fleet = {t["terminal"]: t["contiguous_seq"] for t in store.fleet()}
        for tid in TERMINALS:
            assert fleet.get(tid, 0) == expected(stored[tid])[0]
    finally:
        store.close()


def test_a_long_stored_run_behind_a_filled_gap_is_taken_in_one_ingest(store_url: str) -> None:
    """GIVEN seqs 2 to 1,000 stored (1 missing: the gap is 1) WHEN 1 arrives THEN the
    contiguous seq moves to 1,000 in that ingest and no gap is left (on SQLite and
    PostgreSQL: windows twice as wide each read)."""
    store = Store(store_url)
    try:
        seqs = list(range(2, 1001))
        random.Random(7).shuffle(seqs)
        for i in range(0, len(seqs), 250):
            assert store.ingest(events("pos-a", seqs[i : i + 250])).gaps == {"pos-a": 1}
        assert store.ingest(events("pos-a", [1])).gaps == {}
        assert store.fleet()[0]["contiguous_seq"] == 1000 and store.gap("pos-a") is None
        assert store.ingest(events("pos-a", [1002])).gaps == {"pos-a": 1001}
    finally:
        store.close()


def test_a_gap_far_behind_the_window_is_still_found(store_url: str) -> None:
    """GIVEN seqs 1 to 10 stored WHEN seq 5,000 arrives (far past the window read after
    10) THEN the gap is 11; AND when a batch fills that gap with a run reaching the end of
    its window exactly, THEN the gap is the seq after the window."""
    store = Store(store_url)
    try:
        store.ingest(events("pos-a", list(range(1, 11))))
        assert store.ingest(events("pos-a", [5000])).gaps == {"pos-a": 11}
        upto = 10 + 3 + store_seqs.WINDOW  # a batch of 3: its window ends here
        assert store.ingest(events("pos-a", list(range(14, upto + 1)))).gaps == {"pos-a": 11}
        assert store.ingest(events("pos-a", [11, 12, 13])).gaps == {"pos-a": upto + 1}
        assert store.fleet()[0]["contiguous_seq"] == upto
    finally:
        store.close()


def test_a_gap_that_never_fills_is_not_read_again_with_every_batch(
    store_url: str, counted: list[int]
) -> None:
    """GIVEN a terminal whose seq 1 never arrived, and 2,000 of its later events stored
    WHEN one more of its events is ingested THEN its gap is still 1, and the statements
    of that ingest read a window's worth of rows, not the 2,000 behind the gap."""
    store = Store(store_url)
    try:
        for first in range(2, 2002, 500):
            store.ingest(events("pos-a", list(range(first, first + 500))))
        counted.clear()
        assert store.ingest(events("pos-a", [2002])).gaps == {"pos-a": 1}
        assert sum(counted) <= store_seqs.WINDOW + 10, counted
    finally:
        store.close()


def test_a_batch_that_continues_its_terminals_run_is_not_read_back(
    store_url: str, counted: list[int]
) -> None:
    """GIVEN a terminal's seqs 1 to 100 stored WHEN a batch brings 101 to 300 THEN the
    contiguous seq is 300 and what the ingest reads is a few rows (the terminal's, and the
    first seq after the run), not the batch's 200 events again."""
    store = Store(store_url)
    try:
        store.ingest(events("pos-a", list(range(1, 101))))
        counted.clear()
        assert store.ingest(events("pos-a", list(range(101, 301)))).gaps == {}
        read = list(counted)
        assert store.fleet()[0]["contiguous_seq"] == 300
        assert sum(read) <= 10, read
    finally:
        store.close()


def test_the_largest_seq_the_wire_allows_is_a_gap_and_breaks_nothing(store_url: str) -> None:
    """GIVEN a terminal's seqs 1 to 3 WHEN a (hostile or broken) terminal sends the
    largest seq its schema allows, then seq 4 THEN the gap is 4 and then 5, the window's
    bounds bind as 64-bit integers (no overflow on SQLite or PostgreSQL), and the
    contiguous seq moves to 4."""
    store = Store(store_url)
    try:
        store.ingest(events("pos-a", [1, 2, 3]))
        assert store.ingest(events("pos-a", [MAX_SEQ])).gaps == {"pos-a": 4}
        assert store.ingest(events("pos-a", [4])).gaps == {"pos-a": 5}
        assert store.fleet()[0]["contiguous_seq"] == 4
    finally:
        store.close()


@pytest.mark.slow
def test_ingest_reads_the_events_of_postgresql_only_through_indexes(pg_url: str) -> None:
    """GIVEN a PostgreSQL store holding 100,000 events of 1,000 terminals (analyzed), its
    planner told to avoid nested loops (`enable_nestloop = off`: a planner that would
    rather join the batch's keys with the whole table, as PostgreSQL did with the window
    for some statistics: a hash join over every event, 43 ms a batch at this size,
    growing with the table) WHEN a batch of 4 new events each from 60 terminals, sales
    and refunds, is ingested THEN that transaction scanned the events table 0 times: the
    contiguous seq's window and the rules' reads (double charge, a day's refunds) each
    take an index range per key (`sql_values.per_key`)."""
    store = Store(pg_url)
    try:
        with store.transaction() as tx:
            tx.execute(
                "INSERT INTO terminals (terminal, contiguous_seq)"
                " SELECT 'pos-' || lpad(t::text, 4, '0'), 100 FROM generate_series(0, 999) t"
            )
            tx.execute(
                "INSERT INTO events (event_id, terminal, seq, type, occurred_at, received_at,"
                " envelope, masked_pan, amount_minor)"
                " SELECT 'e-' || t || '-' || s, 'pos-' || lpad(t::text, 4, '0'), s,"
                " 'sale.approved', '2026-12-01T10:00:00.000Z', '2026-12-01T10:00:00.000Z',"
                " '{}', '411111******1111', 1250"
                " FROM generate_series(0, 999) t, generate_series(1, 100) s"
            )
        conn = store.db._conn  # type: ignore[attr-defined]
        conn.execute("ANALYZE events")
        conn.execute("SET enable_nestloop = off")
        batch = [
            env
            for t in range(0, 600, 10)
            for env in [
                *events(f"pos-{t:04d}", [101, 102]),
                envelope(f"pos-{t:04d}", 103, "refund.completed", REFUND),
                envelope(f"pos-{t:04d}", 104, "sale.approved", sale_data(104)),
            ]
        ]
        scans = "SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'events'"
        with store.batch(sorted({e["terminal"] for e in batch})):
            with store.transaction() as tx:  # this backend's counts not yet flushed
                before = tx.rows(scans)[0]["seq_scan"]
            done = Alerter(store, Limits()).ingest(batch)  # with the event rules' reads
            with store.transaction() as tx:
                after = tx.rows(scans)[0]["seq_scan"]
        assert sum(len(ids) for ids in done.new.values()) == 240 and done.gaps == {}
        assert after - before == 0
        assert {r["contiguous_seq"] for r in store.fleet() if r["terminal"] in done.new} == {104}
    finally:
        store.close()

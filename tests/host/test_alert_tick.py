"""The time-based alert rules' cost (issue 23): one process runs them among those sharing
a database (a lease another takes over once its holder stops renewing it), and never more
often than `interval_s` nor than a tenth of the ingest thread's time (a slow run puts the
next one further off). SQLite and PostgreSQL (`store_url`), a fake clock and timer."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from posterm.host.alerts.engine import Alerter, listing
from posterm.host.alerts.rules import Limits
from posterm.host.config import load
from posterm.host.metrics import Metrics
from posterm.host.service import HostService
from posterm.host.store import Store
from tests.host.test_alerts import Clock

TID = "pos-a"


@pytest.fixture
def stores(store_url: str) -> Iterator[tuple[Store, Store]]:
    one, two = Store(store_url), Store(store_url)
    yield one, two
    one.close()
    two.close()


def offline_terminal(store: Store, clock: Clock) -> None:
    """A terminal that went offline long ago: the time-based rules raise `offline`."""
    assert store.saw_status(TID, {"online": False, "session": 1}, at=clock.iso)
    clock.advance(3600)


def test_one_instance_ticks_and_another_takes_over_when_it_stops(
    stores: tuple[Store, Store],
) -> None:
    """GIVEN two host processes (Alerter + Store) on one database, each with its name
    WHEN both tick, second after second, then the first stops
    THEN only the first runs the time-based rules (the other's ticks return False and
    publish nothing), and once the first's lease has expired the second runs them."""
    clock = Clock()
    first = Alerter(stores[0], Limits(), clock=clock, holder="host-1")
    second = Alerter(stores[1], Limits(), clock=clock, holder="host-2")
    offline_terminal(stores[0], clock)
    ran: list[tuple[bool, bool]] = []
    for _ in range(3):
        ran.append((first.tick(), second.tick()))
        clock.advance(1.0)
    assert ran == [(True, False)] * 3
    assert [m["kind"] for m in first.take()] == ["terminal_offline"]
    assert second.take() == []
    assert not second.tick(force=True)  # forced or not: not while the other holds it

    # the first stops renewing: the second waits for the lease to expire, then runs them
    took_over = None
    for n in range(30):
        clock.advance(1.0)
        if second.tick():
            took_over = n + 1
            break
    assert took_over is not None and 2 <= took_over <= 10
    clock.advance(1.0)
    assert second.tick()
    assert not first.tick()  # back again: the second holds it now
    assert [a["kind"] for a in listing(stores[0])] == ["terminal_offline"]  # raised once


def test_a_lone_process_without_a_name_always_ticks(store_url: str) -> None:
    """GIVEN one Alerter without a holder name (one process alone on its database)
    WHEN it ticks THEN the rules run, as before (no lease to take)."""
    store = Store(store_url)
    try:
        clock = Clock()
        alerter = Alerter(store, Limits(), clock=clock)
        offline_terminal(store, clock)
        assert alerter.tick()
        assert [m["kind"] for m in alerter.take()] == ["terminal_offline"]
    finally:
        store.close()


class Timer:
    def __init__(self) -> None:
        self.at = 100.0

    def __call__(self) -> float:
        return self.at


def slow_fleet(store: Store, timer: Timer, took: list[float]) -> None:
    """`store.fleet` taking `took[0]` seconds of `timer` each time."""
    fleet = store.fleet

    def slow(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        timer.at += took[0]
        return fleet(*args, **kwargs)

    store.fleet = slow  # type: ignore[method-assign]


def test_a_slow_tick_puts_the_next_further_off_and_says_so_once(
    store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """GIVEN an Alerter with interval_s 1 whose fleet read takes 0.5 s
    WHEN it ticks, then again as the clock moves on a second at a time
    THEN the next run comes 5 s later (10 x 0.5 s), not 1 s, the log says so once
    however many runs are slow, and once the reads are quick again it ticks every
    second again."""
    store = Store(store_url)
    try:
        clock, timer, took = Clock(), Timer(), [0.5]
        slow_fleet(store, timer, took)
        alerter = Alerter(store, Limits(interval_s=1.0), clock=clock, timer=timer)
        caplog.set_level(logging.INFO, logger="posterm.host")
        ran = []
        for _ in range(11):
            ran.append(alerter.tick())
            clock.advance(1.0)
        assert ran == [True, False, False, False, False] * 2 + [True]
        stretched = [r for r in caplog.records if "instead of every" in r.getMessage()]
        assert len(stretched) == 1
        assert "every 5.0 s instead of every 1.0 s" in stretched[0].getMessage()

        took[0] = 0.01  # quick again: back to every interval_s
        clock.advance(4.0)
        ran = []
        for _ in range(3):
            ran.append(alerter.tick())
            clock.advance(1.0)
        assert ran == [True, True, True]
        assert any("every 1.0 s again" in r.getMessage() for r in caplog.records)
    finally:
        store.close()


def test_a_process_not_holding_the_lease_still_updates_its_alert_metric(
    tmp_path: Path, store_url: str
) -> None:
    """GIVEN two shared host processes (instances 1 and 2) on one database, each with its
    metrics, and an alert open in the database
    WHEN each goes round its loop once (the rules' time has come for both)
    THEN only one runs the rules, but both metrics count the open alert (a mute set or
    ending elsewhere shows in every process, as before the lease)."""
    config = tmp_path / "host.toml"
    config.write_text(
        '[host]\nid = "hq"\n[mqtt]\nurl = "mqtt://127.0.0.1:1"\nshare_group = "g"\n'
        f'[store]\nurl = "{store_url}"\n'
    )
    services = []
    for instance in ("1", "2"):
        store = Store(store_url)
        svc = HostService(load(config), store, Metrics(store), instance=instance, sends=False)
        svc.client.publish = lambda *a, **kw: None  # type: ignore[method-assign]
        services.append(svc)
    try:
        with services[0].store.db.tx() as tx:
            tx.execute(
                "INSERT INTO alerts (alert_id, kind, terminal, subject, raised_at, detail)"
                " VALUES ('a-1', 'reconcile_mismatch', 'pos-a', 'batch 1',"
                " '2026-12-04T10:00:00.000Z', '{}')"
            )
        ran = []
        for svc in services:
            turns = svc.alerter.turns
            svc._round()
            ran.append(svc.alerter.turns > turns)
        assert ran == [True, True]
        shown = [
            svc.metrics.registry.get_sample_value(
                "posterm_alerts_open", {"kind": "reconcile_mismatch"}
            )
            for svc in services
            if svc.metrics is not None
        ]
        assert shown == [1.0, 1.0]
    finally:
        for svc in services:
            svc.store.close()

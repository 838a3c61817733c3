"""The Pi's health from telemetry (CPU temperature, under-voltage and throttling, disk free,
clock sync): kept with the terminal's latest telemetry and shown in its fleet row, alerted
over the `[alerts]` thresholds (host/alerts/health.py), and exported as Prometheus metrics
(host/metrics.py). On SQLite and PostgreSQL (`store_url`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from posterm.host.alerts.engine import Alerter, listing
from posterm.host.alerts.rules import Limits
from posterm.host.metrics import Metrics
from posterm.host.store import Store
from tests.host.test_alerts import Clock

TID = "pos-a"
HEALTHY = {
    "cpu_temp_c": 51.5,
    "throttled_now": [],
    "throttled_since_boot": ["under_voltage"],
    "disk_free_bytes": 8_000_000_000,
    "clock_synchronized": True,
    "uptime_s": 700.0,  # postermd's: over [alerts] clock_s (600 s)
}


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = Store(store_url)
    yield s
    s.close()


def test_health_is_kept_and_alerted_over_the_thresholds(store: Store) -> None:
    """GIVEN an online Pi WHEN its telemetry is healthy THEN its fleet row's `health` says
    so and no alert; WHEN it is hot, under-voltage, short of disk and unsynchronised THEN
    pi_hot, pi_power, pi_disk and pi_clock (the clock once postermd has run [alerts]
    clock_s); WHEN healthy again THEN all four clear."""
    clock = Clock()
    alerter = Alerter(store, Limits(cpu_temp_c=80, disk_free_mb=200), clock=clock)
    assert store.saw_status(TID, {"online": True, "session": 1}, at=clock.iso)

    def tele(**health: Any) -> list[dict[str, Any]]:
        data = {"mode": "ready", "paper": "ok", "printer": "online, paper ok", **health}
        store.saw_telemetry(TID, data, at=clock.iso)
        assert alerter.tick(force=True)
        return alerter.take()

    assert tele(**{**HEALTHY, "clock_synchronized": False, "uptime_s": 599.0}) == []  # NTP's time
    (row,) = store.fleet(clock.iso)
    assert row["health"]["clock_synchronized"] is False
    assert tele(**HEALTHY) == []
    (row,) = store.fleet(clock.iso)
    assert row["health"] == HEALTHY
    clock.advance(10)
    sick = {
        "cpu_temp_c": 80.0,
        "throttled_now": ["under_voltage", "throttled"],
        "disk_free_bytes": 199_999_999,
        "clock_synchronized": False,
    }
    raised = {m["kind"]: m for m in tele(**{**HEALTHY, **sick})}
    assert set(raised) == {"pi_hot", "pi_power", "pi_disk", "pi_clock"}
    assert raised["pi_hot"]["detail"]["cpu_temp_c"] == 80.0
    assert raised["pi_power"]["detail"]["throttled_now"] == ["under_voltage", "throttled"]
    assert raised["pi_disk"]["detail"]["disk_free_bytes"] == 199_999_999
    names = {r["kind"]: r["name"] for r in listing(store, open_only=True)}
    assert names["pi_power"] == "Pi under-voltage or throttled"
    clock.advance(10)
    cleared = tele(**HEALTHY)
    assert {m["kind"] for m in cleared if "cleared_at" in m} == set(raised)


def test_a_terminal_that_is_no_pi_raises_nothing(store: Store) -> None:
    """GIVEN telemetry without health values (not a Pi) THEN no health alert and `health`
    holds None for each."""
    clock = Clock()
    alerter = Alerter(store, Limits(), clock=clock)
    assert store.saw_status(TID, {"online": True, "session": 1}, at=clock.iso)
    store.saw_telemetry(TID, {"mode": "ready", "paper": "ok"}, at=clock.iso)
    assert alerter.tick(force=True) and alerter.take() == []
    (row,) = store.fleet(clock.iso)
    assert set(row["health"].values()) == {None}


def test_health_metrics(store: Store) -> None:
    """GIVEN the metrics WHEN a Pi's telemetry arrives THEN its temperature, throttling,
    disk free and clock are samples; WHEN a later telemetry does not tell them THEN the
    samples are gone (no stale value)."""
    reg = CollectorRegistry()
    metrics = Metrics(store, reg)
    metrics.telemetry(TID, {**HEALTHY, "throttled_now": ["under_voltage"]})

    def value(name: str) -> float | None:
        return reg.get_sample_value(name, {"terminal": TID})

    assert value("posterm_pi_cpu_temperature_celsius") == 51.5
    assert value("posterm_pi_throttled") == 1.0
    assert value("posterm_pi_disk_free_bytes") == 8e9
    assert value("posterm_pi_clock_synchronized") == 1.0
    metrics.telemetry(TID, {**HEALTHY, "clock_synchronized": False})
    assert value("posterm_pi_throttled") == 0.0
    assert value("posterm_pi_clock_synchronized") == 0.0
    metrics.telemetry(TID, {"oldest_unsent_age_s": None})
    assert value("posterm_pi_cpu_temperature_celsius") is None
    assert value("posterm_pi_disk_free_bytes") is None

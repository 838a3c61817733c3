"""`posterm_alerts_open` counts the open alerts an operator has not muted; those muted now
are `posterm_alerts_muted`, and a mute that ends counts as open again. On SQLite and
PostgreSQL (`store_url`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from posterm.host.alerts import acks
from posterm.host.alerts.engine import Alerter
from posterm.host.alerts.rules import Limits
from posterm.host.metrics import Metrics
from posterm.host.store import Store
from posterm.protocol.mqtt.events import now_rfc3339
from tests.host.test_alert_acks import pt_down
from tests.host.test_alerts import Clock


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = Store(store_url)
    yield s
    s.close()


def gauges(store: Store) -> tuple[float | None, float | None]:
    """(open, muted) pt_down alerts as a fresh exporter reads them from the store."""
    registry = CollectorRegistry()
    Metrics(store, registry)
    return (
        registry.get_sample_value("posterm_alerts_open", {"kind": "pt_down"}),
        registry.get_sample_value("posterm_alerts_muted", {"kind": "pt_down"}),
    )


def test_a_muted_alert_is_not_counted_open_until_its_mute_ends(store: Store) -> None:
    """GIVEN an open pt_down alert (open 1, muted 0) WHEN alice mutes it for 2 h THEN it
    counts as muted, not open; WHEN the mute has ended THEN it is open again."""
    clock = Clock()
    alert = pt_down(store, Alerter(store, Limits(), clock=clock), clock)
    assert gauges(store) == (1.0, 0.0)
    wall = now_rfc3339()  # the exporter counts mutes as of the wall clock
    acks.mute(store, alert["alert_id"], by="alice", seconds=acks.duration_s("2h"), now=wall)
    assert gauges(store) == (0.0, 1.0)
    with store.db.tx() as tx:  # two hours later: the mute ran out
        tx.execute(
            "UPDATE alerts SET muted_until = ? WHERE alert_id = ?",
            ("2000-01-01T00:00:00.000Z", alert["alert_id"]),
        )
    assert gauges(store) == (1.0, 0.0)

"""The terminal page's health history without a browser: the Pi's health kept in the
telemetry history (SQLite and PostgreSQL), the SVG step plots with a time axis over the
real range of their points, and the range picker's query."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from posterm.host import lookup
from posterm.host.store import Store
from posterm.host.web import plots, terminalplots
from posterm.protocol.errorcodes import ErrorCode
from posterm.protocol.mqtt.events import rfc3339
from tests.host.conftest import pg_cluster, pg_url, store_url  # noqa: F401 (fixtures)

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
PI = {
    "mode": "ready",
    "paper": "ok",
    "pt_link": "up",
    "outbox_depth": 0,
    "cpu_temp_c": 48.5,
    "throttled_now": [],
    "disk_free_bytes": 12_000_000_000,
    "clock_synchronized": True,
}


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = Store(store_url)
    yield s
    s.close()


def ago(minutes: float) -> str:
    return rfc3339(NOW - timedelta(minutes=minutes))


def tick_texts(svg: str) -> list[str]:
    return re.findall(r'<text class="tick"[^>]*>([^<]*)</text>', svg)


def polyline_ys(svg: str) -> list[list[float]]:
    """Each polyline's y coordinates, in order."""
    return [
        [float(p.split(",")[1]) for p in points.split()]
        for points in re.findall(r'<polyline points="([^"]*)"', svg)
    ]


def test_a_known_history_has_its_tick_labels_and_point_count() -> None:
    """GIVEN four points from 10:00 to 11:00 UTC WHEN plotted THEN the axis runs from the
    first point to the last with ticks every 15 minutes labelled 10:00 … 11:00, and the
    plot says it holds 4 points; over midnight the first tick of each day has its date."""
    svg = plots.steps(
        [
            ("2026-11-29T10:00:00.000Z", 1.0),
            ("2026-11-29T10:20:00.000Z", 3.0),
            ("2026-11-29T10:40:00.000Z", 2.0),
            ("2026-11-29T11:00:00.000Z", 2.0),
        ],
        "outbox",
    )
    assert tick_texts(svg) == ["10:00", "10:15", "10:30", "10:45", "11:00"]
    assert 'data-points="4"' in svg and 'data-at="2026-11-29T10:15:00+00:00"' in svg
    night = plots.steps(
        [("2026-11-28T22:00:00.000Z", 1.0), ("2026-11-29T06:00:00.000Z", 1.0)], "night"
    )
    assert tick_texts(night) == ["28 Nov 22:00", "29 Nov 00:00", "02:00", "04:00", "06:00"]
    # a short range starting off the minute: ticks at whole minutes inside it only
    short = plots.steps(
        [("2026-11-29T10:00:30.000Z", 1.0), ("2026-11-29T10:03:10.000Z", 1.0)], "short"
    )
    assert tick_texts(short) == ["10:01", "10:02", "10:03"]


def test_numbers_are_scaled_between_their_own_low_and_high_with_the_unit() -> None:
    """GIVEN temperatures 40 and 60 °C with a hole between WHEN plotted from the lowest
    value THEN two polylines, 60 at the top and 40 at the bottom, labelled with the unit."""
    svg = plots.steps(
        [
            ("2026-11-29T10:00:00.000Z", 40.0),
            ("2026-11-29T10:10:00.000Z", None),
            ("2026-11-29T10:20:00.000Z", 60.0),
        ],
        "cpu",
        bottom=None,
        unit=" °C",
    )
    (low,), (high,) = ({*ys} for ys in polyline_ys(svg))
    assert high < low  # SVG's y grows downwards
    assert ">60 °C<" in svg and ">40 °C<" in svg


def test_an_empty_history_says_no_data_in_this_range() -> None:
    svg = plots.steps([], "x")
    assert "no data in this range" in svg and "<polyline" not in svg
    assert 'data-points="0"' in svg and tick_texts(svg) == []


def test_the_pi_health_is_kept_in_the_history(store: Store) -> None:
    """GIVEN telemetry with the Pi's health, one with under-voltage, one from a terminal
    that is no Pi, and one with nonsense in the health fields WHEN the history is read
    THEN the values are kept, throttling as its words, nothing told as None."""
    store.saw_telemetry("pos-1", PI, at=ago(30))
    store.saw_telemetry(
        "pos-1",
        {**PI, "throttled_now": ["under_voltage", "throttled"], "clock_synchronized": False},
        at=ago(20),
    )
    store.saw_telemetry("pos-1", {"mode": "ready"}, at=ago(10))
    bad = {"cpu_temp_c": "hot", "throttled_now": [1], "disk_free_bytes": True}
    store.saw_telemetry("pos-1", {**bad, "clock_synchronized": "yes"}, at=ago(5))
    rows = store.telemetry_history("pos-1", ago(60))
    keys = ("cpu_temp_c", "throttled_now", "disk_free_bytes", "clock_synchronized")
    assert [tuple(r[k] for k in keys) for r in rows] == [
        (48.5, "", 12_000_000_000, 1),
        (48.5, "under_voltage,throttled", 12_000_000_000, 0),
        (None, None, None, None),
        (None, None, None, None),
    ]


def test_the_range_picker_changes_the_query(store: Store) -> None:
    """GIVEN telemetry 30 minutes, 3 hours and 30 hours ago WHEN the terminal page's plots
    are built for 1 h, 6 h and 48 h THEN each holds the points of its range only (seven
    plots, health first), its real first and last times; a range not offered is refused
    with the ones that are; a range with nothing says so in every plot."""
    for minutes, temp in ((30 * 60, 70.0), (3 * 60, 55.0), (30, 45.0)):
        store.saw_telemetry("pos-1", {**PI, "cpu_temp_c": temp}, at=ago(minutes))
    shown = {r: terminalplots.build(store, "pos-1", r, now=NOW) for r in ("1h", "6h", "48h")}
    assert {r: s["points"] for r, s in shown.items()} == {"1h": 1, "6h": 2, "48h": 3}
    assert (shown["6h"]["first"], shown["6h"]["last"]) == (ago(180), ago(30))
    captions = [caption for caption, _ in shown["48h"]["plots"]]
    assert captions == [
        "CPU temperature",
        "Under-voltage, throttling",
        "Disk free",
        "Clock",
        "Paper",
        "PT link",
        "Outbox depth",
    ]
    for r, s in shown.items():
        assert all(f'data-points="{s["points"]}"' in svg for _, svg in s["plots"]), r
    cpu = shown["48h"]["plots"][0][1]
    assert ">70 °C<" in cpu and ">45 °C<" in cpu
    assert terminalplots.pick_range(None) == "6h" and terminalplots.pick_range("24h") == "24h"
    with pytest.raises(lookup.LookupFailed) as refused:
        terminalplots.pick_range("7d")
    assert refused.value.code == ErrorCode.BAD_REQUEST
    assert refused.value.message == "range: one of 1h, 6h, 24h, 48h"
    later = terminalplots.build(store, "pos-1", "1h", now=NOW + timedelta(hours=2))
    assert later["points"] == 0 and later["first"] is None
    assert all("no data in this range" in svg for _, svg in later["plots"])


def test_power_shows_under_voltage_below_throttling_below_ok(store: Store) -> None:
    """GIVEN no throttling, throttling, under-voltage, then a terminal that tells nothing
    WHEN the power plot is drawn THEN its steps go down level by level, then a hole."""
    for minutes, words in ((40, []), (30, ["throttled"]), (20, ["under_voltage"])):
        store.saw_telemetry("pos-1", {**PI, "throttled_now": words}, at=ago(minutes))
    store.saw_telemetry("pos-1", {"mode": "ready"}, at=ago(10))
    power = terminalplots.build(store, "pos-1", "1h", now=NOW)["plots"][1][1]
    (ys,) = polyline_ys(power)
    ok, throttled, under = ys[0], ys[2], ys[4]
    assert ys == [ok, ok, throttled, throttled, under, under]
    assert ok < throttled < under

"""The terminal page in a real browser (Debian's chromium through Playwright) against a real
`posterm-host run --http`: the Pi's health history plots and their range picker, times in
the operator's own zone, at 1366 and 390 px."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from posterm.host.store import Store
from posterm.protocol.mqtt.events import rfc3339
from tests.web.conftest import ARTIFACTS, Console, WebHost, login

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)

TID = "pos-pi"
PI = {
    "mode": "ready",
    "reason": "ready",
    "printer": "online, paper ok",
    "paper": "ok",
    "pt_link": "up",
    "outbox_depth": 0,
    "cpu_temp_c": 51.0,
    "throttled_now": [],
    "disk_free_bytes": 9_000_000_000,
    "clock_synchronized": True,
}


def told(host: WebHost, now: datetime) -> None:
    """The terminal's history, as ingest stores it: 3 h, 50, 30 and 1 min ago (under-
    voltage 30 min ago)."""
    store = Store(f"sqlite://{host.tmp / 'host.db'}")
    try:
        store.saw_status(TID, {"online": True, "session": 1})
        for minutes, extra in (
            (180, {"cpu_temp_c": 47.0}),
            (50, {}),
            (30, {"throttled_now": ["under_voltage"], "cpu_temp_c": 68.5}),
            (1, {}),
        ):
            store.saw_telemetry(TID, {**PI, **extra}, at=rfc3339(now - timedelta(minutes=minutes)))
    finally:
        store.close()


def page_width(page: Any) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def test_the_terminal_page_plots_the_pi_health_over_a_picked_range(
    web_host: WebHost, browser: Any
) -> None:
    """GIVEN a Pi's telemetry of the last 3 hours WHEN the operator opens its page THEN the
    health plots (temperature, power, disk, clock) and the paper, link and outbox plots hold
    the last 6 hours' 4 points, with labelled time ticks; "last 1 h" shows 3 points, a range
    the history does not keep is refused with the ones offered, and at 1366 and 390 px the
    page has no sideways scroll (screenshots in build/test-artifacts/web/)."""
    console = Console()
    told(web_host, datetime.now(UTC))
    context, page = login(
        browser, web_host, "olga", console, viewport={"width": 1366, "height": 900}
    )
    page.goto(f"/terminals/{TID}")
    expect(page.locator("#range")).to_have_attribute("data-points", "4")
    captions = page.locator(".plots figcaption")
    expect(captions).to_have_text(
        [
            "CPU temperature",
            "Under-voltage, throttling",
            "Disk free",
            "Clock",
            "Paper",
            "PT link",
            "Outbox depth",
        ]
    )
    for svg in page.locator("svg.plot").all():
        assert svg.get_attribute("data-points") == "4"
        assert svg.locator("text.tick").count() >= 2  # a time axis with labelled ticks
    cpu = page.locator("svg.plot").first
    expect(cpu).to_contain_text("68.5 °C")
    expect(page.locator('nav.ranges a[aria-current="page"]')).to_have_text("last 6 h")
    page.screenshot(path=str(ARTIFACTS / "terminal-health-1366.png"), full_page=True)
    assert page_width(page) <= 1366

    page.click('nav.ranges a[data-range="1h"]')
    page.wait_for_url("**range=1h*")
    expect(page.locator("#range")).to_have_attribute("data-points", "3")
    expect(page.locator('nav.ranges a[aria-current="page"]')).to_have_text("last 1 h")
    refused = context.request.get(f"/terminals/{TID}?range=7d")
    assert refused.status == 400 and "range: one of 1h, 6h, 24h, 48h" in refused.text()
    api = context.request.get(f"/api/terminals/{TID}?range=1h").json()
    assert len(api["telemetry"]) == 3 and api["telemetry"][1]["throttled_now"] == "under_voltage"

    phone = context.new_page()
    console.watch(phone)
    phone.set_viewport_size({"width": 390, "height": 844})
    phone.goto(f"/terminals/{TID}?range=24h")
    expect(phone.locator("svg.plot")).to_have_count(7)
    phone.screenshot(path=str(ARTIFACTS / "terminal-health-390.png"), full_page=True)
    width = page_width(phone)
    assert width <= 390, f"the terminal page is {width} px wide at 390 px"
    context.close()
    assert console.errors == []


def test_times_show_in_the_operators_zone_with_their_age(web_host: WebHost, browser: Any) -> None:
    """GIVEN a terminal last heard of on 15 Jan 2026 10:00 UTC and a Pi with a recent
    history WHEN an operator in Berlin opens the pages THEN the last-seen time reads 11:00
    in Berlin (GMT+1) with its age, the page without script holds the UTC time, the plots'
    time ticks and their zone are Berlin's, and the fleet page's refresh time and the audit
    log's times are in Berlin's zone too."""
    console = Console()
    now = datetime.now(UTC)
    told(web_host, now)
    store = Store(f"sqlite://{web_host.tmp / 'host.db'}")
    try:
        store.saw_status("pos-old", {"online": True, "session": 1})
        store.saw_telemetry("pos-old", PI, at="2026-01-15T10:00:00.000Z")
    finally:
        store.close()
    berlin = ZoneInfo("Europe/Berlin")
    zone_now = f"GMT+{int(now.astimezone(berlin).utcoffset().total_seconds() // 3600)}"
    context, page = login(
        browser, web_host, "olga", console, timezone_id="Europe/Berlin", locale="en-US"
    )
    expect(page.locator("#updated time")).to_contain_text(zone_now)

    page.goto("/terminals/pos-old")
    seen = page.locator("p time").first
    expect(seen).to_contain_text("Jan 15, 2026, 11:00:00 AM GMT+1")
    expect(seen).to_contain_text("days ago")
    expect(seen).to_have_attribute("title", "2026-01-15T10:00:00.000Z")
    raw = context.request.get("/terminals/pos-old").text()  # what shows without script
    assert '<time datetime="2026-01-15T10:00:00.000Z">2026-01-15T10:00:00.000Z</time>' in raw

    page.goto(f"/terminals/{TID}")
    expect(page.locator("#range .zone")).to_have_text("Europe/Berlin")
    ticks = page.locator("svg.plot").first.locator("text.tick")
    assert ticks.count() >= 2
    for tick in ticks.all():
        at = datetime.fromisoformat(tick.get_attribute("data-at") or "").astimezone(berlin)
        clock = at.strftime("%H:%M")
        if " " in (tick.get_attribute("data-utc") or ""):  # a UTC day's first tick: its date
            clock = f"{at:%b} {at.day}, {clock}"
        assert tick.text_content() == clock

    page.goto("/audit")
    expect(page.locator("#audit tbody tr").first.locator("time").first).to_contain_text(zone_now)
    context.close()
    assert console.errors == []

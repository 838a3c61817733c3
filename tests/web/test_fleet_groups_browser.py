"""The fleet page filtered and grouped by site and tag in a real browser (Debian's
chromium) against a real `posterm-host run --http` fed through Mosquitto, on a laptop
(1366 px) and a phone (390 px): the filters keep the search and the pages, and the page's
own refresh keeps the groups."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from posterm.host.enrol import codes
from posterm.host.store import Store
from tests.support.broker import Broker
from tests.support.fleet import Fleet
from tests.web.conftest import ARTIFACTS, Console, WebHost, login

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)

NORTH = [f"n-{i:03d}" for i in range(120)]
SOUTH = [f"s-{i:02d}" for i in range(10)]
WAIT_MS = 30_000


@pytest.fixture
def labelled(broker: Broker, web_host: WebHost, tmp_path: Path) -> Iterator[Fleet]:
    """130 terminals online: 120 at site north (every fourth tagged till), 10 at south
    tagged front and till."""
    store = Store(f"sqlite://{tmp_path / 'host.db'}")
    try:
        for i, tid in enumerate(NORTH):
            codes.new(store, site="north", tags=("till",) if i % 4 == 0 else (), terminal=tid)
        for tid in SOUTH:
            codes.new(store, site="south", tags=("front", "till"), terminal=tid)
    finally:
        store.close()
    fleet = Fleet(broker.port, NORTH + SOUTH, name="labelled")
    fleet.birth()
    yield fleet
    fleet.close()


@pytest.mark.parametrize("width", [1366, 390])
def test_the_fleet_page_filters_and_groups_by_site_and_tag_keeping_search_and_pages(
    labelled: Fleet, web_host: WebHost, browser: Any, width: int
) -> None:
    """GIVEN 120 terminals at north, 10 at south WHEN the operator picks site north in the
    filter THEN 120 match on 2 pages and page 2's link keeps the site (20 rows, all north);
    WHEN they pick site south, group by tag and a search THEN the rows come
    under a heading per tag, the search kept, and the page's refresh keeps the headings;
    no sideways scroll at either width; screenshots of both."""
    console = Console()
    size = {"width": width, "height": 900}
    context, page = login(browser, web_host, "olga", console, viewport=size)
    expect(page.locator("#matched")).to_have_text(str(len(NORTH) + len(SOUTH)), timeout=WAIT_MS)

    page.select_option('#fleet-filter select[name="site"]', "north")
    page.select_option('#fleet-filter select[name="sort"]', "terminal")
    page.click("#fleet-filter button[type=submit]")
    expect(page.locator("#matched")).to_have_text("120")
    expect(page.locator("#fleet-body tr[data-terminal]")).to_have_count(100)
    page.click('#pages a:text-is("2")')
    expect(page.locator("#fleet-body tr[data-terminal]")).to_have_count(20)
    assert "site=north" in page.url and "page=2" in page.url
    shown = page.locator("#fleet-body tr[data-terminal]").evaluate_all(
        "rows => rows.map(r => r.dataset.terminal)"
    )
    assert shown == NORTH[100:]
    expect(page.locator('#fleet-body tr[data-terminal="n-100"] small.labels')).to_have_text(
        "north · till"
    )

    page.select_option('#fleet-filter select[name="site"]', "south")
    page.select_option('#fleet-filter select[name="group"]', "tag")
    page.fill('#fleet-filter input[name="q"]', "s-0")
    page.click("#fleet-filter button[type=submit]")
    expect(page.locator("#matched")).to_have_text("10")
    headings = page.locator("#fleet-body tr.group")
    expect(headings).to_have_count(2)
    expect(headings.nth(0)).to_have_text("tag front")
    expect(headings.nth(1)).to_have_text("tag till")
    expect(page.locator("#fleet-body tr[data-terminal]")).to_have_count(20)
    assert page.locator('#fleet-filter input[name="q"]').input_value() == "s-0"
    polled = int(page.locator("#fleet").get_attribute("data-polled") or "0")
    expect(page.locator("#fleet")).not_to_have_attribute(
        "data-polled", str(polled), timeout=WAIT_MS
    )  # refreshed from /api/fleet since: the headings are still there
    expect(headings).to_have_count(2)
    expect(page.locator("#fleet-body tr[data-terminal]")).to_have_count(20)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"fleet-groups-{width}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    context.close()
    assert console.errors == []

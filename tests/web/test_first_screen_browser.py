"""The first screen at 500 terminals in a real browser (Debian's chromium through
Playwright) against a real `posterm-host run --http`: 500 terminals of the load generator
(tests/support/fleet.py) publishing real telemetry through Mosquitto, and the real postermd
with a refund awaiting approval; on a laptop (1280 px) and a phone (390 px)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from posterm.host.web.fleetview import PER_PAGE
from tests.support.broker import Broker
from tests.support.fleet import Fleet
from tests.support.rig import Rig
from tests.web.conftest import ARTIFACTS, Console, WebHost, login

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)

TID = "pos-test"  # the real postermd of the rig
COUNT = 500
PERIOD_S = 10.0  # the load generator's telemetry period
POLL_MS = 1_500  # the fleet page's own refresh (static/app.js)
WAIT_MS = 60_000
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "timezone_id": "Asia/Kolkata",
    "locale": "en-US",
}


class Telemetry:
    """The 500 terminals' telemetry every PERIOD_S, each with its own overrides."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet, self.modes = fleet, dict[str, dict[str, Any]]()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="telemetry", daemon=True)

    def _run(self) -> None:
        while True:
            for tid in self.fleet.tids:
                self.fleet.telemetry_of(tid, period_s=PERIOD_S, **self.modes.get(tid, {}))
            if self.stop.wait(PERIOD_S):
                return


@pytest.fixture
def fleet(broker: Broker) -> Iterator[Telemetry]:
    f = Fleet(broker.port, [f"pos-{i:03d}" for i in range(COUNT)], name="screen")
    f.birth()
    t = Telemetry(f)
    t.thread.start()
    yield t
    t.stop.set()
    t.thread.join(10)
    f.close()


def no_sideways_scroll(page: Any) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


@pytest.mark.long
def test_500_terminals_first_screen_on_a_laptop_and_a_phone(
    rig: Rig, web_host: WebHost, browser: Any, fleet: Telemetry
) -> None:
    """GIVEN 500 terminals publishing telemetry and a real terminal with a sale and a refund
    awaiting approval WHEN the operator opens the fleet page THEN the cards count all 501 and
    the first page shows 100 rows worst first; a terminal pulled into pt_down comes first,
    red, saying why, within one telemetry period, without a reload; filtered by payments
    only it is shown, and a bad filter gets 400; the sale downloads as CSV; at 390 px the
    fleet, terminal and refunds pages have no sideways scroll, Approve is on screen, and
    times are in the operator's own zone; screenshots of each page at both widths."""
    console = Console()
    code, sale = rig.cli("sale", "90.00")
    assert code == 0, sale
    code, refund = rig.cli("refund", sale["txn_id"], "70.00", "--reason", "goods_returned")
    assert refund["state"] == "awaiting_approval", refund
    context, page = login(
        browser, web_host, "olga", console, viewport={"width": 1280, "height": 900}
    )

    rows = page.locator("#fleet-body tr[data-terminal]")
    expect(page.locator("#card-online .n")).to_have_text(str(COUNT + 1), timeout=WAIT_MS)
    expect(page.locator("#card-pending .n")).to_have_text("1", timeout=WAIT_MS)
    expect(page.locator("#card-takings")).to_contain_text("1 · 90.00 EUR", timeout=WAIT_MS)
    started = time.monotonic()
    page.goto("/")
    expect(rows).to_have_count(PER_PAGE)  # the first page of the worst first
    expect(page.locator("#matched")).to_have_text(str(COUNT + 1))
    expect(page.locator("#card-online .n")).to_have_text(str(COUNT + 1))
    print(f"\nfirst screen of {COUNT + 1} terminals: {time.monotonic() - started:.2f} s")
    timing = page.evaluate(
        "(() => { const n = performance.getEntriesByType('navigation')[0];"
        " return [n.responseStart, n.responseEnd, n.domContentLoadedEventEnd, n.loadEventEnd]"
        ".map(Math.round); })()"
    )
    print("navigation ms (first byte, last byte, DOMContentLoaded, load):", timing)
    assert page.locator('#fleet-body tr[data-payments="no"]').count() == 0

    page.evaluate("window.notReloaded = true")
    first = page.locator("#fleet-body tr[data-terminal]").first
    expect(first).to_have_attribute("data-terminal", "pos-000")
    fleet.modes["pos-123"] = {"mode": "pt_down", "reason": "no answer from the PT"}
    # on page 2 by its id; not able to take payments, it comes first on page 1
    expect(first).to_have_attribute("data-terminal", "pos-123", timeout=PERIOD_S * 1000 + POLL_MS)
    expect(first).to_have_attribute("data-payments", "no")
    expect(first.locator("td.payments")).to_have_text("PT down (no answer from the PT)")
    assert first.evaluate("r => getComputedStyle(r).backgroundColor") == "rgb(253, 232, 234)"
    expect(first).to_have_attribute("data-state", "online")  # online, and still red
    expect(page.locator("#card-not-paying .n")).to_have_text("1")
    assert page.evaluate("window.notReloaded") is True
    page.screenshot(path=str(ARTIFACTS / "fleet-1280.png"))  # 100 rows: not full_page

    page.select_option('select[name="payments"]', "no")
    page.click('#fleet-filter button[type="submit"]')
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-terminal", "pos-123")
    table = page.locator("#fleet")
    for _ in range(2):  # two refreshes later the filter still holds
        polled = table.get_attribute("data-polled") or "0"
        expect(table).not_to_have_attribute("data-polled", polled, timeout=WAIT_MS)
    expect(rows).to_have_count(1)
    bad = context.request.get("/api/fleet?state=green")
    assert bad.status == 400 and bad.json()["code"] == "bad_request", bad.text()
    assert context.request.get("/?state=green").status == 400

    page.goto(f"/receipts?terminal={TID}")
    with page.expect_download() as download:
        page.click("#csv")
    exported = Path(download.value.path()).read_text()
    assert exported.splitlines()[0].startswith("terminal,txn_id,kind,occurred_at,amount,")
    assert f"{TID},{sale['txn_id']},sale," in exported and ",90.00,EUR," in exported
    refused = context.request.get(f"/receipts.csv?terminal={TID}&amount=lots")
    assert refused.status == 400 and "amount" in refused.text(), refused.text()
    page.goto(f"/terminals/{TID}")
    expect(page.locator("#payments")).to_have_text("takes payments")
    page.screenshot(path=str(ARTIFACTS / "terminal-1280.png"), full_page=True)
    page.goto("/refunds")
    page.screenshot(path=str(ARTIFACTS / "refunds-1280.png"), full_page=True)

    phone, small = login(browser, web_host, "olga", console, **PHONE)
    expect(small.locator("#fleet-body tr[data-terminal]")).to_have_count(PER_PAGE)
    for path, name in (("/", "fleet"), (f"/terminals/{TID}", "terminal"), ("/refunds", "refunds")):
        small.goto(path)
        small.wait_for_load_state("load")
        width = no_sideways_scroll(small)
        small.screenshot(path=str(ARTIFACTS / f"{name}-390.png"), full_page=name != "fleet")
        assert width <= 390, f"{path} is {width} px wide at 390 px"
    row = small.locator(f'#pending tr[data-txn="{refund["txn_id"]}"]')
    approve = row.locator("button.approve")
    approve.scroll_into_view_if_needed()
    box = approve.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    assert box["height"] >= 44, box  # a thumb's size
    expect(row.locator("time")).to_contain_text("GMT+5:30")  # the operator's own zone
    expect(row.locator("time")).to_contain_text("ago")
    context.close()
    phone.close()
    assert console.errors == []

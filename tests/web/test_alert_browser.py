"""Alerts acknowledged and muted from the fleet screen, in a real browser (Debian's
chromium through Playwright) against a real `posterm-host run --http`: one operator
acknowledges an open alert with a note, a second operator's open page then says
"acknowledged by …" without a reload (issue 21's proof), and mutes it for a time."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from posterm.host.store import Store
from tests.support.broker import wait_for
from tests.web.conftest import ARTIFACTS, Console, WebHost, login
from tests.web.test_alert_api import ALERT, host  # noqa: F401 (fixture: one open alert)

pytestmark = pytest.mark.slow  # posterm-host and chromium (tests/support/tiers.py)

WAIT_MS = 30_000
NOTE = "batch re-sent by the shop"


def test_one_operator_acknowledges_and_another_sees_it(
    tmp_path: Path,
    host: WebHost,
    browser: Any,
) -> None:
    """GIVEN an open alert and two operators, olga and otto, each on the fleet screen
    WHEN olga types a note and clicks Acknowledge (the request held on its way)
    THEN her alert's buttons are disabled while it runs, also across the screen's polls;
    once it is through, a sentence says it was done and her alert's line says
    "acknowledged by olga: “note”"; otto's page says the same by itself, without a reload;
    AND WHEN otto mutes it for 2 h THEN his line says muted until a time by otto, and
    olga's page follows; the store holds both words, the audit log both actions; the page
    as served says them too; a viewer sees them without buttons; at 390 px nothing
    scrolls sideways; no console error."""
    console = Console()
    _, olga = login(browser, host, "olga", console)
    _, otto = login(browser, host, "otto", console)
    mine = olga.locator(f'#alerts .alert[data-alert="{ALERT}"]')
    theirs = otto.locator(f'#alerts .alert[data-alert="{ALERT}"]')
    expect(mine).to_contain_text("Day close does not match on pos-a")
    expect(theirs.locator(".word")).to_have_text("")

    held: list[Any] = []

    def hold(route: Any) -> None:  # a function: Playwright tags its handler
        held.append(route)

    olga.route("**/api/alerts/*/ack", hold)
    mine.locator("input.note").fill(NOTE)
    mine.locator("button.ack").click()
    wait_for(lambda: held, "the acknowledgement's request")
    fleet = olga.locator("#fleet")
    polled = int(fleet.get_attribute("data-polled") or "0")
    wait_for(
        lambda: int(fleet.get_attribute("data-polled") or "0") >= polled + 2,
        "two polls of the fleet while the acknowledgement is held",
    )
    expect(mine.locator("button.ack")).to_be_disabled()
    expect(mine.locator("button.mute")).to_be_disabled()
    expect(mine.locator("output.result")).to_have_attribute("data-state", "waiting")
    held[0].continue_()
    olga.unroute("**/api/alerts/*/ack")
    result = mine.locator("output.result")
    expect(result).to_have_attribute("data-state", "ok", timeout=WAIT_MS)
    expect(result).to_have_text("Acknowledged: the other operators see it.")  # no JSON
    expect(mine.locator("button.ack")).to_be_enabled()
    said = f"acknowledged by olga: \u201c{NOTE}\u201d"
    expect(mine.locator(".word")).to_have_text(said)
    expect(theirs.locator(".word")).to_have_text(said, timeout=WAIT_MS)  # no reload

    theirs.locator("select.mute-for").select_option("2h")
    theirs.locator("button.mute").click()
    expect(theirs.locator("output.result")).to_have_text("Muted for 2 h.", timeout=WAIT_MS)
    expect(theirs.locator(".word")).to_contain_text(f"{said}; muted until ")
    expect(theirs.locator(".word")).to_contain_text(" by otto")
    expect(theirs.locator(".word .until")).to_contain_text(re.compile(r"\(in (2 h|1[12]\d min)\)"))
    expect(theirs).to_have_attribute("data-muted", "1")
    expect(mine.locator(".word")).to_contain_text(" by otto", timeout=WAIT_MS)

    store = Store(f"sqlite://{tmp_path / 'host.db'}")
    try:
        (row,) = store.db.rows("SELECT * FROM alerts WHERE alert_id = ?", (ALERT,))
        assert (row["acked_by"], row["ack_note"], row["muted_by"]) == ("olga", NOTE, "otto")
        audit = store.db.rows("SELECT username, action, ok FROM audit_log ORDER BY at")
        done = [(r["username"], r["action"], r["ok"]) for r in audit if "alert" in r["action"]]
        assert done == [("olga", "alert.ack", 1), ("otto", "alert.mute", 1)], done
    finally:
        store.close()

    served = olga.request.get("/").text()  # the page as the server writes it
    assert said in served
    assert 'muted until <span class="until" data-until="20' in served and " by otto" in served
    _, vic = login(browser, host, "vic", console)
    seen = vic.locator(f'#alerts .alert[data-alert="{ALERT}"]')
    expect(seen.locator(".word")).to_contain_text(said)
    expect(seen.locator("button")).to_have_count(0)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    olga.screenshot(path=str(ARTIFACTS / "alerts-acknowledged.png"), full_page=True)
    _, phone = login(browser, host, "olga", console, viewport={"width": 390, "height": 844})
    expect(phone.locator(f'#alerts .alert[data-alert="{ALERT}"] button.ack')).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    phone.screenshot(path=str(ARTIFACTS / "alerts-acknowledged-390.png"), full_page=True)
    assert console.errors == []

"""Close the day for a whole site from the dashboard (real browser, real posterm-host,
postermd and Mosquitto): a confirm step that says which terminals will be sent it, then a
progress page per terminal; viewers cannot start it."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.rig import Rig
from tests.web.conftest import ARTIFACTS, Console, WebHost, login

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)

TID = "pos-test"
WAIT_MS = 30_000


def test_an_operator_closes_the_day_for_a_site_and_sees_each_terminals_progress(
    rig: Rig, web_host: WebHost, browser: Any
) -> None:
    """GIVEN site north: the real terminal (a 30.00 sale today) and one never online; a
    terminal of site south
    WHEN the operator follows north's "close the day" link on the fleet page, reads the
    confirm page and confirms
    THEN the progress page shows the real terminal done with its batch's net total and the
    offline one not sent; the terminal journaled one end of day; the audit log has it; a
    viewer sees no confirm button and the POST is refused (403), nothing sent."""
    for tid, site in ((TID, "north"), ("pos-gone", "north"), ("pos-south", "south")):
        assert web_host.cli("enroll", "new", "--site", site, "--terminal", tid).returncode == 0
    assert rig.cli("sale", "30.00")[0] == 0
    console = Console()
    context, page = login(
        browser, web_host, "olga", console, viewport={"width": 1366, "height": 900}
    )
    expect(page.locator(f'#fleet-body tr[data-terminal="{TID}"]')).to_have_attribute(
        "data-state", "online", timeout=WAIT_MS
    )
    page.click('a.site-eod[data-site="north"]')
    expect(page.locator("#plan")).to_contain_text("1 of 2 terminals of site north")
    expect(page.locator(f'#site-eod tr[data-terminal="{TID}"] .status')).to_have_text("sent")
    expect(page.locator('#site-eod tr[data-terminal="pos-gone"] .status')).to_have_text(
        "not sent: offline"
    )
    expect(page.locator('#site-eod tr[data-terminal="pos-south"]')).to_have_count(0)
    assert [t for t in rig.txns() if t["kind"] == "eod"] == []  # the confirm page sent nothing
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "site-eod-confirm.png"), full_page=True)

    page.click("#confirm-eod button[type=submit]")
    expect(page.locator("#job-state")).to_have_attribute("data-finished", "yes", timeout=WAIT_MS)
    done = page.locator(f'#site-eod tr[data-terminal="{TID}"]')
    expect(done).to_have_attribute("data-status", "done")
    expect(done.locator(".details")).to_contain_text("batch net 30.00 EUR")
    expect(page.locator('#site-eod tr[data-terminal="pos-gone"]')).to_have_attribute(
        "data-status", "offline"
    )
    expect(page.locator("#job-state")).to_contain_text("1 of 2 terminals closed their day")
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(ARTIFACTS / "site-eod-progress-390.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    eods = [t for t in rig.txns() if t["kind"] == "eod"]
    assert [t["state"] for t in eods] == ["approved"]
    expect(done.locator(".details")).to_contain_text(eods[0]["txn_id"])
    page.goto("/audit")
    expect(page.locator("#audit tbody")).to_contain_text("eod.site")

    viewer, vpage = login(browser, web_host, "vic", console)
    vpage.goto("/sites/north/eod")
    expect(vpage.locator("#plan")).to_be_visible()
    expect(vpage.locator("#confirm-eod")).to_have_count(0)
    token = vpage.locator('meta[name="csrf-token"]').get_attribute("content")
    refused = viewer.request.post(
        "/sites/north/eod", form={"csrf_token": token or ""}, max_redirects=0
    )
    assert refused.status == 403
    assert len([t for t in rig.txns() if t["kind"] == "eod"]) == 1
    missing = context.request.get("/sites/nowhere/eod")
    assert missing.status == 404 and "no terminal is enrolled at site nowhere" in missing.text()
    viewer.close()
    context.close()
    assert console.errors == []

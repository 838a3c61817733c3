"""The fleet dashboard in a real browser (Debian's chromium through Playwright) against a
real `posterm-host run --http`, fed by the real postermd through Mosquitto."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.broker import wait_for
from tests.support.rig import Rig
from tests.web.conftest import ARTIFACTS, Console, WebHost, login

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)

TID = "pos-test"
WAIT_MS = 30_000


def pending_at_host(page: Any, txn: str) -> bool:
    refunds = page.request.get("/api/refunds?pending=1").json()["refunds"]
    return any(r["txn_id"] == txn for r in refunds)


@pytest.mark.long
def test_operator_sees_the_fleet_live_and_an_approval_runs_once(
    rig: Rig, web_host: WebHost, browser: Any
) -> None:
    """GIVEN a terminal reporting to the host WHEN the operator watches the fleet screen,
    THEN the terminal goes offline (its alert on top) and back without a reload; a refund
    request appears on the open refunds page by itself, and an approval clicked there
    reaches the terminal, runs once and its reply is shown; a terminal that does not answer
    gets a clear answer; no page logs a console error."""
    console = Console()
    code, sale = rig.cli("sale", "90.00")
    assert code == 0, sale
    context, page = login(browser, web_host, "olga", console)

    row = page.locator(f'#fleet-body tr[data-terminal="{TID}"]')
    expect(row).to_have_attribute("data-state", "online", timeout=WAIT_MS)
    page.evaluate("window.notReloaded = true")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "fleet.png"), full_page=True)

    rig.stop()  # a clean stop publishes the terminal's offline status
    expect(row).to_have_attribute("data-state", "offline", timeout=WAIT_MS)
    expect(page.locator("#alerts .alert")).to_contain_text(
        f"Terminal offline on {TID}", timeout=WAIT_MS
    )
    offline = context.request.post(
        f"/api/terminals/{TID}/eod",
        headers={"X-CSRF-Token": page.locator('meta[name="csrf-token"]').get_attribute("content")},
        data={"action": "eod", "terminal": TID},
    )
    assert offline.status == 504 and offline.json()["code"] == "no_reply", offline.text()
    rig.start()
    expect(row).to_have_attribute("data-state", "online", timeout=WAIT_MS)
    expect(page.locator("#alerts .alert")).to_have_count(0, timeout=WAIT_MS)  # cleared
    assert page.evaluate("window.notReloaded") is True  # the same page all along

    page.goto("/refunds")
    code, refund = rig.cli("refund", sale["txn_id"], "70.00", "--reason", "goods_returned")
    assert refund["state"] == "awaiting_approval", refund
    pending = page.locator(f'#pending tr[data-txn="{refund["txn_id"]}"]')  # appears by itself
    expect(pending.locator("td").nth(2)).to_contain_text("70.00", timeout=WAIT_MS)
    expect(pending.locator("td").nth(3)).to_contain_text(sale["txn_id"])
    held: list[Any] = []  # the approval held on its way: the row's buttons wait disabled

    def hold(route: Any) -> None:  # a function: Playwright tags its handler
        held.append(route)

    page.route("**/approve", hold)
    page.once("dialog", lambda dialog: dialog.accept())
    pending.locator("button.approve").click()
    result = pending.locator("output.result")
    expect(result).to_have_attribute("data-state", "waiting")
    expect(pending.locator("button.approve")).to_be_disabled()
    expect(pending.locator("button.reject")).to_be_disabled()
    wait_for(lambda: held, "the approval's request")
    held[0].continue_()
    page.unroute("**/approve")
    expect(result).to_have_attribute("data-state", "ok", timeout=WAIT_MS)
    expect(result).to_have_text(f"Refund {refund['txn_id']} approved.")  # a sentence, no JSON
    expect(pending).to_have_attribute("data-done", "approved")  # the row says it, no buttons
    expect(pending.locator("button")).to_have_count(0)
    approved = [
        e
        for e in rig.events()
        if e["type"] == "refund.approved" and e["data"]["txn_id"] == refund["txn_id"]
    ]
    assert len(approved) == 1 and approved[0]["data"]["by"] == "host (olga)", approved
    assert [e["state"] for e in rig.ledger() if e["kind"] == "refund"] == ["booked"]
    (txn,) = [t for t in rig.txns() if t["txn_id"] == refund["txn_id"]]
    assert txn["state"] == "approved", txn

    again = page.request.post(  # a second approval (another tab): refused, not run
        f"/api/terminals/{TID}/refunds/{refund['txn_id']}/approve",
        data={"action": "approve", "terminal": TID, "txn": refund["txn_id"]},
        headers={"X-CSRF-Token": page.locator('meta[name="csrf-token"]').get_attribute("content")},
    )
    assert again.json()["ok"] is False, again.text()
    assert [e["state"] for e in rig.ledger() if e["kind"] == "refund"] == ["booked"]

    page.goto(f"/terminals/{TID}?range=1h")
    expect(page.locator("#terminal-state")).to_have_text("online")
    expect(page.locator("svg.plot")).to_have_count(7)
    assert page.locator("svg.plot polyline").count() >= 3  # the history of each plot
    expect(page.locator(f'.txn[data-txn="{sale["txn_id"]}"] pre.receipt')).to_contain_text("90.00")
    page.screenshot(path=str(ARTIFACTS / "terminal.png"), full_page=True)

    page.goto(f"/receipts?terminal={TID}&amount=90.00")
    found = page.locator(f'.txn[data-txn="{sale["txn_id"]}"]')
    expect(found.locator("pre.receipt")).to_contain_text("90.00")
    page.once("dialog", lambda dialog: dialog.accept())
    found.locator("button.act").click()
    expect(found.locator("output.result")).to_have_attribute("data-state", "ok", timeout=WAIT_MS)
    expect(found.locator("output.result")).to_have_text(f"Reprinted on {TID}, marked DUPLICATE.")
    wait_for(
        lambda: any(e["type"] == "receipt.reprinted" for e in rig.events()),
        "the DUPLICATE reprinted on the terminal",
    )
    # the day close asked while the terminal was away expired unrun (it had been told so)
    assert not [e for e in rig.events() if e["type"] == "batch.closed"]

    page.goto(f"/terminals/{TID}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#eod")
    expect(page.locator("#eod + output.result")).to_have_attribute(
        "data-state", "ok", timeout=WAIT_MS
    )
    expect(page.locator("#eod + output.result")).to_have_text(f"Day closed on {TID}.")
    expect(page.locator("#eod")).to_be_enabled()
    assert len([e for e in rig.events() if e["type"] == "batch.closed"]) == 1
    wait_for(
        lambda: page.request.get("/api/reconcile").json()["batches"],
        "the batch.closed event at the host",
    )
    page.goto("/reconcile")
    expect(page.locator(f'section.batch[data-terminal="{TID}"]')).to_have_attribute(
        "data-ok", "yes", timeout=WAIT_MS
    )

    page.goto("/audit")
    audit = page.locator("#audit tbody")
    for action in ("login", "eod", "approve", "reprint"):  # each with who and the outcome
        expect(audit).to_contain_text(action)
    context.close()
    assert console.errors == []


def test_a_viewer_reads_only_and_every_post_needs_the_csrf_token(
    rig: Rig, web_host: WebHost, browser: Any
) -> None:
    """GIVEN a refund awaiting approval WHEN a viewer opens the refunds page THEN there is
    no approve button and the API refuses the viewer (403) even with the CSRF token; an
    operator's POST without the token is refused (403) and runs nothing."""
    console = Console()
    _, sale = rig.cli("sale", "80.00")
    _, refund = rig.cli("refund", sale["txn_id"], "60.00", "--reason", "wrong_amount")
    assert refund["state"] == "awaiting_approval", refund
    viewer, page = login(browser, web_host, "vic", console)
    (cookie,) = viewer.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and not cookie["secure"]
    headers = viewer.request.get("/").headers  # cookie_secure = false here: plain http
    assert "default-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    wait_for(lambda: pending_at_host(page, refund["txn_id"]), "the refund request at the host")
    page.goto("/refunds")
    row = page.locator(f'#pending tr[data-txn="{refund["txn_id"]}"]')
    expect(row).to_be_visible()
    expect(row.locator("button")).to_have_count(0)
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    refused = viewer.request.post(
        f"/api/terminals/{TID}/refunds/{refund['txn_id']}/approve", headers={"X-CSRF-Token": token}
    )
    assert refused.status == 403 and refused.json()["code"] == "forbidden"
    page.goto(f"/terminals/{TID}")
    expect(page.locator("#eod")).to_have_count(0)

    operator, _ = login(browser, web_host, "olga", console)
    bare = operator.request.post(f"/api/terminals/{TID}/refunds/{refund['txn_id']}/approve")
    assert bare.status == 403 and bare.json()["code"] == "csrf"
    wrong = operator.request.post(
        f"/api/terminals/{TID}/refunds/{refund['txn_id']}/approve", headers={"X-CSRF-Token": token}
    )  # the viewer's token
    assert wrong.status == 403 and wrong.json()["code"] == "csrf"
    form = operator.request.post("/logout", form={"csrf_token": "nope"}, max_redirects=0)
    assert form.status == 403
    anonymous = browser.new_context(base_url=web_host.url)
    assert anonymous.request.get("/api/fleet").status == 401
    assert anonymous.request.post("/login", form={"name": "olga", "password": "x"}).status == 403
    anonymous.close()
    assert [e for e in rig.events() if e["type"] == "refund.approved"] == []
    assert [t["state"] for t in rig.txns() if t["txn_id"] == refund["txn_id"]] == [
        "awaiting_approval"
    ]
    viewer.close()
    operator.close()
    assert console.errors == []

"""The terminal page's Resolve buttons for a sale in doubt (real browser, real
posterm-host, postermd and Mosquitto): a confirm step, then the same signed `txn.resolve`
as `posterm-host resolve`, by the logged-in operator; the page names the next step."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.host.test_fleet_ops import in_doubt_sale
from tests.support import money_rules
from tests.support.broker import wait_for
from tests.support.rig import Rig
from tests.web.conftest import ARTIFACTS, Console, WebHost, login

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)

TID = "pos-test"
WAIT_MS = 30_000


def host_in_doubt(page: Any) -> list[str]:
    return list(page.request.get(f"/api/terminals/{TID}").json()["terminal"]["in_doubt_txns"])


def test_an_operator_resolves_an_in_doubt_sale_as_charged_from_the_terminal_page(
    rig: Rig, web_host: WebHost, browser: Any
) -> None:
    """GIVEN a 25.00 sale in doubt on the terminal, the PT's journal saying it was charged
    WHEN the operator opens the terminal page THEN it names the next step (posterm-host
    resolve) and offers Charged / Not charged for the sale; a viewer sees no buttons and a
    bad outcome is refused (400) with nothing sent; WHEN the operator confirms Charged
    THEN the terminal journals the sale approved, resolved by the host for the operator,
    prints it RECOVERED and sells again; the audit log has the action."""
    txn_id = in_doubt_sale(rig, "25.00")
    console = Console()
    context, page = login(browser, web_host, "olga", console)
    wait_for(lambda: host_in_doubt(page) == [txn_id], "the in-doubt sale at the host")
    page.goto(f"/terminals/{TID}")
    expect(page.locator("#payments")).to_contain_text(
        f"posterm-host resolve {TID} {txn_id} charged|not-charged"
    )
    box = page.locator(f'p.resolve[data-txn="{txn_id}"]')
    expect(box.locator("button")).to_have_text(["Charged", "Not charged"])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "terminal-in-doubt.png"), full_page=True)

    token = page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
    url = f"/api/terminals/{TID}/resolve/{txn_id}"
    body = {"action": "resolve", "terminal": TID, "txn": txn_id}
    for bad in ({**body, "outcome": "maybe"}, body, {**body, "txn": "T0", "outcome": "charged"}):
        refused = context.request.post(url, headers={"X-CSRF-Token": token}, data=bad)
        assert refused.status == 400 and refused.json()["code"] == "bad_request", refused.text()
    viewer, vpage = login(browser, web_host, "vic", console)
    vpage.goto(f"/terminals/{TID}")
    expect(vpage.locator("p.resolve button")).to_have_count(0)
    vtoken = vpage.locator('meta[name="csrf-token"]').get_attribute("content") or ""
    forbidden = viewer.request.post(
        url, headers={"X-CSRF-Token": vtoken}, data={**body, "outcome": "charged"}
    )
    assert forbidden.status == 403
    assert [t["state"] for t in rig.txns()] == ["approved_unconfirmed"]  # nothing ran

    questions: list[str] = []
    page.once("dialog", lambda d: (questions.append(d.message), d.accept()))
    box.locator("button.resolve-charged").click()
    expect(box.locator("output.result")).to_have_attribute("data-state", "ok", timeout=WAIT_MS)
    assert questions and txn_id in questions[0] and "was charged" in questions[0]
    rig.wait_state("ready")
    (sale,) = rig.txns()
    assert sale["state"] == "approved"
    (receipt,) = money_rules.receipts_for(rig, txn_id)
    assert "** RECOVERED **" in receipt and "25.00 EUR" in receipt
    recovered = [e for e in rig.events() if e["type"] == "sale.recovered"]
    assert recovered[-1]["data"]["resolved_by"] == "host (olga)"
    assert rig.cli("sale", "3.00")[0] == 0
    page.goto("/audit")
    expect(page.locator("#audit tbody")).to_contain_text("resolve")
    viewer.close()
    context.close()
    assert console.errors == []

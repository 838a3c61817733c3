"""CSV downloads of refunds and of reconciliation from the dashboard (real browser, real
posterm-host, postermd and Mosquitto): linked from the refunds and reconciliation pages,
for logged-in users only, a bad parameter refused with a 400 that says why."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.broker import wait_for
from tests.support.rig import Rig
from tests.web.conftest import Console, WebHost, login

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)

TID = "pos-test"
WAIT_MS = 30_000


def download(page: Any, selector: str) -> list[dict[str, str]]:
    with page.expect_download() as got:
        page.click(selector)
    return list(csv.DictReader(io.StringIO(Path(got.value.path()).read_text())))


def test_refunds_and_reconciliation_download_as_csv_from_their_pages(
    rig: Rig, web_host: WebHost, browser: Any
) -> None:
    """GIVEN a 40.00 sale, a 15.00 refund of it and the day closed on the terminal
    WHEN the operator follows the refunds page's and the reconciliation page's CSV links
    THEN the refunds CSV has the refund (its sale, amount, state completed) and the
    pending one has none; the reconciliation CSV has the terminal's batch with sales
    40.00, refunds 15.00 and net 25.00 agreeing; a bad date is a 400 naming it; without a
    login the downloads go to the login page."""
    code, sale = rig.cli("sale", "40.00")
    assert code == 0, sale
    code, refund = rig.cli("refund", sale["txn_id"], "15.00", "--reason", "goods_returned")
    assert code == 0 and refund["state"] == "approved", refund
    assert rig.cli("eod")[0] == 0
    console = Console()
    context, page = login(browser, web_host, "olga", console)
    wait_for(
        lambda: page.request.get("/api/reconcile").json()["batches"],
        "the batch.closed event at the host",
    )
    page.goto("/refunds")
    wait_for(
        lambda: any(
            r["txn_id"] == refund["txn_id"] and r["state"] == "completed"
            for r in page.request.get("/api/refunds").json()["refunds"]
        ),
        "the completed refund at the host",
    )
    (row,) = download(page, "#refunds-csv")
    assert (row["terminal"], row["txn_id"], row["sale"]) == (TID, refund["txn_id"], sale["txn_id"])
    assert (row["amount"], row["currency"], row["state"]) == ("15.00", "EUR", "completed")
    assert download(page, "#refunds-pending-csv") == []

    page.goto("/reconcile")
    expect(page.locator(f'section.batch[data-terminal="{TID}"]')).to_have_attribute(
        "data-ok", "yes", timeout=WAIT_MS
    )
    lines = download(page, "#reconcile-csv")
    figures = {r["figure"]: r for r in lines if r["terminal"] == TID}
    assert figures["sales"]["events_amount"] == figures["sales"]["terminal_amount"] == "40.00"
    assert figures["refunds"]["events_amount"] == "15.00"
    assert figures["net"]["events_amount"] == "25.00" and figures["net"]["difference"] == ""
    bad = context.request.get("/reconcile.csv?date=yesterday")
    assert bad.status == 400 and "yesterday" in bad.text(), bad.text()
    assert context.request.get("/refunds.csv?pending=maybe").status == 400

    stranger = browser.new_context(base_url=web_host.url)
    for path in ("/refunds.csv", "/reconcile.csv"):
        anonymous = stranger.request.get(path, max_redirects=0)
        assert anonymous.status == 303 and anonymous.headers["location"] == "/login", path
    stranger.close()
    context.close()
    assert console.errors == []

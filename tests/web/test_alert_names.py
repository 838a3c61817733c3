"""The dashboard's alerts read as the operator speaks, in a real browser (Debian's chromium
through Playwright) against a real `posterm-host run --http`: each alert's friendly name
(host/alerts/names.py), never its internal kind, on the fleet page as served, as kept live
by static/alerts.js, and on the terminal page."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from posterm.host.store import Store
from tests.host.test_lookup import PAN, Events
from tests.support.broker import Broker
from tests.web.conftest import Console, WebHost, login

pytestmark = pytest.mark.slow  # posterm-host and chromium (tests/support/tiers.py)

WAIT_MS = 30_000
MONEY = {"kind": "sale", "amount": "20.00", "currency": "EUR", "masked_pan": PAN}


def add_alert(db: Path, alert_id: str, kind: str, tid: str, subject: str, *, detail: Any) -> None:
    """An event-kind alert as the engine stores it (no time-based rule clears it)."""
    store = Store(f"sqlite://{db}")
    try:
        with store.db.tx() as tx:
            tx.execute(
                "INSERT INTO alerts (alert_id, kind, terminal, subject, raised_at, detail)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (alert_id, kind, tid, subject, "2026-11-20T10:00:00.000Z", json.dumps(detail)),
            )
    finally:
        store.close()


@pytest.fixture
def host(tmp_path: Path, broker: Broker) -> Iterator[WebHost]:
    """The web host over a store where pos-a sold S1 and S2 and has D1 in doubt (the host
    raises in_doubt for it at once), and pos-b's day close did not match (an alert)."""
    h = WebHost(tmp_path, broker)
    assert h.cli("keygen").returncode == 0
    store = Store(f"sqlite://{tmp_path / 'host.db'}")
    ev = Events(store)
    ev("pos-a", "sale.approved", "10:00:00", txn_id="S1", **MONEY)
    ev("pos-a", "sale.approved", "10:00:30", txn_id="S2", **MONEY)
    ev("pos-a", "sale.in_doubt", "10:05:00", txn_id="D1", why="PT link lost", **MONEY)
    ev("pos-b", "batch.closed", "18:00:00", batch_no=7)
    store.close()
    add_alert(tmp_path / "host.db", "a-recon", "reconcile_mismatch", "pos-b", "batch 7", detail={})
    h.start()
    yield h
    h.stop()


def test_alerts_show_friendly_names_not_internal_kinds(
    tmp_path: Path, host: WebHost, browser: Any
) -> None:
    """GIVEN open alerts: pos-b's day close did not match, pos-a's sale D1 in doubt
    WHEN an operator opens the fleet page, it polls, and a double charge is raised on
    pos-a while it is open; then pos-a's page
    THEN each alert says its friendly name on its terminal ("Day close does not match on
    pos-b", "Payment in doubt on pos-a", "Possible double charge on pos-a"), as served and
    as kept live, and no internal kind shows; pos-a's page lists its alerts the same way."""
    console = Console()
    _, page = login(browser, host, "olga", console)
    served = page.request.get("/").text()
    assert "Day close does not match on " in served and "reconcile_mismatch" not in (
        served.replace('data-kind="reconcile_mismatch"', "")
    )
    alerts = page.locator("#alerts")
    what = alerts.locator(".alert .what")
    expect(alerts.locator('.what[data-kind="in_doubt"]')).to_contain_text(
        "Payment in doubt on pos-a", timeout=WAIT_MS
    )
    expect(alerts.locator('.what[data-kind="reconcile_mismatch"]')).to_contain_text(
        "Day close does not match on pos-b"
    )
    add_alert(
        tmp_path / "host.db",
        "a-double",
        "double_charge",
        "pos-a",
        "S1+S2",
        detail={"txns": ["S1", "S2"], "amount": "20.00", "currency": "EUR"},
    )
    expect(alerts.locator('.what[data-kind="double_charge"]')).to_contain_text(
        "Possible double charge on pos-a", timeout=WAIT_MS
    )
    for text in what.all_inner_texts():
        assert not any(k in text for k in ("in_doubt", "double_charge", "reconcile")), text

    page.goto("/terminals/pos-a")
    mine = page.locator(".alert[data-kind]")
    expect(mine).to_have_count(2)
    said = " | ".join(mine.all_inner_texts())
    assert "Payment in doubt" in said and "Possible double charge" in said, said
    assert "in_doubt" not in said and "double_charge" not in said, said
    assert console.errors == []


def test_every_alert_links_to_its_terminal_and_its_transactions(
    tmp_path: Path, host: WebHost, browser: Any
) -> None:
    """GIVEN open alerts: pos-a's sale D1 in doubt, pos-b's day close (no transaction)
    WHEN an operator opens the fleet page, it polls, and a double charge of S1 and S2 is
    raised on pos-a while it is open
    THEN every alert links to its terminal's page, and to each transaction it names as
    (terminal, txn) in the receipt lookup, as served and as kept live (one without a
    transaction keeps its subject); following the links opens pos-a's D1 and pos-b's page;
    pos-a's page links its alerts' transactions too."""
    console = Console()
    _, page = login(browser, host, "olga", console)
    alerts = page.locator("#alerts")
    doubt = alerts.locator('.what[data-kind="in_doubt"]')
    expect(doubt).to_contain_text("Payment in doubt on pos-a (D1)", timeout=WAIT_MS)
    served = page.request.get("/").text()
    assert '<a class="terminal-link" href="/terminals/pos-a">pos-a</a> (<a class="txn-link"' in (
        served
    )
    assert 'href="/receipts?terminal=pos-a&amp;txn=D1">D1</a>)' in served
    table = page.locator("#fleet")
    polled = int(table.get_attribute("data-polled") or "0")
    add_alert(
        tmp_path / "host.db",
        "a-double",
        "double_charge",
        "pos-a",
        "S1+S2",
        detail={"txns": ["S1", "S2"], "amount": "20.00", "currency": "EUR"},
    )
    double = alerts.locator('.what[data-kind="double_charge"]')
    expect(double).to_contain_text("Possible double charge on pos-a (S1, S2)", timeout=WAIT_MS)
    expect(table).not_to_have_attribute("data-polled", str(polled))  # redrawn by alerts.js

    def hrefs(what: Any) -> list[str | None]:
        return [a.get_attribute("href") for a in what.locator("a").all()]

    assert hrefs(double) == [
        "/terminals/pos-a",
        "/receipts?terminal=pos-a&txn=S1",
        "/receipts?terminal=pos-a&txn=S2",
    ]
    assert hrefs(doubt) == ["/terminals/pos-a", "/receipts?terminal=pos-a&txn=D1"]
    recon = alerts.locator('.what[data-kind="reconcile_mismatch"]')
    assert hrefs(recon) == ["/terminals/pos-b"]
    expect(recon).to_contain_text("on pos-b (batch 7) since")

    doubt.locator("a.txn-link").click()
    page.wait_for_url("**/receipts?terminal=pos-a&txn=D1")
    expect(page.locator(".txn")).to_have_count(1)
    expect(page.locator('.txn[data-terminal="pos-a"][data-txn="D1"]')).to_be_visible()
    page.go_back()
    alerts.locator('.what[data-kind="reconcile_mismatch"] a.terminal-link').click()
    page.wait_for_url("**/terminals/pos-b")
    expect(page.locator("h1")).to_contain_text("pos-b")

    page.goto("/terminals/pos-a")
    links = page.locator('.alert[data-kind="double_charge"] a.txn-link')
    assert [a.get_attribute("href") for a in links.all()] == [
        "/receipts?terminal=pos-a&txn=S1",
        "/receipts?terminal=pos-a&txn=S2",
    ]
    assert console.errors == []

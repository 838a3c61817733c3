"""The dashboard's receipt lookup across the fleet, against a real `posterm-host run
--http`: terminal "any" searches every terminal by amount, last 4 and time; each result
names its terminal and links to (terminal, txn) (a txn id is unique per terminal only);
at least one criterion is needed; the CSV and the JSON API search the same way."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from posterm.host import lookup
from posterm.host.store import Store
from tests.host.test_lookup import PAN, Events
from tests.support.broker import Broker
from tests.web.conftest import WebHost
from tests.web.test_login_http import Visitor

pytestmark = pytest.mark.slow  # a posterm-host process (tests/support/tiers.py)

MANY = lookup.FIND_LIMIT + 1  # pos-z's 1.00 sales: one more than a search shows


@pytest.fixture
def host(tmp_path: Path, broker: Broker) -> Iterator[WebHost]:
    """The web host over a store where pos-a and pos-c each sold with txn id S1 (pos-a:
    90.00 on card ..0119; pos-c: 12.50 on card ..1234), pos-b sold 12.50 on ..0119, and
    pos-z made MANY 1.00 sales."""
    h = WebHost(tmp_path, broker)
    assert h.cli("keygen").returncode == 0
    store = Store(f"sqlite://{tmp_path / 'host.db'}")
    ev = Events(store)
    for tid, amount, pan, at in (
        ("pos-a", "90.00", PAN, "10:00:00"),
        ("pos-c", "12.50", "520000******1234", "10:30:00"),
    ):
        money = {"kind": "sale", "amount": amount, "currency": "EUR", "masked_pan": pan}
        ev(tid, "sale.approved", at, txn_id="S1", **money)
        ev(
            tid,
            "receipt.printed",
            at,
            receipt_id=1,
            txn_id="S1",
            copy="customer",
            mark="original",
            lines=[f"{tid.upper()} SALE"],
        )
    ev(
        "pos-b",
        "sale.approved",
        "11:00:00",
        txn_id="B7",
        kind="sale",
        amount="12.50",
        currency="EUR",
        masked_pan=PAN,
    )
    for n in range(MANY):
        ev(
            "pos-z",
            "sale.approved",
            f"12:{n // 60:02d}:{n % 60:02d}",
            txn_id=f"Z{n}",
            kind="sale",
            amount="1.00",
            currency="EUR",
        )
    store.close()
    h.start()
    yield h
    h.stop()


def results(page: str) -> list[tuple[str, str]]:
    return re.findall(r'<div class="txn" data-terminal="([^"]+)" data-txn="([^"]+)">', page)


def test_receipts_are_searched_across_the_fleet_without_naming_a_terminal(
    host: WebHost,
) -> None:
    """GIVEN the fleet's sales (two terminals used the txn id S1)
    WHEN an operator searches with terminal "any" by card, amount or time
    THEN every terminal's matches are listed newest first, each naming its terminal with
    links to that terminal's page and to (terminal, txn); following pos-c's S1 shows
    pos-c's own receipt; a search naming nothing is refused and lists nothing; more
    matches than shown say so; the CSV and /api/receipts answer the same search."""
    olga = Visitor(host)
    olga.login("olga")
    status, page = olga.request("GET", "/receipts")
    assert status == 200 and results(page) == [] and 'id="found"' not in page
    assert '<option value="" selected>any</option>' in page

    status, page = olga.request("GET", "/receipts?terminal=&last4=0119")
    assert status == 200 and results(page) == [("pos-b", "B7"), ("pos-a", "S1")]
    assert '<a class="txn-link" href="/receipts?terminal=pos-a&amp;txn=S1">S1</a>' in page
    assert '<a class="terminal-link" href="/terminals/pos-a">pos-a</a>' in page
    assert "2 found." in page
    status, page = olga.request("GET", "/receipts?terminal=&amount=12.50")
    assert results(page) == [("pos-b", "B7"), ("pos-c", "S1")]
    status, page = olga.request("GET", "/receipts?from=2026-11-20T10:15Z&to=2026-11-20T11:30Z")
    assert results(page) == [("pos-b", "B7"), ("pos-c", "S1")]

    status, page = olga.request("GET", "/receipts?terminal=pos-c&txn=S1")
    assert results(page) == [("pos-c", "S1")] and "POS-C SALE" in page
    assert "POS-A SALE" not in page

    status, page = olga.request("GET", "/receipts?terminal=&from=&to=&amount=&last4=")
    assert status == 200 and results(page) == []
    assert "a search of every terminal needs an amount" in page

    status, page = olga.request("GET", "/receipts?amount=1.00")
    shown = results(page)
    assert len(shown) == lookup.FIND_LIMIT and shown[0] == ("pos-z", f"Z{MANY - 1}")
    assert ("pos-z", "Z0") not in shown  # the oldest is the one left out
    assert f"First {lookup.FIND_LIMIT} shown (the newest): narrow the search." in page

    status, text = olga.request("GET", "/receipts.csv?last4=0119")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert status == 200 and [(r["terminal"], r["txn_id"]) for r in rows] == [
        ("pos-a", "S1"),
        ("pos-b", "B7"),
    ]
    assert olga.request("GET", "/receipts.csv?terminal=")[0] == 400
    status, text = olga.request("GET", "/api/receipts?last4=1234")
    found = json.loads(text)
    assert status == 200 and found["note"] is None
    assert [(t["terminal"], t["txn_id"]) for t in found["transactions"]] == [("pos-c", "S1")]
    assert olga.request("GET", "/api/receipts")[0] == 400

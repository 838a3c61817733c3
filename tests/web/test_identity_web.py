"""The dashboard names a transaction by (terminal, txn_id) (issue 19): a terminal-chosen id
cannot bend an Approve button's URL into another action, an action's body must name what
its URL names, and only the terminal a command went to can answer it. A real
`posterm-host run --http`, Debian's chromium, fake terminals on a real Mosquitto."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from posterm.host.store import Store
from posterm.protocol.mqtt import commands
from tests.host.test_identity import Events, FakeTerminals
from tests.support.broker import Broker
from tests.web.conftest import Console, WebHost, login

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)

HOSTILE = "../terminals/pos-a/eod#"  # a refund id chosen to make Approve a day close
WAIT_MS = 30_000


def answer(tid: str, cmd: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """pos-a answers every command but the approval of R7, which pos-b (reading pos-a's
    commands) answers on its own reply topic instead."""
    if tid == "pos-a" and cmd["args"].get("txn") == "R7":
        return [("pos-b", commands.reply(cmd["cmd_id"], result={"state": "approved"}))]
    return [(tid, commands.reply(cmd["cmd_id"], result={"state": "approved"}))]


@pytest.fixture
def fake(web_host: WebHost, broker: Broker) -> Iterator[FakeTerminals]:
    store = Store(f"sqlite://{web_host.tmp / 'host.db'}")
    ev = Events(store)
    for tid, txn in (("pos-a", HOSTILE), ("pos-a", "R7"), ("pos-b", "R7")):
        ev(
            tid,
            "refund.requested",
            txn_id=txn,
            kind="refund",
            amount="70.00",
            currency="EUR",
            ref_txn="S1",
            reason="goods_returned",
            state="awaiting_approval",
        )
    store.close()
    terminals = FakeTerminals(broker, ["pos-a", "pos-b"], answer)
    yield terminals
    terminals.close()


def test_an_approve_click_runs_the_approval_of_that_terminals_refund_only(
    web_host: WebHost, fake: FakeTerminals, browser: Any
) -> None:
    """GIVEN pos-a's refund `../terminals/pos-a/eod#` and a refund R7 told by pos-a and by
    pos-b WHEN the operator approves the first THEN pos-a gets its `refund.approve` and no
    day close; WHEN they approve pos-a's R7 and pos-b answers for pos-a THEN the answer does
    not count (no reply); pos-b is sent nothing; a POST whose body does not name what its
    URL names runs nothing (400)."""
    console = Console()
    context, page = login(browser, web_host, "olga", console)
    served = context.request.get("/refunds").text()  # as the server renders it, before JS
    assert (
        'data-url="/api/terminals/pos-a/refunds/..%2Fterminals%2Fpos-a%2Feod%23/approve"' in served
    )
    body = {"action": "approve", "terminal": "pos-a", "txn": HOSTILE}
    assert f"data-body='{json.dumps(body)}'" in served
    page.goto("/refunds")
    hostile = page.locator(f'#pending tr[data-terminal="pos-a"][data-txn="{HOSTILE}"]')
    page.once("dialog", lambda dialog: dialog.accept())
    hostile.locator("button.approve").click()
    expect(hostile.locator("output.result")).to_have_attribute("data-state", "ok", timeout=WAIT_MS)
    (sent,) = fake.commands("pos-a")
    assert (sent["name"], sent["args"]["txn"]) == ("refund.approve", HOSTILE), sent

    r7 = page.locator('#pending tr[data-terminal="pos-a"][data-txn="R7"]')
    page.once("dialog", lambda dialog: dialog.accept())
    r7.locator("button.approve").click()
    result = r7.locator("output.result")
    expect(result).to_have_attribute("data-state", "refused", timeout=WAIT_MS)
    expect(result).to_contain_text("no_reply")
    assert [(c["name"], c["args"]["txn"]) for c in fake.commands("pos-a")] == [
        ("refund.approve", HOSTILE),
        ("refund.approve", "R7"),
    ]
    assert fake.commands("pos-b") == []

    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    headers = {"X-CSRF-Token": token, "Content-Type": "application/json"}
    for url, body in (
        ("/api/terminals/pos-a/eod", {"action": "approve", "terminal": "pos-a", "txn": "R7"}),
        ("/api/terminals/pos-a/eod", {"action": "eod", "terminal": "pos-b"}),
        ("/api/terminals/pos-a/eod", None),
        (
            "/api/terminals/pos-a/refunds/R7/approve",
            {"action": "approve", "terminal": "pos-b", "txn": "R7"},
        ),
        (
            "/api/terminals/pos-a/refunds/R7/reject",
            {"action": "approve", "terminal": "pos-a", "txn": "R7"},
        ),
        (
            "/api/terminals/pos-a/receipts/S1/reprint",
            {"action": "reprint", "terminal": "pos-a", "txn": "S2"},
        ),
    ):
        refused = context.request.post(url, headers=headers, data=json.dumps(body) if body else "")
        assert refused.status == 400 and refused.json()["code"] == "bad_request", (url, body)
    unknown = context.request.post(
        "/api/terminals/pos-b/refunds/S1/approve",
        headers=headers,
        data=json.dumps({"action": "approve", "terminal": "pos-b", "txn": "S1"}),
    )
    assert unknown.status == 404 and unknown.json()["code"] == "unknown_txn"
    assert len(fake.commands("pos-a")) == 2 and fake.commands("pos-b") == []
    context.close()
    # the browser logs the 504 of the approval nobody (but pos-b) answered; nothing else
    assert [e for e in console.errors if "status of 504" not in e] == []

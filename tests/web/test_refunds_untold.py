"""The dashboard's refunds page tells the operator when a refund's customer was not told:
the real postermd asks a refund with `--notify-email` through Mosquitto of a real
`posterm-host run --http` that has no `[notify]`."""

from __future__ import annotations

import pytest

from tests.support.broker import wait_for
from tests.support.rig import Rig
from tests.web.conftest import WebHost
from tests.web.test_login_http import Visitor

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)

ADDRESS = "kunde.mueller@example.org"
UNTOLD = "customer not told by e-mail: the back office has no [notify]: the customer was not told"


def test_a_refund_whose_customer_cannot_be_told_says_so_on_the_refunds_page(
    rig: Rig, web_host: WebHost
) -> None:
    """GIVEN a back office without [notify] and olga logged in to its dashboard
    WHEN the cashier refunds a sale with `--notify-email`
    THEN the refunds page's row of that refund says the customer was not told and why,
    never showing the address; `posterm-host refunds` says it too."""
    code, sale = rig.cli("sale", "30.00")
    assert code == 0, sale
    code, refund = rig.cli(
        "refund", sale["txn_id"], "12.00", "--reason", "goods_returned", "--notify-email", ADDRESS
    )
    assert code == 0 and refund["state"] == "approved", refund
    olga = Visitor(web_host)
    olga.login("olga")

    def page() -> str | None:
        status, text = olga.request("GET", "/refunds")
        return text if status == 200 and UNTOLD in text else None

    text = wait_for(page, "the refunds page to say the customer was not told")
    (row,) = [r for r in text.split("<tr>") if UNTOLD in r]
    assert refund["txn_id"] in row and ADDRESS not in text
    listed = web_host.cli("refunds")
    assert listed.returncode == 0, listed.stderr
    (line,) = [x for x in listed.stdout.splitlines() if refund["txn_id"] in x]
    assert "email failed (the back office has no [notify]: the customer was not told)" in line

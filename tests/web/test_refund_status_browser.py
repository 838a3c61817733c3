"""The customer's refund status page in a real browser (Debian's chromium through
Playwright) against the real `posterm-host run` with `[public] listen` and `[notify]`, fed
by the real postermd through Mosquitto, the e-mail received by a real SMTP server
(aiosmtpd): the page follows the refund from the request to the day's closing by itself,
on a laptop (1366 px) and a phone (390 px), and the dashboard says the customer opened it."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from posterm.protocol import refundlink
from tests.support.broker import Broker, accepts, free_port, wait_for
from tests.support.rig import Rig, trusting_rig
from tests.support.smtp import SmtpServer
from tests.web.conftest import ARTIFACTS, Console, WebHost, login

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)

TID = "pos-test"
ADDRESS = "kunde@example.org"
WAIT_MS = 60_000
LAPTOP = {"viewport": {"width": 1366, "height": 900}, "locale": "en-GB"}
PHONE = {"viewport": {"width": 390, "height": 844}, "locale": "en-US"}


@dataclass
class Public:
    host: WebHost
    url: str  # the page's base URL, as [public] url says it
    smtp: SmtpServer


@pytest.fixture
def public(tmp_path: Path, broker: Broker) -> Iterator[Public]:
    """`posterm-host run --http` with the status page on a listener of its own and refund
    e-mails through a local SMTP server."""
    smtp = SmtpServer().start()
    host = WebHost(tmp_path, broker)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with host.config.open("a", encoding="utf-8") as config:
        config.write(
            f'[public]\nurl = "{url}"\nmerchant_name = "Café Beispiel"\n'
            f'merchant_contact = "+49 30 1234567"\nlisten = "127.0.0.1:{port}"\n'
            f'key_file = "{tmp_path / "link.key"}"\ntimezone = "Europe/Berlin"\n'
            f"rate_per_minute = 1000\nrefresh_s = [2, 2]\n"  # the test waits seconds, not minutes
            f'[notify]\nmerchant_name = "Café Beispiel"\nsmtp_url = "{smtp.url}"\n'
            f'smtp_security = "none"\nfrom = "refunds@cafe.example"\nfirst_retry_s = 0.2\n'
        )
    for args in (("keygen",), ("public", "init")):
        done = host.cli(*args)
        assert done.returncode == 0, done.stderr
    host.start()
    wait_for(lambda: accepts(host.proc, port, tmp_path / "host.log"), "the status page")
    try:
        yield Public(host, url, smtp)
    finally:
        host.stop()
        smtp.stop()


@pytest.fixture
def rig(tmp_path: Path, broker: Broker, public: Public) -> Iterator[Rig]:
    with trusting_rig(tmp_path, broker, public.host.key.with_suffix(".pub")) as r:
        yield r


def voucher_link(public: Public, txn: str) -> str:
    """The link the terminal prints on the voucher: minted with its own link key."""
    done = public.host.cli("public", "link-key", TID)
    assert done.returncode == 0, done.stderr
    key = bytes.fromhex(done.stdout.strip())
    token = refundlink.mint(key, TID, txn, int(time.time()) + 86400)
    return f"{public.url}/r/{token}"


def mailed_link(public: Public) -> str:
    (mail,) = wait_for(lambda: public.smtp.mailbox.messages, "the refund e-mail", timeout=60)
    text = mail.get_body(("plain",)).get_content()
    found = re.search(re.escape(public.url) + r"/r/[A-Za-z0-9_.-]+", text)
    assert found, text
    return found.group(0)


def sideways(page: Any) -> int:
    """How far the page scrolls sideways (0: it fits its viewport)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


LINES = """(want) => {
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const at = n.data.indexOf(want);
    if (at >= 0) {
      const r = document.createRange();
      r.setStart(n, at);
      r.setEnd(n, at + want.length);
      return r.getClientRects().length;
    }
  }
  return 0;
}"""


def lines_of(page: Any, text: str) -> int:
    """On how many lines the page shows `text` (0: not shown)."""
    return int(page.evaluate(LINES, text))


def opened_ago(cell: Any) -> bool:
    """Whether the cell's last opening is a time the dashboard shows in the operator's own
    zone with its age (static/app.js), not the host's raw RFC 3339."""
    times = cell.locator("time[datetime]")
    return times.count() == 1 and "ago" in times.inner_text()


def shoot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    assert sideways(page) <= 0, f"{name}: the page scrolls sideways"


@pytest.mark.long
def test_the_customers_page_follows_the_refund_to_the_closing_by_itself(
    rig: Rig, public: Public, browser: Any
) -> None:
    """GIVEN a refund over the approval limit with --notify-email WHEN the customer opens
    the voucher's link on a phone THEN it waits for approval and says so; once the back
    office approves and the PT completes, the open page shows it by itself (it reloaded
    itself); the e-mail's link opens the same refund on a laptop; once the day is closed,
    both pages show the closing, its batch and the arrival window, and stop reloading.
    The dashboard's refunds page says the customer opened the page (once while waiting,
    four times in the end; its reloads are no visits), when last in the operator's own
    zone. The closed page also fits a phone in German and in Chinese (the browser's).
    No page scrolls sideways, none logs a console error (CSP), no name of the approver."""
    console = Console()
    code, sale = rig.cli("sale", "90.00")
    assert code == 0, sale
    asked = ("70.00", "--reason", "goods_returned", "--notify-email", ADDRESS)
    code, refund = rig.cli("refund", sale["txn_id"], *asked)
    assert refund["state"] == "awaiting_approval", refund
    txn = refund["txn_id"]
    wait_for(
        lambda: public.host.cli("refunds", "--pending", "--json").stdout.count(txn),
        "the refund request at the host",
    )

    phone_context = browser.new_context(**PHONE)
    phone = console.watch(phone_context.new_page())
    assert phone.goto(voucher_link(public, txn)).status == 200
    timeline = phone.locator(".timeline")
    expect(phone.locator("h1")).to_have_text("Refund from Café Beispiel")
    expect(timeline).to_contain_text("Waiting for approval")
    expect(phone.locator(".progress")).to_contain_text("still in progress")
    expect(phone.locator(".amount")).to_have_text("70.00 EUR")
    shoot(phone, "refund-status-waiting-390.png")

    # the operator sees who is waiting: the customer opened the page (once; not its reloads)
    _office, desk = login(browser, public.host, "olga", console, **LAPTOP)
    desk.goto("/refunds")
    waiting = desk.locator(f'#pending tr[data-txn="{txn}"] .opened')
    expect(waiting).to_contain_text("customer opened the status page once, last ")
    assert opened_ago(waiting), waiting.inner_text()

    approved = public.host.cli("approve", txn, "--by", "olga", "--json")
    assert approved.returncode == 0, approved.stdout + approved.stderr
    expect(timeline).to_contain_text("Completed at the card terminal", timeout=WAIT_MS)
    assert phone.url.endswith("?auto=1")  # it reloaded itself: nobody navigated
    expect(timeline).to_contain_text("Approved by the back office")
    expect(timeline).to_contain_text("Waiting for the shop's day closing")
    assert "olga" not in phone.content()

    laptop_context = browser.new_context(**LAPTOP)
    laptop = console.watch(laptop_context.new_page())
    assert laptop.goto(mailed_link(public)).status == 200
    expect(laptop.locator(".timeline")).to_contain_text("Completed at the card terminal")
    expect(laptop.locator(".facts")).to_contain_text("ending in")
    shoot(laptop, "refund-status-completed-1366.png")

    code, closed = rig.cli("eod")
    assert code == 0, closed
    for page in (laptop, phone):
        expect(page.locator(".timeline")).to_contain_text(
            "Included in the shop's day closing", timeout=WAIT_MS
        )
        expect(page.locator(".timeline")).to_contain_text("Expected on your card between")
        expect(page.locator(".refs")).to_contain_text(f"batch {closed['batch_no']}")
        expect(page.locator(".progress")).to_have_count(0)
        expect(page.locator('meta[http-equiv="refresh"]')).to_have_count(0)
        refs = page.locator(".refs").inner_text().split(":", 1)[1].split("·")
        for ref in (r.strip() for r in refs):  # each quoted to the bank as it stands
            assert lines_of(page, ref) == 1, f"{ref!r} is broken across lines"
        expect(page.locator(".timeline time").first).to_have_text(re.compile(r" CET$"))
    shoot(laptop, "refund-status-closed-1366.png")
    shoot(phone, "refund-status-closed-390.png")
    for locale, said in (
        ("de-DE", "Im Tagesabschluss des Geschäfts enthalten"),
        ("zh-CN", "已计入商店的日结"),
    ):
        reader = console.watch(browser.new_context(**{**PHONE, "locale": locale}).new_page())
        assert reader.goto(mailed_link(public)).status == 200  # the browser's language
        expect(reader.locator(".timeline")).to_contain_text(said)
        arrival = reader.locator(".timeline li").last.inner_text()
        for day in re.findall(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", arrival):
            assert lines_of(reader, day) == 1, f"{locale}: {day} is broken across lines"
        shoot(reader, f"refund-status-closed-390-{locale[:2]}.png")

    # four openings (the voucher's link, the e-mail's in 3 browsers), not the reloads
    for width, page in (
        (1366, desk),
        (390, login(browser, public.host, "olga", console, **PHONE)[1]),
    ):
        page.goto("/refunds")
        row = page.locator("#recent tr", has_text=txn)
        expect(row.locator(".opened")).to_contain_text("customer opened the status page 4 times")
        assert opened_ago(row.locator(".opened")), row.inner_text()
        shoot(page, f"refunds-opened-{width}.png")
    assert console.errors == []

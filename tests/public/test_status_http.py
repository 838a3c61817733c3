"""The refund status page over HTTP, on its own listener (host/public/server.py, uvicorn
in a thread) reading a store fed by the host's ingest: what the page shows, the one 404 for
every refusal, the rate limit, the headers (CSP, no cookie), escaping, the language, and
the open count."""

from __future__ import annotations

import base64
import http.client
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from posterm.host.config import load
from posterm.host.public import keys, records
from posterm.host.public.server import PublicServer
from posterm.host.store import Store
from posterm.protocol import refundlink
from tests.public.refunds import DONE, Terminal, refund
from tests.support.broker import free_port

MERCHANT = "Café <b>Beispiel</b>"
PROXY = 'forwarded_allow_ips = ["127.0.0.1"]\n'


@dataclass
class Page:
    status: int
    headers: dict[str, str]
    body: str


@dataclass
class Site:
    store: Store
    port: int
    master: bytes

    def token(self, tid: str = "pos-7", txn: str = "R-1", expires: int | None = None) -> str:
        when = int(time.time()) + 3600 if expires is None else expires
        return refundlink.mint(refundlink.terminal_key(self.master, tid), tid, txn, when)

    def get(self, path: str, headers: dict[str, str] | None = None, method: str = "GET") -> Page:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(
                method, path, body=b"x=1" if method == "POST" else None, headers=headers or {}
            )
            answer = conn.getresponse()
            body = answer.read().decode()
            return Page(answer.status, {k.lower(): v for k, v in answer.getheaders()}, body)
        finally:
            conn.close()


def start(tmp_path: Path, store_url: str, extra: str = "") -> Iterator[Site]:
    port = free_port()
    path = tmp_path / "host.toml"
    path.write_text(
        f'[host]\nid = "hq"\n[mqtt]\nurl = "mqtt://127.0.0.1:1"\n[store]\nurl = "{store_url}"\n'
        f'[public]\nurl = "https://r.example.net"\nmerchant_name = "{MERCHANT}"\n'
        f'merchant_contact = "call +49 30 1234567"\nlisten = "127.0.0.1:{port}"\n'
        f'key_file = "{tmp_path / "link.key"}"\ntimezone = "Europe/Berlin"\n{extra}',
        encoding="utf-8",
    )
    config = load(path)
    assert config.public is not None
    keys.init(config.public.key_file)
    store = Store(config.store_url)
    server = PublicServer(config.public, store)
    server.start()
    try:
        yield Site(store, port, keys.load(config.public.key_file))
    finally:
        server.stop()
        store.close()


@pytest.fixture
def site(tmp_path: Path, store_url: str) -> Iterator[Site]:
    yield from start(tmp_path, store_url)


def test_a_completed_refund_in_the_closing_shows_its_timeline(site: Site) -> None:
    """GIVEN a sale, a refund completed at the PT and the day closed WHEN the customer opens
    the link THEN 200 with the merchant (escaped), amount, card last four and scheme, each
    step, the arrival window in banking days, the references; no cookie, the CSP; no PAN
    digits beyond the last four; no refresh (final); one open counted; times in the page's
    zone, named; the page's own icon (a browser asks for one)."""
    pos = Terminal(site.store)
    pos.sale()
    pos.completed_refund()
    pos.close_day()
    page = site.get(f"/r/{site.token()}")
    assert page.status == 200, page.body
    assert "Café &lt;b&gt;Beispiel&lt;/b&gt;" in page.body and "<b>Beispiel" not in page.body
    for said in (
        "12.50 EUR",
        "Visa ending in 1111",
        "Approved by the shop",
        "Completed at the card terminal",
        "Included in the shop&#39;s day closing",
        # each date kept whole on one line (a line may break at its hyphens)
        'between <span class="day">2026-03-11</span> and <span class="day">2026-03-20</span>',
        "trace 18",
        "receipt 41",
        "batch 7",
        "refund R-1",
        "not a promise",
        "2026-03-06 11:00 CET",  # the page's zone named: a customer may be elsewhere
        '<link rel="icon" href="/icon.svg"',  # not the browser's 404 for /favicon.ico
    ):
        assert said in page.body, said
    assert "411111" not in page.body and 'http-equiv="refresh"' not in page.body
    assert "set-cookie" not in page.headers
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert records.opens(site.store, [("pos-7", "R-1")])[("pos-7", "R-1")][0] == 1
    assert page.headers["cache-control"] == "no-store"
    icon = site.get("/icon.svg")
    assert icon.status == 200 and icon.headers["content-type"] == "image/svg+xml"
    assert icon.body.startswith("<svg")
    for static in (icon, site.get("/page.css")):  # a reloading page takes them from its cache
        assert static.headers["cache-control"] == "public, max-age=86400"
        assert "default-src 'none'" in static.headers["content-security-policy"]


def test_in_progress_refreshes_itself_and_its_refresh_is_not_a_visit(site: Site) -> None:
    """GIVEN a refund awaiting approval WHEN opened THEN it says in progress, waits for
    approval and refreshes itself to ?auto=1; the refresh is not counted as an open."""
    Terminal(site.store).send(
        "refund.requested",
        {
            "txn_id": "R-1",
            "kind": "refund",
            "state": "awaiting_approval",
            "amount": "80.00",
            "currency": "EUR",
            "reason": "other",
        },
        "2026-03-06T10:00:00.000Z",
    )
    token = site.token()
    page = site.get(f"/r/{token}")
    assert "still in progress" in page.body and "Waiting for approval" in page.body
    assert 'http-equiv="refresh" content="20;url=?auto=1"' in page.body
    assert site.get(f"/r/{token}?auto=1").status == 200
    assert site.get(f"/r/{token}").status == 200
    assert records.opens(site.store, [("pos-7", "R-1")])[("pos-7", "R-1")][0] == 2


def test_the_refresh_periods_are_the_configured_ones(tmp_path: Path, store_url: str) -> None:
    """GIVEN refresh_s = [6, 60] WHEN a refund awaits approval THEN its page reloads itself
    every 6 s; once completed (waiting for the closing) every 60 s; once in the closing not
    at all. Without the key: 20 s and 300 s."""
    for site in start(tmp_path, store_url, "refresh_s = [6, 60]\n"):
        pos = Terminal(site.store)
        pos.sale()
        pos.send("refund.requested", refund("awaiting_approval"), "2026-03-06T10:00:00.000Z")
        assert 'content="6;url=?auto=1"' in site.get(f"/r/{site.token()}").body
        pos.send("refund.approved", refund("approved", by="host (olga)"), "2026-03-06T10:01Z")
        pos.send("refund.completed", refund("approved", **DONE), "2026-03-06T10:01:05.000Z")
        page = site.get(f"/r/{site.token()}").body
        assert 'content="60;url=?auto=1"' in page and "Waiting for the shop" in page
        pos.close_day()
        assert "http-equiv" not in site.get(f"/r/{site.token()}").body
    (tmp_path / "default").mkdir()
    for site in start(tmp_path / "default", store_url):  # the same store: another terminal
        pos = Terminal(site.store, "pos-8")
        pos.sale()
        pos.completed_refund()
        assert 'content="300;url=?auto=1"' in site.get(f"/r/{site.token('pos-8')}").body


def test_every_refusal_is_the_same_404(site: Site) -> None:
    """GIVEN a refund of pos-7 WHEN opened with a tampered, truncated, expired token, one of
    another master key, one for pos-8 (same txn id), one for an unknown txn, or any other
    path THEN every answer is 404 with the very same body, the merchant's contact and none
    of the refund's data; nothing is counted."""
    Terminal(site.store).completed_refund()
    good = site.token()
    flipped = good[:5] + ("A" if good[5] != "A" else "B") + good[6:]
    other_master = refundlink.mint(
        refundlink.terminal_key(bytes(32), "pos-7"), "pos-7", "R-1", int(time.time()) + 60
    )
    paths = [
        f"/r/{flipped}",
        f"/r/{good[:-3]}",
        f"/r/{site.token(expires=int(time.time()) - 1)}",
        f"/r/{other_master}",
        f"/r/{site.token(tid='pos-8')}",
        f"/r/{site.token(txn='R-2')}",
        "/r/",
        "/r/%00",
        "/admin",
        "/r/" + "x" * 5000,
    ]
    pages = [site.get(p) for p in paths]
    assert {p.status for p in pages} == {404}
    assert len({p.body for p in pages}) == 1
    assert "Not found or expired" in pages[0].body and "call +49 30 1234567" in pages[0].body
    assert "12.50" not in pages[0].body and "1111" not in pages[0].body
    assert records.opens(site.store, [("pos-7", "R-1"), ("pos-8", "R-1")]) == {}
    assert site.get(f"/r/{good}").status == 200


def test_only_a_get_is_an_opening_and_other_methods_are_refused(site: Site) -> None:
    """GIVEN a completed refund WHEN its link is asked with HEAD (a link checker, a mail
    scanner) THEN 200 without a body and no opening counted; POST, PUT, OPTIONS, DELETE
    get 405 with the page's headers (CSP, no cookie) and none of the refund's data, not
    counted either; a GET then counts one; a 70 000-character path is the one 404."""
    Terminal(site.store).completed_refund()
    path = f"/r/{site.token()}"
    head = site.get(path, method="HEAD")
    assert head.status == 200 and head.body == ""
    for method in ("POST", "PUT", "OPTIONS", "DELETE"):
        refused = site.get(path, method=method)
        assert refused.status == 405, method
        assert "default-src 'none'" in refused.headers["content-security-policy"]
        assert "set-cookie" not in refused.headers and "12.50" not in refused.body
    assert records.opens(site.store, [("pos-7", "R-1")]) == {}
    assert site.get(path).status == 200
    assert records.opens(site.store, [("pos-7", "R-1")])[("pos-7", "R-1")][0] == 1
    long = site.get("/r/" + "A" * 70_000)
    assert long.status == 404 and long.body == site.get("/r/nothing").body


def test_a_token_with_another_terminals_id_swapped_in_shows_nothing(site: Site) -> None:
    """GIVEN pos-7 and pos-8 each with a refund R-1 (different amounts and cards) WHEN pos-7's
    token is sent with pos-8 (or R-2 of pos-7) written into its payload, MAC kept THEN the
    one 404, nothing counted; each terminal's own token shows its own refund only."""
    seven, eight = Terminal(site.store, "pos-7"), Terminal(site.store, "pos-8")
    seven.sale()
    seven.completed_refund()
    eight.send(
        "refund.requested", refund("in_doubt", amount="7.77", ref_txn=None), "2026-03-06T11:00Z"
    )
    eight.send(
        "refund.completed",
        refund("approved", amount="7.77", ref_txn=None, **{**DONE, "masked_pan": "5200****0008"}),
        "2026-03-06T11:00:05Z",
    )
    seven.send("refund.requested", refund("in_doubt", txn_id="R-2"), "2026-03-06T12:00Z")
    good = site.token("pos-7")
    payload, mac = good.split(".")
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))

    def swapped(old: bytes, new: bytes) -> str:
        text = base64.urlsafe_b64encode(raw.replace(old, new)).rstrip(b"=").decode()
        return f"{text}.{mac}"

    gone = site.get("/r/nothing").body
    for token in (swapped(b"pos-7", b"pos-8"), swapped(b"\nR-1\n", b"\nR-2\n")):
        page = site.get(f"/r/{token}")
        assert page.status == 404 and page.body == gone
    assert records.opens(site.store, [("pos-7", "R-1"), ("pos-8", "R-1"), ("pos-7", "R-2")]) == {}
    mine = site.get(f"/r/{good}").body
    assert "12.50 EUR" in mine and "1111" in mine and "7.77" not in mine and "0008" not in mine
    theirs = site.get(f"/r/{site.token('pos-8')}").body
    assert "7.77 EUR" in theirs and "0008" in theirs and "12.50" not in theirs
    assert "1111" not in theirs


def test_a_token_living_longer_than_link_days_ends_with_the_hosts_expiry(site: Site) -> None:
    """GIVEN a refund the host last heard of 61 days ago (link_days 60) and a token its
    terminal minted to live longer WHEN opened THEN the one 404, nothing counted; heard of
    59 days ago: shown."""
    Terminal(site.store).completed_refund()
    token = site.token(expires=int(time.time()) + 400 * 86400)
    for days, status in ((59, 200), (61, 404)):
        then = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - days * 86400))
        with site.store.transaction() as tx:
            tx.execute("UPDATE events SET received_at = ? WHERE terminal = 'pos-7'", (then,))
        assert site.get(f"/r/{token}?auto=1").status == status, days
    assert site.get(f"/r/{token}").body == site.get("/r/nothing").body
    assert records.opens(site.store, [("pos-7", "R-1")]) == {}


def test_the_refunds_language_then_the_browsers_and_no_contact_shown(site: Site) -> None:
    """GIVEN a refund whose customer asked for zh (its pending contact) WHEN opened with a
    German browser THEN the page is in Chinese and shows no e-mail; a refund without a
    contact follows the browser (de)."""
    pos = Terminal(site.store)
    pos.completed_refund()
    with site.store.transaction() as tx:
        tx.execute(
            "INSERT INTO contacts (terminal, txn_id, contact, received_at) VALUES (?, ?, ?, ?)",
            ("pos-7", "R-1", '{"email": "kunde@example.net", "lang": "zh"}', "2026-03-06T10:00Z"),
        )
    page = site.get(f"/r/{site.token()}", {"Accept-Language": "de-DE,de;q=0.9"})
    assert '<html lang="zh">' in page.body and "已在刷卡终端完成" in page.body
    assert "kunde" not in page.body
    with site.store.transaction() as tx:
        tx.execute("DELETE FROM contacts")
    page = site.get(f"/r/{site.token()}", {"Accept-Language": "de-DE,de;q=0.9"})
    assert '<html lang="de">' in page.body and "Am Kartenterminal ausgeführt" in page.body


def test_a_terminals_free_text_never_reaches_the_customer(site: Site) -> None:
    """GIVEN a hostile terminal's refund whose card name is a message ("Call … at …") WHEN
    the customer opens the page THEN the card is "Card ending in 1111" and the text is not
    on the page."""
    Terminal(site.store).completed_refund(card_name="Call 0900 555 0100 evil.example")
    page = site.get(f"/r/{site.token()}")
    assert page.status == 200 and "Card ending in 1111" in page.body
    assert "0900" not in page.body and "evil" not in page.body


def test_a_wrong_card_refund_says_which_card_received_it(site: Site) -> None:
    """GIVEN a sale paid with ...1111 and its refund completed on ...0007 WHEN opened THEN
    the page says the card ending in 0007 got it and never shows 1111."""
    pos = Terminal(site.store)
    pos.sale()
    pos.completed_refund(masked_pan="520000******0007", card_name="Mastercard")
    page = site.get(f"/r/{site.token()}")
    assert "went to the card ending in 0007" in page.body and "1111" not in page.body


def test_the_rate_limit_is_per_client_behind_a_configured_proxy(
    tmp_path: Path, store_url: str
) -> None:
    """GIVEN rate_per_minute 3 and the proxy 127.0.0.1 WHEN one client asks 4 times THEN
    the 4th is 429 with Retry-After; another client (X-Forwarded-For) still gets through."""
    for site in start(
        tmp_path,
        store_url,
        "rate_per_minute = 3\nrefresh_s = [60, 300]\n" + PROXY,
    ):
        one = {"X-Forwarded-For": "198.51.100.1"}
        assert [site.get("/r/x", one).status for _ in range(4)] == [404, 404, 404, 429]
        limited = site.get("/r/x", one)
        assert limited.status == 429 and int(limited.headers["retry-after"]) >= 1
        assert "set-cookie" not in limited.headers and "content-security-policy" in limited.headers
        assert site.get("/r/x", {"X-Forwarded-For": "198.51.100.2"}).status == 404


def test_an_ipv6_client_is_counted_by_its_64(tmp_path: Path, store_url: str) -> None:
    """GIVEN rate_per_minute 2 behind the proxy 127.0.0.1 WHEN one IPv6 client asks from a
    new address of its /64 each time THEN the 3rd is 429; another /64 gets through; an
    IPv4-mapped address is that IPv4 client."""
    for site in start(
        tmp_path,
        store_url,
        "rate_per_minute = 2\nrefresh_s = [90, 300]\n" + PROXY,
    ):
        hopping = [{"X-Forwarded-For": f"2001:db8:0:7::{i:x}"} for i in range(1, 4)]
        assert [site.get("/r/x", h).status for h in hopping] == [404, 404, 429]
        assert site.get("/r/x", {"X-Forwarded-For": "2001:db8:0:8::1"}).status == 404
        for address in ("198.51.100.9", "::ffff:198.51.100.9", "198.51.100.9"):
            last = site.get("/r/x", {"X-Forwarded-For": address}).status
        assert last == 429


def test_forwarded_for_is_ignored_without_a_configured_proxy(
    tmp_path: Path, store_url: str
) -> None:
    """GIVEN rate_per_minute 2 and no proxy WHEN a client changes X-Forwarded-For THEN it
    is still one client: the 3rd request is 429."""
    for site in start(tmp_path, store_url, "rate_per_minute = 2\nrefresh_s = [90, 300]\n"):
        codes = [site.get("/r/x", {"X-Forwarded-For": f"198.51.100.{i}"}).status for i in range(3)]
        assert codes == [404, 404, 429]


def test_the_dashboards_refund_rows_say_how_often_the_customer_opened_the_page(
    site: Site,
) -> None:
    """GIVEN a refund whose page was opened twice (and refreshed by itself once) WHEN the
    dashboard's refunds page reads its rows THEN that row says "customer opened the status
    page 2 times" and when last (RFC 3339, for the page to localise); an unopened refund
    says nothing; the refunds template shows it."""
    from posterm.host.web import data  # noqa: PLC0415
    from posterm.host.web.app import HERE  # noqa: PLC0415

    pos = Terminal(site.store)
    pos.completed_refund()
    token = site.token()
    for path in (f"/r/{token}", f"/r/{token}?auto=1", f"/r/{token}"):
        assert site.get(path).status == 200
    rows = records.with_opens(site.store, data.refunds(site.store, pending=False))
    (row,) = [r for r in rows if r["txn_id"] == "R-1"]
    assert row["opened"] == "customer opened the status page 2 times"
    assert row["opened_at"] == records.opens(site.store, [("pos-7", "R-1")])[("pos-7", "R-1")][1]
    assert row["opened_at"].startswith("20") and row["opened_at"].endswith("Z")
    assert records.with_opens(site.store, [{"terminal": "pos-8", "txn_id": "R-1"}])[0] == {
        "terminal": "pos-8",
        "txn_id": "R-1",
        "opened": "",
        "opened_at": None,
    }
    assert "r.opened" in (HERE / "templates" / "refunds.html").read_text()

"""The dashboard's login over plain HTTP against the real `posterm-host run --http`: the
login throttle (counted before the hash, per client and per client and name, the client
from X-Forwarded-For only behind a configured proxy), sessions that end at logout, and the
audit log that throttled attempts do not flood."""

from __future__ import annotations

import http.client
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest

from posterm.host.web.auth import hash_password
from tests.support.broker import Broker
from tests.web.conftest import USERS, WebHost

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)

PROXY = 'forwarded_allow_ips = ["127.0.0.1"]\n'


class Visitor:
    """One browser's worth of HTTP: its own session cookie, its own client address when
    `forwarded_for` is given (what a reverse proxy adds)."""

    def __init__(self, host: WebHost, forwarded_for: str | None = None) -> None:
        self.port, self.forwarded_for = host.port, forwarded_for
        self.cookie: str | None = None
        self.set_cookie = ""  # the last Set-Cookie header, with its flags
        self.csrf = ""

    def request(
        self,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        body_json: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        sent = dict(headers or {})
        if self.cookie:
            sent["Cookie"] = self.cookie
        if self.forwarded_for:
            sent["X-Forwarded-For"] = self.forwarded_for
        body = None
        if form is not None:
            body = urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        if body_json is not None:
            body = json.dumps(body_json)
            sent["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=body, headers=sent)
            answer = conn.getresponse()
            text = answer.read().decode()
            for value in answer.headers.get_all("set-cookie") or []:
                self.cookie, self.set_cookie = value.split(";", 1)[0], value
            found = re.search(r'name="csrf_token" value="([^"]+)"', text)
            if found:
                self.csrf = found.group(1)
            return answer.status, text
        finally:
            conn.close()

    def login_form(self) -> Visitor:
        assert self.request("GET", "/login")[0] == 200 and self.csrf
        return self

    def post_login(self, name: str, password: str) -> int:
        return self.request(
            "POST", "/login", {"csrf_token": self.csrf, "name": name, "password": password}
        )[0]

    def login(self, name: str) -> None:
        assert self.login_form().post_login(name, USERS[name][1]) == 303
        assert self.request("GET", "/audit")[0] == 200  # the page's csrf token


@pytest.fixture
def proxied_host(tmp_path: Path, broker: Broker) -> Iterator[WebHost]:
    h = WebHost(tmp_path, broker, web_extra=PROXY)
    h.start()
    yield h
    h.stop()


def at_once(visitors: list[Visitor], name: str, password: str) -> list[int]:
    """Every visitor posts its login form at the same moment; their statuses."""
    start = threading.Barrier(len(visitors))
    statuses = [0] * len(visitors)

    def post(i: int) -> None:
        start.wait(30)
        statuses[i] = visitors[i].post_login(name, password)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(visitors))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return statuses


def test_concurrent_wrong_passwords_are_counted_before_the_hash(web_host: WebHost) -> None:
    """GIVEN 60 visitors from one address (each claiming another X-Forwarded-For, which no
    configured proxy vouches for) WHEN all post a wrong password for olga at once
    THEN 5 are checked (401) and 55 refused before the hash (429); AND a right password
    after them is refused too while the window lasts."""
    visitors = [Visitor(web_host, f"198.51.100.{i}").login_form() for i in range(60)]
    statuses = at_once(visitors, "olga", "wrong-password")
    assert sorted(statuses) == [401] * 5 + [429] * 55, statuses
    assert Visitor(web_host).login_form().post_login("olga", USERS["olga"][1]) == 429


def test_failures_from_one_client_do_not_lock_out_another(proxied_host: WebHost) -> None:
    """GIVEN the dashboard behind a proxy on 127.0.0.1 (`forwarded_allow_ips`)
    WHEN a client fails 25 times under unknown names and 5 times as olga THEN that client
    is refused (429) AND olga, from her own address, still logs in."""
    attacker = Visitor(proxied_host, "203.0.113.7").login_form()
    statuses = [attacker.post_login(f"admin{i % 7}", "guess") for i in range(25)]
    assert statuses == [401] * 20 + [429] * 5, statuses  # 20 per client under any names
    other = Visitor(proxied_host, "203.0.113.8").login_form()
    assert [other.post_login("olga", "guess") for _ in range(6)] == [401] * 5 + [429]
    Visitor(proxied_host, "198.51.100.2").login("olga")


def test_logout_ends_the_session_for_a_copied_cookie_too(web_host: WebHost) -> None:
    """GIVEN olga logged in and her cookie copied into another browser (the cookie holds
    only a random id) WHEN she logs out THEN the copy reads nothing (401) and cannot close
    a day (401), though it carries her CSRF token."""
    olga = Visitor(web_host)
    olga.login("olga")
    assert olga.cookie is not None and re.fullmatch(r"posterm_session=[\w-]{43}", olga.cookie)
    assert "HttpOnly; SameSite=Strict" in olga.set_cookie  # not Secure: cookie_secure = false
    thief = Visitor(web_host)
    thief.cookie, thief.csrf = olga.cookie, olga.csrf
    assert thief.request("GET", "/api/audit")[0] == 200
    assert olga.request("POST", "/logout", {"csrf_token": olga.csrf})[0] == 303
    assert thief.request("GET", "/api/audit")[0] == 401
    status, _ = thief.request(
        "POST", "/api/terminals/pos-1/eod", headers={"X-CSRF-Token": thief.csrf}
    )
    assert status == 401


def test_a_changed_password_ends_that_user_s_sessions(tmp_path: Path, broker: Broker) -> None:
    """GIVEN olga and vic logged in, sessions kept across restarts (session_secret_file)
    WHEN olga's password hash is changed in the config and the host restarts THEN olga's
    session is over (401) and vic's goes on (200)."""
    secret = tmp_path / "web.secret"
    secret.write_text("x" * 40)
    host = WebHost(tmp_path, broker, web_extra=f'session_secret_file = "{secret}"\n')
    host.start()
    try:
        olga, vic = Visitor(host), Visitor(host)
        olga.login("olga")
        vic.login("vic")
        host.stop()
        text = host.config.read_text()
        old = re.search(r'name = "olga"\npassword_hash = "([^"]+)"', text)
        assert old is not None
        host.config.write_text(text.replace(old.group(1), hash_password("a-new-password")))
        host.start()
        assert vic.request("GET", "/api/audit")[0] == 200
        assert olga.request("GET", "/api/audit")[0] == 401
    finally:
        host.stop()


def test_a_flood_of_throttled_logins_does_not_push_the_operator_out_of_the_audit(
    proxied_host: WebHost,
) -> None:
    """GIVEN olga closed a day (refused: no such terminal), in the audit log
    WHEN one client then fails 220 logins (20 checked, 200 throttled) THEN the log's first
    page still shows olga's action; the 200 refusals are one row counting 200; and the
    log filters by user and action and says a bad page is one (400)."""
    olga = Visitor(proxied_host, "198.51.100.2")
    olga.login("olga")
    status, _ = olga.request(
        "POST",
        "/api/terminals/pos-9/eod",
        headers={"X-CSRF-Token": olga.csrf},
        body_json={"action": "eod", "terminal": "pos-9"},
    )
    assert status == 404
    attacker = Visitor(proxied_host, "203.0.113.7").login_form()
    statuses = [attacker.post_login(f"admin{i % 5}", "guess") for i in range(220)]
    assert statuses.count(429) == 200
    status, body = olga.request("GET", "/api/audit")
    log = json.loads(body)
    assert status == 200 and log["total"] == 23, log["total"]  # 20 + 1 + olga's login, eod
    assert any(r["action"] == "eod" and r["username"] == "olga" for r in log["audit"])
    (counted,) = [r for r in log["audit"] if r["result"].get("code") == "throttled"]
    assert (counted["repeats"], counted["target"]) == (200, "203.0.113.7")
    mine = json.loads(olga.request("GET", "/api/audit?user=olga&action=eod")[1])
    assert [(r["username"], r["action"], r["target"]) for r in mine["audit"]] == [
        ("olga", "eod", "pos-9")
    ]
    assert olga.request("GET", "/api/audit?page=0")[0] == 400
    status, page = olga.request("GET", "/audit?action=eod")
    assert status == 200 and "pos-9" in page and "203.0.113.7" not in page

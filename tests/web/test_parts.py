"""The dashboard's parts without a browser: the `[web]` config checked key by key,
`posterm-host hash-password`, `run --http` refusing a bad or busy address, the session
cookie's flags, the login throttle, the SVG plots (the telemetry history and the audit
log on both databases: tests/host/test_history.py)."""

from __future__ import annotations

import re
import socket
import subprocess
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from posterm.host.config import HostConfigError, load, parse_bind
from posterm.host.store import Store
from posterm.host.web import plots
from posterm.host.web.app import create_app
from posterm.host.web.auth import Throttle
from posterm.host.web.sessions import ServerSessions
from tests.support.sim import BIN

BASE = '[host]\nid = "hq"\n[mqtt]\nurl = "mqtt://127.0.0.1:1"\n'
HASH = PasswordHasher().hash("pw")


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "host.toml"
    path.write_text(BASE + f'[store]\nurl = "sqlite://{tmp_path / "host.db"}"\n' + text)
    return path


def test_web_users_and_settings_are_read(tmp_path: Path) -> None:
    web = load(
        config(
            tmp_path,
            f'[web]\nbind = "127.0.0.1:9000"\ncookie_secure = false\n'
            f'[[web.users]]\nname = "olga"\npassword_hash = "{HASH}"\n'
            f'role = "operator"\n',
        )
    ).web
    assert web.bind == "127.0.0.1:9000" and web.cookie_secure is False
    assert [(u.name, u.role) for u in web.users] == [("olga", "operator")]
    assert load(config(tmp_path, "")).web.bind == "127.0.0.1:8080"  # localhost by default
    assert load(config(tmp_path, "")).web.cookie_secure is True
    assert load(config(tmp_path, "")).web.forwarded_allow_ips == ()  # X-Forwarded-For ignored
    proxies = '[web]\nforwarded_allow_ips = ["127.0.0.1", "fd00::/64"]\n'
    assert load(config(tmp_path, proxies)).web.forwarded_allow_ips == ("127.0.0.1/32", "fd00::/64")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[web]\nport = 1\n", "web.port"),
        ('[web]\nbind = "localhost"\n', "web.bind"),
        ('[web]\ncookie_secure = "no"\n', "web.cookie_secure"),
        ('[web]\nsession_secret_file = "relative"\n', "web.session_secret_file"),
        (
            f'[[web.users]]\nname = "a"\npassword_hash = "{HASH}"\nrole = "admin"\n',
            "web.users[0].role",
        ),
        (
            '[[web.users]]\nname = "a"\npassword_hash = "plain"\nrole = "viewer"\n',
            "web.users[0].password_hash",
        ),
        (
            f'[[web.users]]\nname = "a"\npassword_hash = "{HASH}"\nrole = "viewer"\nemail = "x"\n',
            "web.users[0].email",
        ),
        (
            f'[[web.users]]\nname = "a b"\npassword_hash = "{HASH}"\nrole = "viewer"\n',
            "web.users[0].name",
        ),
        (
            f'[[web.users]]\nname = "a"\npassword_hash = "{HASH}"\nrole = "viewer"\n'
            f'[[web.users]]\nname = "a"\npassword_hash = "{HASH}"\nrole = "operator"\n',
            "web.users[1].name",
        ),
        ('[web]\nforwarded_allow_ips = "127.0.0.1"\n', "web.forwarded_allow_ips"),
        ('[web]\nforwarded_allow_ips = ["*"]\n', "web.forwarded_allow_ips"),
        ('[web]\nforwarded_allow_ips = ["10.0.0.1/24"]\n', "web.forwarded_allow_ips"),
        ("[web]\nforwarded_allow_ips = [1]\n", "web.forwarded_allow_ips"),
    ],
)
def test_bad_web_config_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(HostConfigError, match=f": {re.escape(key)}: "):
        load(config(tmp_path, text))


def run(path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "posterm-host"), "--config", str(path), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.slow
def test_hash_password_reads_stdin(tmp_path: Path) -> None:
    path = config(tmp_path, "")
    done = run(path, "hash-password", stdin="correct horse\n")
    assert done.returncode == 0 and "correct horse" not in done.stdout
    assert PasswordHasher().verify(done.stdout.strip(), "correct horse")
    assert run(path, "hash-password").returncode == 65


@pytest.mark.slow
def test_run_http_refuses_a_bad_or_busy_address(tmp_path: Path) -> None:
    path = config(tmp_path, "")
    assert run(path, "run", "--http", "nowhere").returncode == 64
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run(path, "run", "--http", f"127.0.0.1:{port}")
    assert done.returncode == 1 and f"127.0.0.1:{port}" in done.stderr, done.stderr


def test_plots_are_inline_svg_with_holes_and_escaped_labels() -> None:
    svg = plots.steps(
        [
            ("2026-11-29T10:00:00.000Z", 1.0),
            ("2026-11-29T10:30:00.000Z", None),
            ("2026-11-29T10:40:00.000Z", 4.0),
        ],
        "<depth>",
    )
    assert svg.startswith("<svg") and svg.count("<polyline") == 2 and "&lt;depth&gt;" in svg
    assert "no data" in plots.steps([], "x")
    bars = plots.bars([("pos-1", 2.0, 5.5), ("pos-2", None, None)], "timeliness")
    assert bars.count("<rect") == 3 and "no completed refund" in bars


def test_session_cookies_are_secure_unless_configured_otherwise(tmp_path: Path) -> None:
    store = Store(f"sqlite://{tmp_path / 'host.db'}")
    try:
        for text, secure in (("", True), ("[web]\ncookie_secure = false\n", False)):
            app = create_app(load(config(tmp_path, text)), store, lambda tid, env: None, "s" * 32)
            (session,) = [m for m in app.user_middleware if m.cls is ServerSessions]
            assert session.kwargs["secure"] is secure
    finally:
        store.close()


def test_login_attempts_are_counted_per_client_and_per_client_and_name() -> None:
    """GIVEN limits of 2 per (client, name) and 3 per client WHEN attempts are taken
    THEN each is counted at once; another client is never blocked by them; a success clears
    its pair and takes itself off the client's count."""
    throttle = Throttle(per_name=2, per_client=3, window_s=60)
    assert throttle.attempt("c1", "olga") is not None
    assert throttle.attempt("c1", "olga") is not None
    assert throttle.attempt("c1", "olga") is None  # the pair's limit, before any hash
    assert throttle.attempt("c2", "olga") is not None  # olga elsewhere: not locked out
    assert throttle.attempt("c1", "nobody") is not None
    assert throttle.attempt("c1", "vic") is None  # the client's limit under any name
    ok = throttle.attempt("c2", "vic")
    assert ok is not None
    throttle.succeeded("c2", "vic", ok)
    taken = [throttle.attempt("c2", n) is not None for n in ("vic", "x", "y")]
    assert taken == [True, True, False]  # c2: olga's, vic's and x's; the success not counted


@pytest.mark.parametrize("text", ["127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:x", "8080"])
def test_a_configured_bind_takes_ports_1_to_65535(text: str) -> None:
    """GIVEN [web] bind with port 0 or a bad port WHEN read THEN it is refused: port 0 (a
    port the kernel picks) is for `run --http` alone, which logs the port it bound."""
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_bind(text)


def test_run_http_takes_port_0() -> None:
    assert parse_bind("127.0.0.1:0", any_port=True) == ("127.0.0.1", 0)
    assert parse_bind("[::1]:8080", any_port=True) == ("::1", 8080)
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_bind("127.0.0.1:65536", any_port=True)

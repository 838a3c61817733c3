"""The dashboard's fixtures: a real `posterm-host run --http` fed by the real postermd
through Mosquitto, users of both roles, and Debian's chromium driven by Playwright (no
browser download; under CI a missing chromium fails, elsewhere it skips)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from posterm.host.web.auth import hash_password
from posterm.hwsim.demo_host import announced
from tests.support.broker import Broker, accepts, wait_for
from tests.support.needs import unavailable
from tests.support.rig import Rig, trusting_rig
from tests.support.sim import BIN

CHROMIUM = os.environ.get("POSTERM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artifacts" / "web"
USERS = {
    "olga": ("operator", "olga-secret-pw"),
    "otto": ("operator", "otto-secret-pw"),  # a second operator (alerts acknowledged)
    "vic": ("viewer", "vic-secret-pw"),
}


class WebHost:
    """`posterm-host run --http` as a fleet operator runs it."""

    def __init__(
        self, tmp: Path, broker: Broker, web_extra: str = "", store_url: str | None = None
    ) -> None:
        """`web_extra`: more `[web]` keys, one per line; `store_url`: else SQLite in tmp."""
        self.tmp = tmp
        self.port = 0  # the kernel picks it at the first start (announced in the log), kept
        self.url = ""
        self.key = tmp / "keys" / "host.key"
        self.config = tmp / "host.toml"
        users = "".join(
            f'[[web.users]]\nname = "{name}"\npassword_hash = "{hash_password(pw)}"\n'
            f'role = "{role}"\n'
            for name, (role, pw) in USERS.items()
        )
        store = store_url or f"sqlite://{tmp / 'host.db'}"
        self.config.write_text(
            f'[host]\nid = "hq"\nreply_timeout_s = 8\n[mqtt]\nurl = "{broker.url}"\n'
            f'[store]\nurl = "{store}"\n[keys]\nprivate_key = "{self.key}"\n'
            f"[alerts]\noffline_s = 1\n[web]\ncookie_secure = false\n{web_extra}{users}"
        )
        self.proc: subprocess.Popen[str] | None = None

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "posterm-host"), "--config", str(self.config), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def start(self) -> None:
        log = (self.tmp / "host.log").open("w")
        self.proc = subprocess.Popen(
            [
                str(BIN / "posterm-host"),
                "--config",
                str(self.config),
                "run",
                "--http",
                f"127.0.0.1:{self.port}",
            ],
            stdout=log,
            stderr=log,
            text=True,
        )
        proc = self.proc
        url = announced(
            self.tmp / "host.log", 0, r"dashboard on (http://\S+)/", lambda: proc.poll() is None, 60
        )
        if url is None:
            raise AssertionError(f"posterm-host --http did not listen: {self.log()}")
        self.url, self.port = url, urlsplit(url).port or 0
        wait_for(self._listens, "the dashboard to listen")

    def log(self) -> str:
        return (self.tmp / "host.log").read_text(errors="replace")

    def _listens(self) -> bool:
        return accepts(self.proc, self.port, self.tmp / "host.log")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(15)


@pytest.fixture
def web_host(tmp_path: Path, broker: Broker) -> Iterator[WebHost]:
    h = WebHost(tmp_path, broker)
    assert h.cli("keygen").returncode == 0
    h.start()
    yield h
    h.stop()


@pytest.fixture
def rig(tmp_path: Path, broker: Broker, web_host: WebHost) -> Iterator[Rig]:
    with trusting_rig(tmp_path, broker, web_host.key.with_suffix(".pub")) as r:
        yield r


@pytest.fixture
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        unavailable(f"chromium not found at {CHROMIUM} (Debian's chromium; .ci/run installs it)")
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


class Console:
    """Every console error and uncaught page error of the pages it watches."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def watch(self, page: Any) -> Any:
        page.on(
            "console",
            lambda m: self.errors.append(f"{page.url}: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: self.errors.append(f"{page.url}: {e}"))
        return page


def login(
    browser: Any, host: WebHost, name: str, console: Console, **options: Any
) -> tuple[Any, Any]:
    """A browser context of its own (its own cookies) logged in as `name`; `options` for
    the context (viewport, timezone_id, locale)."""
    context = browser.new_context(base_url=host.url, **options)
    page = console.watch(context.new_page())
    page.goto("/login")
    page.fill('input[name="name"]', name)
    page.fill('input[name="password"]', USERS[name][1])
    page.click('button[type="submit"]')
    page.wait_for_url(f"{host.url}/")
    return context, page

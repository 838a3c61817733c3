"""The demo's back office (docs/mqtt.md): an embedded broker, amqtt in a process of its
own (or the broker of POSTERM_DEMO_MQTT), and the real `posterm-host run` with its SQLite
store in demo-out/ and its own Ed25519 key (`posterm-host keygen`), which postermd trusts
through `[mqtt] host_public_key`."""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack, closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from posterm.hwsim.procs import stop as stop_process
from posterm.protocol.mqtt.url import parse_mqtt_url

ENV_URL = "POSTERM_DEMO_MQTT"  # mqtt://HOST:PORT of a broker to use instead of amqtt
WEB_USER, WEB_PASSWORD = "demo", "demo"  # the dashboard's operator in the demo
WEB_PORT = 8080  # when free, else any free port
ENV_WEB_PORT = "POSTERM_DEMO_WEB_PORT"  # the dashboard's port instead (two demos at once)
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class BrokerAddr:
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"


def broker_from_env() -> BrokerAddr | None:
    """The broker named by POSTERM_DEMO_MQTT, or None when it is not set."""
    raw = os.environ.get(ENV_URL, "").strip()
    if not raw:
        return None
    try:
        broker = parse_mqtt_url(raw)
    except ValueError:
        broker = None
    if broker is None or broker.tls:
        raise SystemExit(f"{ENV_URL}={raw!r}: the demo takes mqtt://HOST[:PORT] (plain MQTT)")
    return BrokerAddr(broker.host, broker.port)


def start(stack: ExitStack, out: Path) -> Host:
    """The broker of POSTERM_DEMO_MQTT, else amqtt started here; then `posterm-host keygen`
    and `posterm-host run`. `stack` stops both when the demo ends."""
    broker = broker_from_env()
    if broker is not None:
        print(f"  MQTT broker {broker.url} (from {ENV_URL})")
    else:
        proc, broker = start_amqtt(out)
        stack.callback(stop_process, proc, 5)
        print(f"  MQTT broker: amqtt, embedded, pid {proc.pid}, on {broker.url}")
    host = Host(out, broker)
    code, _ = host.cli("keygen", show=False, json_out=False)
    if code != 0:
        raise RuntimeError(f"posterm-host keygen failed: see {host.log}")
    digest = subprocess.run(
        [str(BIN / "posterm-host"), "--config", str(host.config), "hash-password"],
        input=WEB_PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    with host.config.open("a") as config:
        config.write(
            f'[web]\ncookie_secure = false\n[[web.users]]\nname = "{WEB_USER}"\n'
            f'password_hash = "{digest}"\nrole = "operator"\n'
        )
    start_of_run = host.log.stat().st_size if host.log.exists() else 0
    host.start("--http", f"127.0.0.1:{_web_port()}")
    stack.callback(host.stop)
    url = announced(host.log, start_of_run, r"dashboard on (http://\S+)", host.alive, 30)
    if url is None:
        raise RuntimeError(f"posterm-host --http did not listen: see {host.log}")
    _wait_listening(host, urlsplit(url).port or 0)
    host.url = url
    print(
        f"  back office: posterm-host run --http, pid {host.pid}, store {host.db}, key "
        f"{host.key}, dashboard {host.url}"
    )
    return host


def _web_port() -> int:
    """$POSTERM_DEMO_WEB_PORT, else 8080 when free, else 0: posterm-host binds a port the
    kernel picks and announces it (a port probed free here and bound there later could be
    taken in between, by a simulator binding port 0 for instance)."""
    if (named := os.environ.get(ENV_WEB_PORT)) is not None:
        if not named.isdigit() or not 0 <= int(named) < 65536:
            raise SystemExit(f"make demo: {ENV_WEB_PORT} is a port (0-65535), not {named!r}")
        return int(named)
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", WEB_PORT))
        except OSError:
            return 0
        return WEB_PORT


def announced(
    log: Path, offset: int, pattern: str, alive: Callable[[], bool], seconds: float
) -> str | None:
    """The first group of `pattern` in what a process wrote to `log` past `offset` (the
    address it bound, say), waiting up to `seconds` while `alive()`; None if it never says."""
    found: list[str] = []

    def said() -> bool:
        with log.open("rb") as f:
            f.seek(offset)
            if m := re.search(pattern, f.read().decode(errors="replace")):
                found.append(m.group(1))
        return bool(found) or not alive()

    poll(said, seconds, 0.05)
    return found[0] if found else None


def _wait_listening(host: Host, port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        if not host.alive():
            raise RuntimeError(f"posterm-host exited: see {host.log}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"posterm-host --http did not listen: see {host.log}") from None
            time.sleep(0.05)


# -- the embedded broker ---------------------------------------------------------------------


def amqtt_config(port: int) -> dict[str, Any]:
    """A TCP listener on 127.0.0.1:port. amqtt 0.12 keeps no session (no QoS 1 messages
    queued while a client is away) for a client that logs in without a user name: postermd
    gives one (its outbox must survive its reconnects); posterm-host cannot (it has no
    MQTT user name setting), so anonymous logins are on and the host, started before
    postermd and running until the end, gets every message while it is connected."""
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
        "plugins": {
            "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
        },
    }


def start_amqtt(out: Path, tries: int = 3) -> tuple[subprocess.Popen[bytes], BrokerAddr]:
    """amqtt as its own process on a free port; returned once it accepts connections."""
    conf = out / "amqtt.yaml"
    for _ in range(tries):  # another process may take the free port before amqtt binds it
        addr = BrokerAddr("127.0.0.1", free_port())
        conf.write_text(json.dumps(amqtt_config(addr.port), indent=2) + "\n")  # YAML reads JSON
        with (out / "amqtt.log").open("a") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "amqtt.scripts.broker_script", "-c", str(conf)],
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        if wait_listening(proc, addr, seconds=20.0):
            return proc, addr
        stop_process(proc, grace=5)
    raise RuntimeError(f"amqtt did not start: see {out / 'amqtt.log'}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def accepts(addr: BrokerAddr) -> bool:
    try:
        socket.create_connection((addr.host, addr.port), timeout=0.2).close()
    except OSError:
        return False
    return True


def wait_listening(proc: subprocess.Popen[bytes], addr: BrokerAddr, seconds: float) -> bool:
    """Poll until the broker accepts a connection; False if it exits or takes too long."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        if accepts(addr):
            return True
        time.sleep(0.05)
    return False


# -- the back office: posterm-host ---------------------------------------------------------


class Host:
    """`posterm-host` as the demo runs it: `run` in the background, the rest as commands."""

    HOST_ID = "demo-office"

    def __init__(self, out: Path, broker: BrokerAddr) -> None:
        self.out = out
        self.db = out / "host.db"
        self.key = out / "host-ed25519.pem"
        self.public_key = self.key.with_suffix(".pub")
        self.config = out / "posterm-host.toml"
        self.log = out / "posterm-host.log"
        self.config.write_text(
            f'[host]\nid = "{self.HOST_ID}"\nreply_timeout_s = 20\n'
            f'[mqtt]\nurl = "{broker.url}"\n[store]\nurl = "sqlite://{self.db}"\n'
            f'[keys]\nprivate_key = "{self.key}"\n'
            "[alerts]\ninterval_s = 0.5\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.broker = broker
        self.url = ""  # the dashboard, once `run --http` listens

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc is not None else 0

    def start(self, *run_args: str) -> None:
        """`posterm-host run RUN_ARGS` in a session of its own (Ctrl-C reaches the demo,
        which stops it in turn)."""
        with self.log.open("a") as log:
            self.proc = subprocess.Popen(
                [str(BIN / "posterm-host"), "--config", str(self.config), "run", *run_args],
                stdout=log,
                stderr=log,
                start_new_session=True,
            )

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, 10)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def cli(self, *args: str, show: bool = True, json_out: bool = True) -> tuple[int, Any]:
        """Run `posterm-host ARGS` (with --json when `json_out`): its exit code and answer;
        with `show`, the command line and its plain answer are printed as an operator sees
        them."""
        cmd = [str(BIN / "posterm-host"), "--config", str(self.config), *args]
        if show:
            print("$ posterm-host " + shlex.join(args), flush=True)
        proc = subprocess.run(
            [*cmd, *(["--json"] if json_out else [])],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        with self.log.open("a") as log:
            log.write(proc.stderr)
        out = proc.stdout.strip()
        if not json_out:
            if show:
                for line in out.splitlines():
                    print("  " + line)
            return proc.returncode, out
        try:
            return proc.returncode, json.loads(out) if out else proc.stderr.strip()
        except json.JSONDecodeError:
            return proc.returncode, out

    # reads of the host's store (read-only, no process started): what waits poll ----------
    def _query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        if not self.db.exists():
            return []
        try:
            with closing(sqlite3.connect(self.db.as_uri() + "?mode=ro", uri=True, timeout=5)) as db:
                return list(db.execute(sql, params))
        except sqlite3.OperationalError:  # the host has not made its tables yet
            return []

    def stored(self, tid: str) -> list[tuple[str, int, str]]:
        """(event_id, seq, type) of every event the host stored for `tid`, by seq."""
        rows = self._query(
            "SELECT event_id, seq, type FROM events WHERE terminal = ? ORDER BY seq", tid
        )
        return [(str(r[0]), int(r[1]), str(r[2])) for r in rows]

    def has_event(self, tid: str, type_: str, txn_id: str) -> bool:
        rows = self._query(
            "SELECT envelope FROM events WHERE terminal = ? AND type = ?", tid, type_
        )
        return any(json.loads(r[0]).get("data", {}).get("txn_id") == txn_id for r in rows)

    def online(self, tid: str) -> bool:
        return bool(self._query("SELECT 1 FROM terminals WHERE terminal = ? AND online = 1", tid))

    def fleet_row(self, tid: str) -> dict[str, Any] | None:
        """The terminal's last telemetry as the host stored it."""
        rows = self._query("SELECT telemetry FROM terminals WHERE terminal = ?", tid)
        return json.loads(rows[0][0]) if rows and rows[0][0] else None

    def open_alerts(self, kind: str) -> list[dict[str, Any]]:
        rows = self._query(
            "SELECT alert_id, terminal, subject, detail FROM alerts "
            "WHERE kind = ? AND cleared_at IS NULL",
            kind,
        )
        return [
            {"alert_id": r[0], "terminal": r[1], "subject": r[2], "detail": json.loads(r[3])}
            for r in rows
        ]


def outbox_depth(journal: Path) -> int:
    """Events postermd still waits to see acknowledged, from its journal opened read-only."""
    with closing(sqlite3.connect(journal.as_uri() + "?mode=ro", uri=True, timeout=5)) as db:
        return int(db.execute("SELECT COUNT(*) FROM outbox WHERE acked_at IS NULL").fetchone()[0])


def outbox_seqs(journal: Path) -> list[int]:
    with closing(sqlite3.connect(journal.as_uri() + "?mode=ro", uri=True, timeout=5)) as db:
        return [int(r[0]) for r in db.execute("SELECT seq FROM outbox ORDER BY seq")]


def poll(check: Callable[[], bool], seconds: float, every: float = 0.1) -> bool:
    """True as soon as `check()` is; False after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(every)

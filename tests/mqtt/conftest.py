"""A real Mosquitto started with deploy/mosquitto/posterm.conf, and certificates for it.

The broker runs as a subprocess in tmp_path on a free port, with the example config: only
paths, the port and the log destination are rewritten, so the tests prove the files an
operator installs. make-certs.py makes the certificates and make-dynsec.py the access
rules (both run as their CLI, as an operator runs them).
"""

from __future__ import annotations

import getpass
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.mqtt.peer import Peer
from tests.support.broker import free_port

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "deploy" / "mosquitto"
MAKE_CERTS = EXAMPLE / "make-certs.py"
MAKE_DYNSEC = EXAMPLE / "make-dynsec.py"
DYNSEC_PLUGIN = "mosquitto_dynamic_security.so"
HOST_CN = "posterm-host"
TERMINALS = ("pos-a", "pos-b")
UNLISTED = "pos-unlisted"  # a valid certificate, but not in make-dynsec.py's rules
START_TIMEOUT = 10.0


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)),
        None,
    )
    if found is None:
        pytest.fail(
            "mosquitto is not installed: install Debian's mosquitto (.ci/run does: "
            "apt-get install mosquitto)",
            pytrace=False,
        )
    return found


def dynsec_plugin() -> str:
    """The dynamic-security plugin: posterm.conf's path (Debian's), or another build's."""
    m = re.search(r"^plugin (\S+)$", (EXAMPLE / "posterm.conf").read_text(), re.MULTILINE)
    candidates = [m.group(1)] if m else []
    candidates += [f"/usr/lib/{DYNSEC_PLUGIN}", f"/usr/local/lib/{DYNSEC_PLUGIN}"]
    found = next((p for p in candidates if os.path.exists(p)), None)
    if found is None:
        pytest.fail(
            f"no {DYNSEC_PLUGIN} in {candidates}: Debian's mosquitto package has it", pytrace=False
        )
    return found


def make_dynsec(out: Path, host: str, terminals: tuple[str, ...]) -> Path:
    args = [sys.executable, str(MAKE_DYNSEC), str(out), "--host", host]
    for tid in terminals:
        args += ["--terminal", tid]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    if proc.returncode != 0:
        pytest.fail(
            f"make-dynsec.py failed ({proc.returncode}): {proc.stderr.strip()}", pytrace=False
        )
    return out


@dataclass(frozen=True)
class Certs:
    """A directory written by make-certs.py."""

    dir: Path

    @property
    def ca(self) -> Path:
        return self.dir / "ca.crt"

    def cert(self, cn: str) -> Path:
        return self.dir / f"{cn}.crt"

    def key(self, cn: str) -> Path:
        return self.dir / f"{cn}.key"


def make_certs(out: Path, *args: str) -> Certs:
    proc = subprocess.run(
        [sys.executable, str(MAKE_CERTS), str(out), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"make-certs.py failed ({proc.returncode}): {proc.stderr.strip()} "
            "(it needs the 'cryptography' package)",
            pytrace=False,
        )
    return Certs(out)


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    """The test CA, the broker's certificate, the host identity, terminals pos-a, pos-b,
    and UNLISTED."""
    out = tmp_path_factory.mktemp("certs") / "pki"
    args = ["--server-name", "localhost", "--server-name", "127.0.0.1", "--host", HOST_CN]
    for tid in (*TERMINALS, UNLISTED):
        args += ["--terminal", tid]
    return make_certs(out, *args)


@pytest.fixture(scope="session")
def rogue_certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    """Another CA, with a certificate for pos-a that the broker must not accept."""
    return make_certs(tmp_path_factory.mktemp("rogue") / "pki", "--terminal", "pos-a")


def rewrite_config(text: str, values: dict[str, str]) -> str:
    """The config with the value of each key in values replaced; every key must occur once.

    A key of the example renamed or removed makes this fail instead of leaving the test
    broker with a setting the example no longer has.
    """
    out, seen = [], set()
    for line in text.splitlines():
        m = re.match(r"(\w+)\s", line)
        key = m.group(1) if m else ""
        if key not in values:
            out.append(line)
            continue
        if key in seen:
            raise AssertionError(f"posterm.conf: {key} occurs twice")
        seen.add(key)
        out.append(f"{key} {values[key]}")
    missing = set(values) - seen
    if missing:
        raise AssertionError(f"posterm.conf has no {', '.join(sorted(missing))} any more")
    return "\n".join(out) + "\n"


@dataclass
class Broker:
    """A running Mosquitto and a way to make clients for it."""

    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    certs: Certs
    peers: list[Peer] = field(default_factory=list)

    def peer(
        self,
        cn: str,
        *,
        client_id: str | None = None,
        certs: Certs | None = None,
        with_cert: bool = True,
        username: str | None = None,
    ) -> Peer:
        """A client presenting the certificate of cn (not connected yet)."""
        c = certs or self.certs
        p = Peer(
            self.port,
            client_id=client_id or cn,
            ca=self.certs.ca,
            cert=c.cert(cn) if with_cert else None,
            key=c.key(cn) if with_cert else None,
            username=username,
        )
        self.peers.append(p)
        return p

    def connect(self, cn: str, **kwargs: str) -> Peer:
        return self.peer(cn, **kwargs).connect()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def _tls_ready(port: int, certs: Certs) -> bool:
    ctx = ssl.create_default_context(cafile=certs.ca)
    ctx.load_cert_chain(certs.cert(HOST_CN), certs.key(HOST_CN))
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=1) as raw,
            ctx.wrap_socket(raw, server_hostname="localhost"),
        ):
            return True
    except OSError:  # refused while Mosquitto starts (ssl.SSLError is an OSError too)
        return False


def start_broker(tmp: Path, certs: Certs) -> Broker:
    binary = mosquitto_binary()
    data = tmp / "mosquitto"
    data.mkdir()
    rules = make_dynsec(data / "posterm-dynsec.json", HOST_CN, TERMINALS)
    plugin = dynsec_plugin()
    log = data / "mosquitto.log"
    last = ""
    for _attempt in range(3):  # another process may take the free port before Mosquitto
        port = free_port()
        conf = rewrite_config(
            (EXAMPLE / "posterm.conf").read_text(),
            {
                "listener": f"{port} 127.0.0.1",
                "cafile": str(certs.ca),
                "certfile": str(certs.cert("server")),
                "keyfile": str(certs.key("server")),
                "plugin": plugin,
                "plugin_opt_config_file": str(rules),
                "persistence_location": f"{data}/",
                "log_dest": f"file {log}",
            },
        )
        # as root Mosquitto would switch to the mosquitto user, who cannot read tmp_path
        conf += f"user {getpass.getuser()}\n"
        (data / "posterm.conf").write_text(conf)
        proc = subprocess.Popen(
            [binary, "-c", str(data / "posterm.conf")],
            cwd=data,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            if _tls_ready(port, certs):
                return Broker(port, proc, log, certs)
            time.sleep(0.02)  # poll interval, not a wait for readiness
        else:
            proc.kill()
        proc.wait()
        assert proc.stderr is not None
        last = proc.stderr.read().decode(errors="replace") + (
            log.read_text(errors="replace") if log.exists() else ""
        )
        if "Address already in use" not in last:
            break
    pytest.fail(f"mosquitto did not start on {data / 'posterm.conf'}:\n{last}", pytrace=False)


@pytest.fixture
def broker(tmp_path: Path, certs: Certs) -> Iterator[Broker]:
    """A fresh Mosquitto with posterm.conf and make-dynsec.py's rules for the host and
    TERMINALS, accepting TLS connections."""
    b = start_broker(tmp_path, certs)
    try:
        yield b
    finally:
        for p in b.peers:
            p.close()
        b.proc.terminate()
        try:
            b.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            b.proc.kill()
            b.proc.wait()

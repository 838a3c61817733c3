"""The demo's fleet dashboard: `posterm-host run --http` as a process of its own on the
demo's broker, with its key (the demo terminal trusts it) and one operator, `demo`. The
simulators import no host code: the password is hashed by `posterm-host hash-password`."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from posterm.hwsim.procs import stop as stop_process

BIN = Path(sys.executable).parent
USER, PASSWORD = "demo", "demo"
PREFERRED_PORT = 8080


@dataclass(frozen=True)
class Dashboard:
    url: str
    public_key: Path  # the demo terminal's [mqtt] host_public_key


def host(*args: str, config: Path, stdin: str = "") -> str:
    done = subprocess.run([str(BIN / "posterm-host"), "--config", str(config), *args],
                          input=stdin, capture_output=True, text=True, timeout=60,
                          check=False)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"posterm-host {args[0]}: {done.stderr.strip()}")
    return done.stdout.strip()


def port() -> int:
    """8080 when it is free, else any free port on 127.0.0.1."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", PREFERRED_PORT))
        except OSError:
            s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(stack: ExitStack, out: Path, broker_url: str) -> Dashboard:
    """Started before postermd, so it stores every event; `stack` stops it."""
    config = out / "host.toml"
    key = out / "host-key" / "host.pem"
    base = (f'[host]\nid = "demo-hq"\nreply_timeout_s = 15\n[mqtt]\nurl = "{broker_url}"\n'
            f'username = "demo-hq"\n[store]\nurl = "sqlite://{out / "host.db"}"\n'
            f'[keys]\nprivate_key = "{key}"\n[web]\ncookie_secure = false\n')  # fmt: skip
    config.write_text(base)
    host("keygen", config=config)
    digest = host("hash-password", config=config, stdin=PASSWORD + "\n")
    config.write_text(base + f'[[web.users]]\nname = "{USER}"\npassword_hash = "{digest}"\n'
                      'role = "operator"\n')  # fmt: skip
    listen = port()
    address = f"127.0.0.1:{listen}"
    log = (out / "posterm-host.log").open("w")
    proc = subprocess.Popen([str(BIN / "posterm-host"), "--config", str(config), "run",
                             "--http", address], stdout=log, stderr=log)  # fmt: skip
    stack.callback(stop_process, proc, 15)
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"posterm-host exited: see {out / 'posterm-host.log'}")
        try:
            socket.create_connection(("127.0.0.1", listen), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("posterm-host --http did not listen") from None
            time.sleep(0.05)
    print(f"  posterm-host run --http {address} (pid {proc.pid}): ingests the demo's events")
    return Dashboard(f"http://{address}/", key.with_suffix(".pub"))

"""Start the simulators as real processes for tests, and read what they report."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from posterm.hwsim import control, procs

BIN = Path(sys.executable).parent


def stop(proc: subprocess.Popen[str]) -> None:
    """SIGTERM, and SIGKILL if it does not end within 10 s."""
    procs.stop(proc)


@dataclass
class PtSim:
    proc: subprocess.Popen[str]
    ledger: Path
    tcp_url: str | None = None
    serial_url: str | None = None
    control: tuple[str, int] | None = None
    log: Path = field(default_factory=Path)

    def ctl(self, **request: Any) -> dict[str, Any]:
        assert self.control is not None
        reply = control.request(self.control, request)
        assert reply["ok"], reply
        return reply

    def fault(self, name: str, on: bool = True) -> None:
        self.ctl(fault=name, on=on)

    def entries(self) -> list[dict[str, Any]]:
        return list(self.ctl(ledger=True)["ledger"]["entries"])

    def stop(self) -> None:
        stop(self.proc)


def start_pt(tmp: Path, *extra: str, pty: bool = True, tcp: bool = True) -> PtSim:
    ledger = tmp / "ledger.db"
    log = tmp / "pt-sim.log"
    args = [str(BIN / "posterm-sim"), "pt", "--ledger", str(ledger)]
    args += ["--control", "tcp://127.0.0.1:0"]
    if tcp:
        args += ["--listen", "tcp://127.0.0.1:0"]
    if pty:
        args += ["--pty", str(tmp / "pt.tty")]
    args += list(extra)
    stderr = log.open("w")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=stderr, text=True)
    sim = PtSim(proc, ledger, log=log)
    deadline = time.monotonic() + 30
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"pt simulator exited: {log.read_text()}")
        if m := re.match(r"pt listening on (tcp://\S+)", line):
            sim.tcp_url = m.group(1)
        elif m := re.match(r"pt control on tcp://([\d.]+):(\d+)", line):
            sim.control = (m.group(1), int(m.group(2)))
        elif line.startswith("pt pty"):
            sim.serial_url = f"serial://{tmp / 'pt.tty'}?baud=9600"
        elif line.strip() == "pt ready":
            return sim
    proc.kill()
    raise RuntimeError("pt simulator did not get ready")


def env_without_notify() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("NOTIFY_SOCKET", None)
    return env


@dataclass
class PrinterSim:
    proc: subprocess.Popen[str]
    out: Path
    url: str = ""
    control: str = ""

    def ctl(self, action: str) -> dict[str, Any]:
        reply = control.request(control.hostport(self.control), {"action": action})
        assert reply["ok"], reply
        return reply

    def printed(self) -> list[str]:
        """The text of every receipt cut (or cut short) so far, in order."""
        index = self.out / "index.jsonl"
        if not index.exists():
            return []
        entries = [json.loads(line) for line in index.read_text().splitlines()]
        return [(self.out / e["txt"]).read_text(encoding="utf-8") for e in entries]

    def stop(self) -> None:
        stop(self.proc)


def start_printer(tmp: Path, *extra: str) -> PrinterSim:
    out = tmp / "printed"
    log = (tmp / "printer-sim.log").open("w")
    args = [
        str(BIN / "posterm-sim"),
        "printer",
        "--listen",
        "tcp://127.0.0.1:0",
        "--control",
        "tcp://127.0.0.1:0",
        "--out",
        str(out),
        *extra,
    ]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, text=True)
    sim = PrinterSim(proc, out)
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("printer simulator exited")
        if m := re.match(r"printer listening on (tcp://\S+)", line):
            sim.url = m.group(1)
        elif m := re.match(r"printer control on (tcp://\S+)", line):
            sim.control = m.group(1)
        elif line.strip() == "printer ready":
            return sim
    proc.kill()
    raise RuntimeError("printer simulator did not get ready")

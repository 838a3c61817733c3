"""The whole terminal on simulated hardware, as real processes: the PT simulator, the
printer simulator and `postermd`, driven through the real `posterm` CLI; and the same
reporting to a broker and trusting a back office's key (`trusting_rig`)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from posterm.daemon.control.client import ControlClient, ControlError
from tests.support.broker import Broker
from tests.support.sim import BIN, PrinterSim, PtSim, start_printer, start_pt

CONFIG = """
[terminal]
id = "pos-test"
currency = "EUR"
merchant_name = "Test Shop"
merchant_address = ["1 Test Street"]
receipt_footer = ["Thank you"]

[journal]
path = "{journal}"

[payment]
url = "{pt_url}"
timeout_s = 20

[printer]
url = "{printer_url}"
columns = 42
encoding = "cp858"
timeout_s = 2
boot_slip = {boot_slip}

[system]
update_lock = "{update_lock}"
stop_timeout_s = {stop_timeout_s}

[control]
socket = "{socket}"

[refunds]
approval_limit = "50.00"
max_amount = "1000.00"
unreferenced = {unreferenced}

[sales]
max_amount = "500.00"
{extra}"""


@dataclass
class Rig:
    tmp: Path
    pt: PtSim
    printer: PrinterSim
    config: Path
    socket: Path
    journal: Path
    update_lock: Path
    daemon: subprocess.Popen[str] | None = None
    crash_at: str = ""
    logs: list[Path] = field(default_factory=list)

    # -- daemon ----------------------------------------------------------------------------
    def start(
        self, crash_at: str = "", wait: bool = True, env: dict[str, str] | None = None
    ) -> None:
        """Start postermd (crashing at the named steps); `env` adds to its environment
        (systemd's NOTIFY_SOCKET and WATCHDOG_USEC, say), which otherwise has neither."""
        extra = env or {}
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")
        }
        env["POSTERM_CRASH_AT"] = crash_at
        env.setdefault("POSTERM_TERM_AT", "")
        env.update(extra)
        log = self.tmp / f"postermd-{len(self.logs)}.log"
        self.logs.append(log)
        self.daemon = subprocess.Popen(
            [str(BIN / "postermd"), "--config", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=log.open("w"),
            env=env,
            text=True,
        )
        if wait:
            self.wait_up()

    def wait_up(self, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.daemon is not None and self.daemon.poll() is not None:
                raise RuntimeError(f"postermd exited: {self.logs[-1].read_text()}")
            if self.socket.exists():
                code, status = self.status()
                if code == 0:
                    return status
            time.sleep(0.05)
        raise RuntimeError(f"postermd did not come up: {self.logs[-1].read_text()}")

    def wait_state(self, state: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            code, status = self.status()
            if code == 0 and status["state"] == state:
                return status
            time.sleep(0.1)
        raise AssertionError(f"state never became {state}: {status}")

    def wait_status(self, check: Any, what: str, timeout: float = 60) -> dict[str, Any]:
        """Poll `status` until `check(status)` holds."""
        deadline = time.monotonic() + timeout
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            code, status = self.status()
            if code == 0 and check(status):
                return status
            time.sleep(0.1)
        raise AssertionError(f"never {what}: {status}")

    def wait_operator(self, timeout: float = 60) -> dict[str, Any]:
        """Until recovery has asked the PT and left the decision to the operator."""
        return self.wait_status(
            lambda s: s["state"] == "in_doubt" and s["awaiting_operator"],
            "in doubt awaiting the operator",
            timeout,
        )

    def wait_exit(self, timeout: float = 60) -> int:
        assert self.daemon is not None
        return self.daemon.wait(timeout)

    def kill(self) -> None:
        if self.daemon is not None and self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGKILL)
            self.daemon.wait(10)

    def stop(self) -> None:
        if self.daemon is not None and self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGTERM)
            try:
                self.daemon.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def close(self) -> None:
        self.stop()
        self.pt.stop()
        self.printer.stop()

    # -- the operator's CLI -------------------------------------------------------------------
    def cli(self, *args: str) -> tuple[int, Any]:
        proc = subprocess.run(
            [
                str(BIN / "posterm"),
                "--socket",
                str(self.socket),
                "--timeout",
                "90",
                *args,
                "--json",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        out = proc.stdout.strip()
        return proc.returncode, json.loads(out) if out else {"stderr": proc.stderr}

    def status(self) -> tuple[int, Any]:
        """`posterm status --json`'s code and output, asked over the control socket from this
        process: the waits poll with it (a CLI process per poll costs ~0.5 s of start-up;
        the tests that are about the CLI call `cli`)."""
        try:
            reply = ControlClient(self.socket, timeout=30).request({"cmd": "status"})
        except ControlError as exc:
            return 3, {"ok": False, "code": "no_daemon", "error": str(exc)}
        return (0, reply["result"]) if reply.get("ok") else (1, reply)

    def request(self, **request: Any) -> dict[str, Any]:
        """One control-socket request, without a CLI process (for many operations)."""
        return ControlClient(self.socket, timeout=90).request(request)

    # -- ground truth ---------------------------------------------------------------------------
    def ledger(self) -> list[dict[str, Any]]:
        db = sqlite3.connect(self.pt.ledger)
        db.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in db.execute("SELECT * FROM entries ORDER BY id")]
        finally:
            db.close()

    def txns(self) -> list[dict[str, Any]]:
        db = sqlite3.connect(self.journal)
        db.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in db.execute("SELECT * FROM txns ORDER BY created_at, rowid")]
        finally:
            db.close()

    def events(self) -> list[dict[str, Any]]:
        db = sqlite3.connect(self.journal)
        try:
            return [
                json.loads(r[0]) for r in db.execute("SELECT envelope FROM outbox ORDER BY seq")
            ]
        finally:
            db.close()


def make_rig(
    tmp: Path,
    *,
    link: str = "serial",
    printer_args: tuple[str, ...] = (),
    pt_args: tuple[str, ...] = (),
    unreferenced: bool = False,
    extra_config: str = "",
    boot_slip: bool = False,
    stop_timeout_s: float = 60,
    png: bool = False,
) -> Rig:
    """A PT and a printer simulator and a postermd configured for them (not started). The
    printer draws no PNG unless `png` (a test that reads the paper's image asks for it):
    drawing was most of the simulator's time per receipt, in every test that prints."""
    pt = start_pt(tmp, "--ack-timeout", "3", *pt_args)
    printer = start_printer(tmp, *printer_args, *(() if png else ("--no-png",)))
    pt_url = pt.serial_url if link == "serial" else pt.tcp_url
    socket_path = tmp / "control.sock"
    journal = tmp / "journal.db"
    config = tmp / "posterm.toml"
    config.write_text(
        CONFIG.format(
            journal=journal,
            pt_url=pt_url,
            printer_url=printer.url,
            socket=socket_path,
            unreferenced=str(unreferenced).lower(),
            extra=extra_config,
            boot_slip=str(boot_slip).lower(),
            update_lock=tmp / "update.lock",
            stop_timeout_s=stop_timeout_s,
        )
    )
    return Rig(tmp, pt, printer, config, socket_path, journal, tmp / "update.lock")


def mqtt_section(broker: Broker, host_public_key: Path, telemetry_s: int = 1) -> str:
    """postermd's [mqtt]: report to `broker`, run only commands signed by the host whose
    public key is `host_public_key`."""
    return (
        f'\n[mqtt]\nurl = "{broker.url}"\ntelemetry_s = {telemetry_s}\nkeepalive_s = 5\n'
        f'host_public_key = "{host_public_key}"\n'
    )


@contextmanager
def trusting_rig(tmp: Path, broker: Broker, host_public_key: Path) -> Iterator[Rig]:
    """A started rig (the PT over TCP) whose postermd reports to `broker` and trusts the
    back office's `host_public_key`; closed on the way out."""
    rig = make_rig(tmp, link="tcp", extra_config=mqtt_section(broker, host_public_key))
    rig.start()
    try:
        yield rig
    finally:
        rig.close()

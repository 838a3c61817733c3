"""One postermd selling against the simulators, measured: start to answering, idle RSS,
CPU time (user+sys from /proc) per sale. The same run for the native build (bench) and for
the arm64 one in an emulated root (pi_smoke.py): only the command lines differ."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from posterm.daemon.control.client import ControlClient, ControlError
from tests.support.rig import CONFIG
from tests.support.sim import PrinterSim, PtSim

TICKS = os.sysconf("SC_CLK_TCK")
AMOUNT = "12.50"
SETTLE_S = 3.0  # after READY: the first status polls of the PT and the printer are done


class SaleRunError(Exception):
    """postermd did not start, answer or sell as it should; says what it saw."""


@dataclass(frozen=True)
class Postermd:
    """How to start postermd and reach it: `argv` starts it; `socket` is its control socket
    as this process sees it; `cli` is the `posterm` CLI up to its subcommand."""

    argv: list[str]
    socket: Path
    cli: list[str]
    log: Path


def write_config(path: Path, seen_at: Path, pt: PtSim, printer: PrinterSim) -> None:
    """A terminal config in `path` whose journal, socket and lock are under `seen_at` (the
    same directory as postermd sees it), its PT and printer the simulators over TCP."""
    assert pt.tcp_url is not None
    path.write_text(
        CONFIG.format(
            journal=seen_at / "journal.db",
            pt_url=pt.tcp_url,
            printer_url=printer.url,
            socket=seen_at / "control.sock",
            unreferenced="false",
            extra="",
            boot_slip="false",
            update_lock=seen_at / "update.lock",
            stop_timeout_s=60,
        )
    )


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14 and 15)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise SaleRunError(f"no VmRSS for {pid}")


def emulator_mb(pid: int) -> float:
    """What qemu-user itself holds of a process's RSS (0 for a process not emulated)."""
    exe = os.readlink(f"/proc/{pid}/exe")
    if not Path(exe).name.startswith("qemu-"):
        return 0.0
    return emulator_kb(Path(f"/proc/{pid}/smaps").read_text(), exe) / 1024


def emulator_kb(smaps: str, exe: str) -> int:
    """The RSS (kB) of an emulated process's mappings that are qemu's, from its
    /proc/PID/smaps: its own binary `exe`, its heap (the guest's brk is emulated in mmap'ed
    memory) and its translated code (the only anonymous mappings executable on the host:
    qemu maps guest code without PROT_EXEC)."""
    kb, counted = 0, False
    for line in smaps.splitlines():
        head = line.split()
        if head and "-" in head[0] and not head[0].endswith(":"):  # range perms ... [path]
            path = head[5] if len(head) > 5 else ""
            counted = path in (exe, "[heap]") or (path == "" and "x" in head[1])
        elif counted and head and head[0] == "Rss:":
            kb += int(head[1])
    return kb


def _cli(postermd: Postermd, *args: str) -> tuple[int, Any]:
    proc = subprocess.run(
        [*postermd.cli, "--timeout", "120", *args, "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out = proc.stdout.strip()
    try:
        return proc.returncode, json.loads(out) if out else {"stderr": proc.stderr}
    except json.JSONDecodeError:
        return proc.returncode, {"stdout": out, "stderr": proc.stderr}


def _status(socket: Path) -> dict[str, Any] | None:
    try:
        reply = ControlClient(socket, timeout=30).request({"cmd": "status"})
    except ControlError:
        return None
    return reply.get("result") if reply.get("ok") else None


def _wait_ready(daemon: subprocess.Popen[bytes], postermd: Postermd, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    status: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            raise SaleRunError(f"postermd exited {daemon.returncode}: {_tail(postermd.log)}")
        if postermd.socket.exists():
            status = _status(postermd.socket)
            if status is not None and status["state"] == "ready":
                return
        time.sleep(0.1)
    raise SaleRunError(f"postermd not ready in {timeout:.0f} s ({status}): {_tail(postermd.log)}")


def _tail(log: Path) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-20:]) if log.exists() else ""


def _wait_printed(printer: PrinterSim, count: int, timeout: float) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        printed = printer.printed()
        if len(printed) >= count:
            return printed
        time.sleep(0.1)
    raise SaleRunError(f"{len(printer.printed())} receipts printed of {count}")


def sell(
    postermd: Postermd, printer: PrinterSim, sales: int, timeout: float = 300
) -> dict[str, Any]:
    """Start postermd, wait until it is ready and has settled, ask `posterm status`, sell
    12.50 with the `posterm` CLI, then `sales` more on the control socket (the CPU figure),
    wait for every receipt, stop it; return what it answered and the figures."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTIFY_", "WATCHDOG_"))}
    started = time.monotonic()
    # a SIGTERM inside Popen can leave a postermd nobody waits for: pi_root stops it
    with postermd.log.open("wb") as log:
        daemon = subprocess.Popen(postermd.argv, stdout=log, stderr=log, env=env)
    try:
        _wait_ready(daemon, postermd, timeout)
        ready_s = time.monotonic() - started
        time.sleep(SETTLE_S)
        idle_rss, emulator = rss_mb(daemon.pid), emulator_mb(daemon.pid)
        status_code, status = _cli(postermd, "status")
        if status_code != 0:
            raise SaleRunError(f"posterm status exited {status_code}: {status}")
        sale_code, sale = _cli(postermd, "sale", AMOUNT)
        if sale_code != 0:
            raise SaleRunError(f"posterm sale exited {sale_code}: {sale}")
        # measured: back-to-back sales on the socket (no CLI start-up in the window)
        client = ControlClient(postermd.socket, timeout=120)
        ticks0 = cpu_ticks(daemon.pid)
        for _ in range(sales):
            reply = client.request({"cmd": "sale", "amount": AMOUNT})
            if not reply.get("ok"):
                raise SaleRunError(f"sale refused: {reply}")
        ticks1 = cpu_ticks(daemon.pid)
        printed = _wait_printed(printer, sales + 1, timeout)
        rss_after = rss_mb(daemon.pid)
        exe = os.readlink(f"/proc/{daemon.pid}/exe")
    finally:
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
        try:
            code = daemon.wait(120)
        except subprocess.TimeoutExpired:
            daemon.kill()
            code = daemon.wait()
    return {
        "exe": exe,  # qemu's emulator under emulation: binfmt_misc runs the arm64 ELF with it
        "status": status,
        "sale": sale,
        "sales": sales + 1,
        "printed": len(printed),
        "exit_code": code,
        "ready_s": round(ready_s, 2),
        "idle_rss_mb": round(idle_rss, 1),
        "idle_emulator_mb": round(emulator, 1),  # qemu's part of it (0 when native)
        "idle_guest_rss_mb": round(idle_rss - emulator, 1),  # the program's own, as on a Pi
        "rss_after_sales_mb": round(rss_after, 1),
        "cpu_ms_per_sale": round((ticks1 - ticks0) * 1000 / TICKS / sales, 1),
    }

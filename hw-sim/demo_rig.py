"""The demo's rig: the simulators, the MQTT broker, `posterm-host` and `postermd` started as
processes, and the calls the tour makes to them.

The ZVT PT simulator (pty), the ESC/POS printer simulator (TCP), an MQTT broker (amqtt,
embedded in a process of its own, or the one in POSTERM_DEMO_MQTT=mqtt://HOST:PORT), the
back office `posterm-host run` (SQLite store in demo-out/, its own Ed25519 key;
demo_host.py) and `postermd` trusting that key, with its GPIO panel on simulated pins that
`posterm-sim panel press NAME` presses from another process.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from posterm.hwsim import control, demo_host, panel_pins
from posterm.hwsim.demo_host import poll
from posterm.hwsim.procs import stop as stop_process

BIN = Path(sys.executable).parent
OUT = Path("demo-out").resolve()
TID = "demo-0001"
CONFIG = """[terminal]
id = "{tid}"
currency = "EUR"
merchant_name = "Café Demo"
merchant_address = ["Hauptstraße 1", "10115 Berlin"]
receipt_footer = ["Thank you!"]
[journal]
path = "{out}/journal.db"
[payment]
url = "serial://{out}/pt.tty?baud=9600"
[printer]
url = "{printer}"
columns = 42
encoding = "cp858"
timeout_s = 2
boot_slip = false
[system]
update_lock = "{out}/update.lock"
[control]
socket = "{out}/control.sock"
[refunds]
approval_limit = "50.00"
[panel]
enabled = true
[mqtt]
url = "{mqtt}"
telemetry_s = 1
username = "{tid}"
host_public_key = "{host_key}"
"""


STARTED = time.monotonic()


def step(title: str) -> None:
    at = f" +{time.monotonic() - STARTED:.1f} s "
    print(f"\n=== {title} " + "=" * max(0, 72 - len(title) - len(at)) + at, flush=True)


def say(text: str) -> None:
    print(f"  # {text}", flush=True)


def start(name: str, *args: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """Start a simulator; return it and what it announced (listen/control addresses)."""
    log = (OUT / f"{name}.log").open("w")
    proc = subprocess.Popen(
        [str(BIN / "posterm-sim"), *args],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        start_new_session=True,
    )
    seen: dict[str, str] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        if m := re.match(r"\w+ (listening|control) on (tcp://\S+)", line):
            seen[m.group(1)] = m.group(2)
        if line.strip().endswith("ready"):
            break
    return proc, seen


def sim(address: str, message: dict[str, Any], *args: str) -> None:
    """A simulator's control channel at run time (a fault, the refill, a button): sends
    `message` as `posterm-sim ARGS` would, and shows that command."""
    print("$ posterm-sim " + shlex.join(args), flush=True)
    reply = control.request(control.hostport(address), message)
    must(reply.get("ok", True) is not False, f"posterm-sim {shlex.join(args)}: {reply}")


def printer_ctl(rig: Rig, action: str) -> None:
    address = rig.printer["control"]
    sim(address, {"action": action}, "ctl", "--control", address, action)


def pt_ctl(rig: Rig, fault: str) -> None:
    name, _, value = fault.partition("=")
    sim(
        rig.pt_control,
        {"fault": name, "on": value != "off"},
        "pt-ctl",
        "--control",
        rig.pt_control,
        fault,
    )


def press(rig: Rig, button: str) -> None:
    sim(
        rig.panel,
        {"action": "press", "button": button},
        "panel",
        "--control",
        rig.panel,
        "press",
        button,
    )


def posterm(*args: str, show: bool = True) -> tuple[int, Any]:
    cmd = [str(BIN / "posterm"), "--socket", str(OUT / "control.sock"), *args, "--json"]
    if show:
        print("$ posterm " + shlex.join(args), flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    data = json.loads(proc.stdout) if proc.stdout.strip() else {"stderr": proc.stderr}
    if show:
        if isinstance(data, dict) and data.get("ok") is False:
            print(f"  -> refused [{data['code']}]: {data['error']}")
        elif isinstance(data, dict) and "txn_id" in data:
            print(
                f"  -> {data['txn_id']} {data['kind']} {data['state']} {data['amount']} "
                f"{data['currency']} receipt {data['receipt_state']}"
            )
        elif isinstance(data, dict) and "selling" in data:
            link = data.get("host", {}).get("state")
            print(
                f"  -> {data['state']}: {data.get('reason')}  (printer: {data.get('printer')}"
                f", pending receipts {data.get('pending_receipts')}, in doubt "
                f"{data.get('in_doubt')}, host link {link})"
            )
        else:
            print("  -> " + json.dumps(data))
    return proc.returncode, data


def ask(request: dict[str, Any]) -> Any:
    """One request to postermd's control socket (JSON lines, as `posterm` sends it), for the
    tour's waits: no process started per poll. None when it does not answer."""
    try:
        with socket.socket(socket.AF_UNIX) as conn:
            conn.settimeout(30)
            conn.connect(str(OUT / "control.sock"))
            conn.sendall((json.dumps(request) + "\n").encode())
            with conn.makefile("rb") as reader:
                reply = json.loads(reader.readline())
    except (OSError, ValueError):
        return None
    return reply.get("result") if isinstance(reply, dict) and reply.get("ok") else None


def status() -> dict[str, Any]:
    data = ask({"cmd": "status"})
    return data if isinstance(data, dict) else {}


def printed() -> list[dict[str, Any]]:
    index = OUT / "printed" / "index.jsonl"
    return [json.loads(line) for line in index.read_text().splitlines()] if index.exists() else []


def recovered_receipt(txn_id: str) -> str | None:
    """The printed receipt of `txn_id` marked RECOVERED (its QR code names the transaction)."""
    for entry in printed():
        text = (OUT / "printed" / entry["txt"]).read_text()
        if f"[QR: {txn_id}]" in text and "RECOVERED" in text:
            return str(entry["png"])
    return None


def txn(txn_id: str) -> dict[str, Any]:
    """A transaction as the journal has it (`posterm journal`)."""
    rows = ask({"cmd": "journal", "limit": 50}) or []
    return next((t for t in rows if t.get("txn_id") == txn_id), {})


def must(ok: bool, what: str) -> None:
    """A claim of the tour that did not hold stops it, with what and where to look."""
    if not ok:
        raise TourFailed(f"{what} (logs in {OUT})")


class TourFailed(Exception):
    pass


class Rig:
    def __init__(
        self, host: demo_host.Host, pt_control: str, printer: dict[str, str], panel: str
    ) -> None:
        self.host = host
        self.pt_control = pt_control
        self.printer = printer
        self.panel = panel


def panel_address() -> str:
    """$POSTERM_SIM_PANEL if set, else `posterm-sim panel`'s default address when it is
    free (so `posterm-sim panel press supervisor` needs no --control), else port 0: the
    panel binds a port the kernel picks and postermd's log says which."""
    if os.environ.get(panel_pins.ENV_ADDR):
        return os.environ[panel_pins.ENV_ADDR]
    host, port = control.hostport(panel_pins.DEFAULT_ADDR)
    try:
        with socket.socket() as s:
            s.bind((host, port))
    except OSError:
        return "tcp://127.0.0.1:0"
    return panel_pins.DEFAULT_ADDR


def start_rig(stack: ExitStack) -> Rig:
    step("The rig: PT and printer simulators, MQTT broker, posterm-host, postermd")
    pt, pt_addr = start(
        "pt-sim",
        "pt",
        "--pty",
        str(OUT / "pt.tty"),
        "--ledger",
        str(OUT / "pt-ledger.db"),
        "--control",
        "tcp://127.0.0.1:0",
    )
    stack.callback(stop_process, pt, 15)
    printer, addr = start(
        "printer-sim",
        "printer",
        "--listen",
        "tcp://127.0.0.1:0",
        "--control",
        "tcp://127.0.0.1:0",
        "--out",
        str(OUT / "printed"),
    )
    stack.callback(stop_process, printer, 15)
    print(f"  PT simulator on {OUT / 'pt.tty'} (serial ZVT), control {pt_addr['control']}")
    print(f"  printer simulator on {addr['listening']}, control {addr['control']}")
    host = demo_host.start(stack, OUT)
    (OUT / "posterm.toml").write_text(
        CONFIG.format(
            out=OUT,
            printer=addr["listening"],
            tid=TID,
            mqtt=host.broker.url,
            host_key=host.public_key,
        )
    )
    env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
    env.update(panel_pins.environment(panel_address()))
    daemon = subprocess.Popen(
        [str(BIN / "postermd"), "--config", str(OUT / "posterm.toml")],
        stderr=(OUT / "postermd.log").open("w"),
        env=env,
        start_new_session=True,
    )
    stack.callback(stop_process, daemon, 15)
    panel = demo_host.announced(
        OUT / "postermd.log",
        0,
        r"simulated panel pins: control on (tcp://\S+)",
        lambda: daemon.poll() is None,
        30,
    )
    must(panel is not None, "postermd's simulated panel never said where it listens")
    assert panel is not None
    print(
        f"  postermd, pid {daemon.pid}, trusts {host.public_key}; its GPIO panel on "
        f"simulated pins, pressed through {panel}"
    )
    must(
        poll(lambda: daemon.poll() is None and status().get("state") == "ready", 30, 0.2),
        "postermd did not become ready",
    )
    must(poll(lambda: host.online(TID), 30), "the back office never saw the terminal online")
    posterm("status")
    return Rig(host, pt_addr["control"], addr, panel)

"""`make demo`: the whole terminal and its back office on simulated hardware, as real
processes, then a guided tour.

The rig: the ZVT PT simulator (pty), the ESC/POS printer simulator (TCP), an MQTT broker
(amqtt, embedded in a process of its own, or the one in POSTERM_DEMO_MQTT=mqtt://HOST:PORT),
the back office `posterm-host run` (SQLite store in demo-out/, its own Ed25519 key) and
`postermd` trusting that key, with its GPIO panel on simulated pins that
`posterm-sim panel press NAME` presses from another process.

The tour, driven through the real `posterm` and `posterm-host` CLIs: a sale; paper out in
the middle of a receipt, the refill and the RECOVERED receipt; the PT link dropping after
the debit and its recovery; a partial refund above the approval limit approved from the
back office; a void; a likely double charge and its alert; end of day; then the back
office's fleet table, the lookup of a recovered receipt, the day's reconciliation, and
where the receipts' PNGs are. `--interactive` then leaves the rig running until Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
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
    proc = subprocess.Popen([str(BIN / "posterm-sim"), *args], stdout=subprocess.PIPE,
                            stderr=log, text=True, start_new_session=True)  # fmt: skip
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
    sim(rig.pt_control, {"fault": name, "on": value != "off"},
        "pt-ctl", "--control", rig.pt_control, fault)  # fmt: skip


def press(rig: Rig, button: str) -> None:
    sim(rig.panel, {"action": "press", "button": button},
        "panel", "--control", rig.panel, "press", button)  # fmt: skip


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
            print(f"  -> {data['txn_id']} {data['kind']} {data['state']} {data['amount']} "
                  f"{data['currency']} receipt {data['receipt_state']}")  # fmt: skip
        elif isinstance(data, dict) and "selling" in data:
            link = data.get("host", {}).get("state")
            print(f"  -> {data['state']}: {data.get('reason')}  (printer: {data.get('printer')}"
                  f", pending receipts {data.get('pending_receipts')}, in doubt "
                  f"{data.get('in_doubt')}, host link {link})")  # fmt: skip
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__.splitlines()[0])
    parser.add_argument("--interactive", action="store_true",
                        help="after the tour, leave the rig running until Ctrl-C")  # fmt: skip
    args = parser.parse_args(argv)
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir()
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))  # unwinds too
    # Ctrl-C: KeyboardInterrupt, also when started with SIGINT ignored (a background job)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with ExitStack() as stack:  # stops what it started, the last first, also on an error
        try:
            rig = start_rig(stack)
            tour(rig)
        except TourFailed as exc:
            print(f"\nTHE TOUR FAILED: {exc}", flush=True)
            return 1
        if args.interactive:
            interactive(rig)
    print("\nEverything the demo started has stopped.")
    return 0


class Rig:
    def __init__(self, host: demo_host.Host, pt_control: str, printer: dict[str, str],
                 panel: str) -> None:  # fmt: skip
        self.host = host
        self.pt_control = pt_control
        self.printer = printer
        self.panel = panel


def panel_address() -> str:
    """$POSTERM_SIM_PANEL if set, else `posterm-sim panel`'s default address when it is
    free (so `posterm-sim panel press supervisor` needs no --control), else a free port."""
    if os.environ.get(panel_pins.ENV_ADDR):
        return os.environ[panel_pins.ENV_ADDR]
    host, port = control.hostport(panel_pins.DEFAULT_ADDR)
    try:
        with socket.socket() as s:
            s.bind((host, port))
    except OSError:
        return f"tcp://127.0.0.1:{demo_host.free_port()}"
    return panel_pins.DEFAULT_ADDR


def start_rig(stack: ExitStack) -> Rig:
    step("The rig: PT and printer simulators, MQTT broker, posterm-host, postermd")
    pt, pt_addr = start(
        "pt-sim", "pt", "--pty", str(OUT / "pt.tty"), "--ledger", str(OUT / "pt-ledger.db"),
        "--control", "tcp://127.0.0.1:0",
    )  # fmt: skip
    stack.callback(stop_process, pt, 15)
    printer, addr = start(
        "printer-sim", "printer", "--listen", "tcp://127.0.0.1:0",
        "--control", "tcp://127.0.0.1:0", "--out", str(OUT / "printed"),
    )  # fmt: skip
    stack.callback(stop_process, printer, 15)
    print(f"  PT simulator on {OUT / 'pt.tty'} (serial ZVT), control {pt_addr['control']}")
    print(f"  printer simulator on {addr['listening']}, control {addr['control']}")
    host = demo_host.start(stack, OUT)
    (OUT / "posterm.toml").write_text(CONFIG.format(
        out=OUT, printer=addr["listening"], tid=TID, mqtt=host.broker.url,
        host_key=host.public_key))  # fmt: skip
    panel = panel_address()
    env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
    env.update(panel_pins.environment(panel))
    daemon = subprocess.Popen(
        [str(BIN / "postermd"), "--config", str(OUT / "posterm.toml")],
        stderr=(OUT / "postermd.log").open("w"), env=env, start_new_session=True,
    )
    stack.callback(stop_process, daemon, 15)
    print(f"  postermd, pid {daemon.pid}, trusts {host.public_key}; its GPIO panel on "
          f"simulated pins, pressed through {panel}")  # fmt: skip
    must(poll(lambda: daemon.poll() is None and status().get("state") == "ready", 30, 0.2),
         "postermd did not become ready")  # fmt: skip
    must(poll(lambda: host.online(TID), 30), "the back office never saw the terminal online")
    posterm("status")
    return Rig(host, pt_addr["control"], addr, panel)


def tour(rig: Rig) -> None:
    host = rig.host
    journal = OUT / "journal.db"

    step("1. A sale")
    _, first = posterm("sale", "24.90", "--key", "order-1001")
    must(first.get("state") == "approved", "the first sale was not approved")
    say("the same idempotency key again: the first answer, no second debit")
    posterm("sale", "24.90", "--key", "order-1001")
    say("a card the PT declines (the simulated card is expired): no debit, no receipt")
    posterm("sale", "10.78")

    step("2. Paper runs out in the middle of a receipt; the roll is refilled")
    printer_ctl(rig, "paper-out-after:9")
    _, paper = posterm("sale", "15.00")  # the roll ends 9 lines into this receipt
    posterm("status")
    say("the customer was charged; the receipt stays pending until there is paper")
    printer_ctl(rig, "refill")
    must(poll(lambda: recovered_receipt(paper["txn_id"]) is not None, 20),
         "no RECOVERED receipt after the refill")  # fmt: skip
    print(f"  -> printed, marked RECOVERED: printed/{recovered_receipt(paper['txn_id'])}")
    posterm("journal", "--limit", "1")

    step("3. The PT link drops after the debit, before the completion")
    pt_ctl(rig, "drop_before_completion")
    _, lost = posterm("sale", "31.00")
    say("posterm asks the PT (repeat receipt) whether it kept the payment, journals it")
    must(poll(lambda: status().get("state") == "ready", 30), "the terminal did not recover")
    recovered = txn(str(lost.get("txn_id")))
    must(poll(lambda: recovered_receipt(str(lost.get("txn_id"))) is not None, 20),
         "no RECOVERED receipt for the dropped sale")  # fmt: skip
    print(f"  -> {recovered.get('txn_id')} {recovered.get('state')}, receipt "
          f"{recovered.get('receipt_state')}: printed/{recovered_receipt(recovered['txn_id'])}"
          " marked RECOVERED")  # fmt: skip
    must(recovered.get("state") == "approved", "the dropped sale was not recovered as approved")
    posterm("status")

    step("3b. The same, on a PT that will not repeat its receipt: the operator decides")
    pt_ctl(rig, "refuse_repeat_receipt")
    pt_ctl(rig, "drop_before_completion")
    posterm("sale", "33.00")  # its id is in the answer; status lists it
    must(poll(lambda: status().get("awaiting_operator") is True, 30),
         "the terminal did not ask the operator")  # fmt: skip
    print("  " + str(status().get("reason")))
    say("nothing is sold while it is in doubt")
    posterm("sale", "1.00")
    say("the supervisor finds the payment in the PT's own journal")
    pt_ctl(rig, "refuse_repeat_receipt=off")
    doubt_txn = str(status().get("in_doubt_txns", [{}])[0].get("txn_id"))
    posterm("resolve", doubt_txn, "charged", "--by", "supervisor")

    step("4. A partial refund above the approval limit (50.00), approved from the back office")
    _, big = posterm("sale", "120.00")
    _, refund = posterm("refund", big["txn_id"], "80.00", "--reason", "wrong_amount")
    must(refund.get("state") == "awaiting_approval", "the refund did not wait for approval")
    must(poll(lambda: host.has_event(TID, "refund.requested", refund["txn_id"]), 20),
         "the refund request never reached the back office")  # fmt: skip
    code, reply = host.cli("approve", refund["txn_id"], "--by", "back office")
    result = reply.get("result", {}) if isinstance(reply, dict) else {}
    print(f"  -> ok {reply.get('ok') if isinstance(reply, dict) else reply}: "
          f"{result.get('txn_id')} {result.get('state')}")  # fmt: skip
    must(code == 0 and result.get("state") == "approved", f"the host's approval failed: {reply}")
    say("approved twice? the terminal says no: the refund ran once")
    code, again = host.cli("approve", refund["txn_id"], "--by", "back office")
    print(f"  -> {again.get('code') if isinstance(again, dict) else again}")
    say("more than what is left of the sale: refused")
    posterm("refund", big["txn_id"], "50.00", "--reason", "duplicate_charge")

    say("the panel's supervisor key approves a refund too (postermd's GPIO on simulated pins)")
    _, other = posterm("sale", "90.00")
    _, keyed = posterm("refund", other["txn_id"], "60.00", "--reason", "goods_returned")
    press(rig, "supervisor")
    must(poll(lambda: txn(keyed["txn_id"]).get("state") == "approved", 20),
         "the supervisor key did not approve the refund")  # fmt: skip
    shown = txn(keyed["txn_id"])
    print(f"  -> {shown['txn_id']} {shown['kind']} {shown['state']} {shown['amount']} "
          f"{shown['currency']} receipt {shown['receipt_state']}")  # fmt: skip

    step("5. A void the same day")
    _, wrong = posterm("sale", "8.40")
    posterm("void", wrong["txn_id"])
    say("a reprint later is marked DUPLICATE")
    posterm("reprint", first["txn_id"])

    step("6. A likely double charge: the same card, the same amount, twice")
    posterm("sale", "12.50", "--key", "order-1002")
    posterm("sale", "12.50", "--key", "order-1003")  # another order: a second debit
    must(poll(lambda: bool(host.open_alerts("double_charge")), 20),
         "the back office raised no double_charge alert")  # fmt: skip
    host.cli("alerts", "--open", json_out=False)

    step("7. End of day")
    posterm("eod")

    step("8. The back office")
    must(poll(lambda: demo_host.outbox_depth(journal) == 0, 20),
         "postermd's outbox did not drain")  # fmt: skip
    seqs = demo_host.outbox_seqs(journal)
    must(poll(lambda: len(host.stored(TID)) == len(seqs), 10), "the host lacks events")
    stored = host.stored(TID)
    once = len({e for e, _, _ in stored}) == len(stored) and [s for _, s, _ in stored] == seqs
    counts = Counter(t for _, _, t in stored)
    print(f"  posterm-host stored {len(stored)} events, seq 1..{len(seqs)}, each once: "
          f"{'yes' if once else 'NO'}; postermd's outbox: empty")  # fmt: skip
    print("  " + ", ".join(f"{n} {t}" for t, n in sorted(counts.items())))
    must(once, "the host did not store every event exactly once")
    # the telemetry after end of day: the fleet table shows the terminal as it is now
    poll(lambda: (host.fleet_row(TID) or {}).get("outbox_depth") == 0, 5)
    host.cli("fleet", json_out=False)
    say("the customer of the 15.00 sale asks for the receipt the paper-out swallowed")
    code, found = host.cli("receipts", "find", "--terminal", TID, "--amount", "15.00")
    rows = found if isinstance(found, list) else []
    for row in rows:
        print(f"  -> {row['txn_id']} {row['kind']} {row['amount']} {row['currency']} "
              f"receipt {row['receipt']['state']}")  # fmt: skip
    must(any(r["txn_id"] == paper["txn_id"] for r in rows), "the lookup missed the sale")
    host.cli("receipts", "show", paper["txn_id"], json_out=False)
    code, _ = host.cli("reconcile", json_out=False)
    must(code == 0, "the day's batch does not reconcile")
    print("\n  what the cards were charged (the PT simulator's ledger):")
    ledger = subprocess.run([str(BIN / "posterm-sim"), "ledger", str(OUT / "pt-ledger.db")],
                            capture_output=True, text=True, check=True)  # fmt: skip
    for e in json.loads(ledger.stdout)["entries"]:
        print(f"    {e['kind']:9} {e['amount'] / 100:8.2f}  receipt {e['receipt_no']:04d}"
              f"  batch {e['batch']}  {e['state']}")  # fmt: skip
    pngs = sorted((OUT / "printed").glob("*.png"))
    print(f"\n  {len(pngs)} receipts came out of the printer, as text and PNG, in "
          f"{OUT / 'printed'}:")  # fmt: skip
    for entry in printed():
        text = (OUT / "printed" / entry["txt"]).read_text()
        marks = [m for m in ("RECOVERED", "DUPLICATE", "REFUND", "VOID", "END OF DAY",
                             "PAPER OUT") if m in text]  # fmt: skip
        print(f"    {entry['png']}  {', '.join(marks) or 'SALE'}")
    print(f"  The journal is {journal}, the back office's store {host.db}; logs in {OUT}.")
    step("The fleet dashboard (posterm-host run --http)")
    print(f"  {host.url}  user {demo_host.WEB_USER!r}, password {demo_host.WEB_PASSWORD!r}"
          " (`make demo ARGS=--interactive` leaves it running)")  # fmt: skip


def interactive(rig: Rig) -> None:
    host = rig.host
    sock = OUT / "control.sock"
    panel_opt = "" if rig.panel == panel_pins.DEFAULT_ADDR else f" --control {rig.panel}"
    step("The rig keeps running: try it (Ctrl-C stops everything)")
    print(f"""
  the terminal (postermd, over its control socket):
    {BIN}/posterm --socket {sock} status
    {BIN}/posterm --socket {sock} sale 9.95
    {BIN}/posterm --socket {sock} refund TXN 60.00 --reason goods_returned
  the panel's buttons (supervisor approves the oldest waiting refund, cancel rejects it,
  reprint prints the last sale again, confirm retries the PT):
    {BIN}/posterm-sim panel{panel_opt} press supervisor
    {BIN}/posterm-sim panel{panel_opt} leds
  the simulated devices:
    {BIN}/posterm-sim ctl --control {rig.printer['control']} paper-out   (then: refill)
    {BIN}/posterm-sim pt-ctl --control {rig.pt_control} drop_before_completion
    {BIN}/posterm-sim ledger {OUT / 'pt-ledger.db'}
  the back office: the dashboard {host.url} (user {demo_host.WEB_USER}, password
  {demo_host.WEB_PASSWORD}), or its CLI:
    {BIN}/posterm-host --config {host.config} fleet
    {BIN}/posterm-host --config {host.config} refunds --pending
    {BIN}/posterm-host --config {host.config} approve TXN
    {BIN}/posterm-host --config {host.config} alerts --open
  receipts (text and PNG): {OUT / 'printed'}
""", flush=True)  # fmt: skip
    try:
        while True:
            signal.pause()  # a signal handler ends it (SIGTERM: SystemExit), or Ctrl-C
    except KeyboardInterrupt:
        print("\n  Ctrl-C: stopping postermd, posterm-host, the broker and the simulators",
              flush=True)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())

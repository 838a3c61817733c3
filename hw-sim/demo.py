"""`make demo`: what posterm can do today, on simulated hardware, as real processes.

1. The ZVT link: `posterm zvt` straight to the simulated PT over a pty (serial ZVT).
2. The terminal: `postermd` with the PT (pty) and the receipt printer (TCP) simulators,
   driven by the operator CLI: sales, a declined card, paper running out mid-receipt and
   the RECOVERED receipt after the refill, a refund over the approval limit, a refund
   without a sale (allowed by this demo's config, each one awaits approval), a void, a
   reprint, end of day. Then the PT's ledger next to the journal, and the receipts.
3. The back office: postermd sends its events over MQTT to a broker (amqtt, embedded in a
   process of its own, or the one in POSTERM_DEMO_MQTT=mqtt://HOST:PORT) and a subscriber
   acknowledges them: what arrived, the seq check, and postermd's outbox drained.
4. The fleet dashboard: `posterm-host run --http` stored the same events from the start;
   the demo ends by printing its URL and the demo user (`--interactive`: it stays up until
   Ctrl-C; `make demo ARGS=--interactive`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from posterm.hwsim import demo_dashboard, demo_host
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
unreferenced = true
[mqtt]
url = "{mqtt}"
telemetry_s = 2
username = "{tid}"
host_public_key = "{host_key}"
"""


def step(title: str) -> None:
    print(f"\n=== {title} " + "=" * max(0, 72 - len(title)), flush=True)


def start(name: str, *args: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """Start a simulator; return it and what it announced (listen/control addresses)."""
    log = (OUT / f"{name}.log").open("w")
    proc = subprocess.Popen([str(BIN / "posterm-sim"), *args], stdout=subprocess.PIPE,
                            stderr=log, text=True)  # fmt: skip
    seen: dict[str, str] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        if m := re.match(r"\w+ (listening|control) on (tcp://\S+)", line):
            seen[m.group(1)] = m.group(2)
        if line.strip().endswith("ready"):
            break
    return proc, seen


def pt_fault(control: str, action: str) -> None:
    """Switch a fault of the simulated PT at run time."""
    print(f"  [PT simulator: {action}]")
    subprocess.run([str(BIN / "posterm-sim"), "pt-ctl", "--control", control, action],
                   capture_output=True, check=True)  # fmt: skip


def posterm(*args: str, show: bool = True) -> tuple[int, Any]:
    cmd = [str(BIN / "posterm"), "--socket", str(OUT / "control.sock"), *args, "--json"]
    if show:
        print("$ posterm " + " ".join(args), flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    data = json.loads(proc.stdout) if proc.stdout.strip() else {"stderr": proc.stderr}
    if show:
        if isinstance(data, dict) and data.get("ok") is False:
            print(f"  -> refused [{data['code']}]: {data['error']}")
        elif isinstance(data, dict) and "txn_id" in data:
            print(f"  -> {data['txn_id']} {data['kind']} {data['state']} {data['amount']} "
                  f"{data['currency']} receipt {data['receipt_state']}")  # fmt: skip
        else:
            print("  -> " + json.dumps(data))
    return proc.returncode, data


def zvt(*args: str) -> dict[str, Any]:
    cmd = [str(BIN / "posterm"), "zvt", "--pt", f"serial://{OUT}/pt.tty?baud=9600", "--json",
           *args]  # fmt: skip
    print("$ posterm zvt " + " ".join(args), flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    data: dict[str, Any] = json.loads(proc.stdout)
    print(f"  -> {'APPROVED' if data['approved'] else 'NOT APPROVED'}: {data['result_text']}"
          f"  amount {data['amount']} {data['currency']}  receipt {data['receipt_no']}"
          f"  card {data.get('card_name')} {data.get('masked_pan')}")  # fmt: skip
    return data


def wait_for(predicate: Any, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def host_link() -> dict[str, Any]:
    """postermd's own view of its MQTT link (`posterm status`: state, session, broker)."""
    data = posterm("status", show=False)[1]
    return data.get("host", {}) if isinstance(data, dict) else {}


def printed() -> list[dict[str, Any]]:
    index = OUT / "printed" / "index.jsonl"
    return [json.loads(line) for line in index.read_text().splitlines()] if index.exists() else []


def main(argv: list[str] | None = None) -> int:
    interactive = "--interactive" in (sys.argv[1:] if argv is None else argv)
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir()
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))  # unwinds too
    with ExitStack() as stack:  # stops what it started, the last first, also on an error
        step("Simulated hardware: a ZVT payment terminal (pty), an ESC/POS printer (TCP), "
             "an MQTT broker")  # fmt: skip
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
        print(f"  PT on {OUT / 'pt.tty'}, printer on {addr['listening']}")
        office = demo_host.start(stack, OUT, TID)
        dashboard = demo_dashboard.start(stack, OUT, office.broker.url)

        step("1. The ZVT link, straight to the PT: sale, repeat receipt, reversal")
        sale = zvt("sale", "12.50")
        zvt("repeat")
        zvt("reverse", str(sale["receipt_no"]))

        step("2. The terminal: postermd (recovery first, then READY)")
        (OUT / "posterm.toml").write_text(CONFIG.format(
            out=OUT, printer=addr["listening"], tid=TID, mqtt=office.broker.url,
            host_key=dashboard.public_key))  # fmt: skip
        env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
        daemon = subprocess.Popen(
            [str(BIN / "postermd"), "--config", str(OUT / "posterm.toml")],
            stderr=(OUT / "postermd.log").open("w"),
            env=env,
        )  # type: ignore[call-overload]
        stack.callback(stop_process, daemon, 15)
        wait_for((OUT / "control.sock").exists)
        wait_for(lambda: posterm("status", show=False)[0] == 0)
        posterm("status")

        step("Sales")
        _, first = posterm("sale", "24.90", "--key", "order-1001")
        posterm("sale", "24.90", "--key", "order-1001")  # same key: same answer, no 2nd debit
        posterm("sale", "10.78")  # the simulated card is expired

        step("Paper runs out in the middle of a receipt, then the roll is refilled")
        subprocess.run([str(BIN / "posterm-sim"), "ctl", "--control", addr["control"],
                        "near-end"], capture_output=True, check=True)  # fmt: skip
        count = len(printed())
        _, second = posterm("sale", "8.40")
        subprocess.run([str(BIN / "posterm-sim"), "ctl", "--control", addr["control"],
                        "paper-out-after:9"], capture_output=True, check=True)  # fmt: skip
        _, third = posterm("sale", "15.00")  # the roll ends 9 lines into this receipt
        posterm("status")
        print("  ... refilling the paper")
        subprocess.run([str(BIN / "posterm-sim"), "ctl", "--control", addr["control"],
                        "refill"], capture_output=True, check=True)  # fmt: skip
        wait_for(lambda: len(printed()) > count + 1)
        time.sleep(1.0)
        posterm("journal", "--limit", "3")

        step("Refunds: a partial one, one above the approval limit, one without a sale")
        posterm("refund", first["txn_id"], "4.90", "--reason", "goods_returned")
        _, big = posterm("sale", "120.00")
        _, waiting = posterm("refund", big["txn_id"], "80.00", "--reason", "wrong_amount")
        posterm("approve", waiting["txn_id"], "--by", "supervisor")
        posterm("refund", big["txn_id"], "50.00", "--reason", "duplicate_charge")  # over
        _, goodwill = posterm("refund", "none", "3.00", "--reason", "other", "--text",
                              "goodwill, no sale")  # fmt: skip
        posterm("approve", goodwill["txn_id"], "--by", "supervisor")  # always waits

        step("A lost completion on a PT that will not repeat its receipt: the operator decides")
        pt_fault(pt_addr["control"], "refuse_repeat_receipt")
        pt_fault(pt_addr["control"], "drop_before_completion")
        _, doubt = posterm("sale", "33.00")  # the 04 0F was acknowledged, then the link broke
        wait_for(lambda: posterm("status", show=False)[1].get("awaiting_operator") is True)
        print("  " + posterm("status", show=False)[1]["reason"])
        posterm("sale", "1.00")  # nothing is sold while it is in doubt
        print("  ... the supervisor finds the payment in the PT's own journal")
        pt_fault(pt_addr["control"], "refuse_repeat_receipt=off")
        posterm("resolve", doubt["txn_id"], "charged", "--by", "supervisor")

        step("Void the same day, reprint, end of day")
        posterm("void", second["txn_id"])
        posterm("reprint", third["txn_id"])
        posterm("eod")

        step("What the cards were charged (the PT's ledger)")
        ledger = subprocess.run([str(BIN / "posterm-sim"), "ledger", str(OUT / "pt-ledger.db")],
                                capture_output=True, text=True, check=True)  # fmt: skip
        for e in json.loads(ledger.stdout)["entries"]:
            print(f"  {e['kind']:9} {e['amount'] / 100:8.2f}  receipt {e['receipt_no']:04d}"
                  f"  batch {e['batch']}  {e['state']}")  # fmt: skip

        step("What came out of the printer")
        for entry in printed():
            text = (OUT / "printed" / entry["txt"]).read_text()
            marks = [m for m in ("RECOVERED", "DUPLICATE", "REFUND", "VOID", "END OF DAY",
                                 "PAPER OUT") if m in text]  # fmt: skip
            print(f"  {entry['png']}  {', '.join(marks) or 'SALE'}")

        step("3. What the back office received over MQTT")
        ok = demo_host.show(office, OUT / "journal.db", host_link)
        print(f"\nThe receipts (text and PNG) are in {OUT / 'printed'}; the journal is "
              f"{OUT / 'journal.db'}; the events the back office got are in "
              f"{OUT / 'backoffice.jsonl'}; logs are in {OUT}.")  # fmt: skip

        step("4. The fleet dashboard (posterm-host run --http)")
        print(f"  {dashboard.url}  user {demo_dashboard.USER!r}, password "
              f"{demo_dashboard.PASSWORD!r}")  # fmt: skip
        if interactive:
            _, sale = posterm("sale", "75.00", show=False)
            _, asked = posterm("refund", sale["txn_id"], "60.00", "--reason", "goods_returned",
                               show=False)  # fmt: skip
            print(f"  a refund of 60.00 EUR ({asked.get('txn_id')}) awaits approval: Refunds")
            print("  running until Ctrl-C", flush=True)
            # Ctrl-C even when started in the background (a shell then ignores SIGINT for it)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            try:
                signal.pause()
            except KeyboardInterrupt:
                print()
        else:
            print("  (stopped with the demo; `make demo ARGS=--interactive` leaves it running)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

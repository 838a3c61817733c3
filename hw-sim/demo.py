"""`make demo`: what posterm can do today, on simulated hardware, as real processes.

Today: the ZVT link. The simulated PT runs on a pty (serial ZVT, DLE/STX + CRC) and TCP;
`posterm zvt` runs sale -> repeat receipt -> reversal -> end of day against it over the
pty, then a sale over TCP, and the PT's ledger shows what the cards were charged.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
OUT = Path("demo-out")


def step(title: str) -> None:
    print(f"\n=== {title} " + "=" * max(0, 70 - len(title)), flush=True)


def posterm(*args: str) -> dict[str, object]:
    """Run `posterm zvt … --json` once; show what came back; return the JSON."""
    cmd = [str(BIN / "posterm"), "zvt", *args]
    print("$ posterm zvt " + " ".join(args), flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    data: dict[str, object] = json.loads(proc.stdout) if proc.stdout.strip() else {}
    verdict = "APPROVED" if data.get("approved") else "NOT APPROVED"
    print(
        f"  exit {proc.returncode}: {verdict} - {data.get('result_text')} {data.get('error') or ''}"
    )
    for key in ("amount", "currency", "receipt_no", "trace", "card_name", "masked_pan"):
        if data.get(key) is not None:
            print(f"    {key:11} {data[key]}")
    lines = data.get("receipt_lines") or []
    if isinstance(lines, list) and lines:
        print("    receipt:  | " + "\n              | ".join(str(line) for line in lines))
    return data


def start_pt() -> tuple[subprocess.Popen[str], str, str]:
    cmd = [
        str(BIN / "posterm-sim"),
        "pt",
        "--pty",
        str(OUT / "pt.tty"),
        "--listen",
        "tcp://127.0.0.1:0",
        "--ledger",
        str(OUT / "pt-ledger.db"),
    ]
    log = (OUT / "pt-sim.log").open("w")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True)
    assert proc.stdout is not None
    tcp = ""
    for line in proc.stdout:
        print(f"  sim: {line.rstrip()}")
        if line.startswith("pt listening on "):
            tcp = line.split()[-1]
        if line.strip() == "pt ready":
            break
    return proc, f"serial://{OUT / 'pt.tty'}?baud=9600", tcp


def main() -> int:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir()
    step("Simulated ZVT payment terminal (pty + TCP)")
    pt, serial_url, tcp_url = start_pt()
    try:
        step("Sale of 12.50 EUR over the serial link")
        sale = posterm("--pt", serial_url, "--json", "sale", "12.50")
        receipt_no = str(sale.get("receipt_no"))
        step("Repeat receipt (what recovery asks after a lost link)")
        posterm("--pt", serial_url, "--json", "repeat")
        step(f"Reversal (void) of receipt {receipt_no}")
        posterm("--pt", serial_url, "--json", "reverse", receipt_no)
        step("A declined sale: 10.51 (insufficient funds)")
        posterm("--pt", serial_url, "--json", "sale", "10.51")
        step("Sale of 10.10 EUR over TCP")
        posterm("--pt", tcp_url, "--json", "sale", "10.10")
        step("End of day")
        posterm("--pt", serial_url, "--json", "eod")
        time.sleep(0.2)
        step("The PT's ledger: what the cards were charged")
        ledger = subprocess.run(
            [str(BIN / "posterm-sim"), "ledger", str(OUT / "pt-ledger.db"), "--json"],
            capture_output=True,
            text=True,
            check=True,
        )
        for entry in json.loads(ledger.stdout)["entries"]:
            amount = f"{entry['amount'] / 100:8.2f}"
            print(
                f"  {entry['kind']:9} {amount}  receipt {entry['receipt_no']:04d}"
                f"  batch {entry['batch']}  {entry['state']}"
            )
    finally:
        pt.terminate()
        pt.wait(10)
    print(f"\nEverything the demo wrote is in {OUT.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

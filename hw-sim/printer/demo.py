"""The demo sale's receipt, printed through the real `posterm printer` into the simulator.

The simulators may not import the terminal's code, so this talks to both as processes:
`posterm-sim printer` on a free TCP port, `posterm printer --url ... receipt FILE.json`.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

from posterm.hwsim import procs

BIN = Path(sys.executable).parent
START_TIMEOUT = 30.0
PRINT_TIMEOUT = 120.0


class DemoPrintError(RuntimeError):
    """The demo receipt could not be printed; the message says where it stopped."""


def _receipt_json(lines: list[str], amount: str, currency: str, txn_id: str) -> dict[str, object]:
    """The sale layout in the JSON form `posterm printer receipt` reads (a Receipt)."""
    return {
        "title": "SALE",
        "header": ["posterm demo shop", "Musterstraße 1, 10115 Berlin"],
        "total": ["TOTAL", f"{amount} {currency}"],
        "body": list(lines),
        "footer": ["Thank you for your visit!"],
        "copy": "customer",
        "qr": txn_id,
    }


def _start_simulator(out: Path, log: Path) -> tuple[subprocess.Popen[str], str]:
    args = [str(BIN / "posterm-sim"), "printer", "--listen", "tcp://127.0.0.1:0", "--out", str(out)]
    with log.open("w") as stderr:
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=stderr, text=True)
    assert proc.stdout is not None
    url = ""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if m := re.match(r"printer listening on (tcp://\S+)", line):
            url = m.group(1)
        elif line.strip() == "printer ready" and url:
            return proc, url
    _stop(proc)
    raise DemoPrintError(f"the printer simulator did not start (see {log})")


def _stop(proc: subprocess.Popen[str]) -> None:
    procs.stop(proc)
    if proc.stdout is not None:
        proc.stdout.close()


def print_demo_receipt(
    workdir: Path, pt_receipt_lines: list[str], amount: str, currency: str, txn_id: str
) -> Path:
    """Print the demo sale's receipt through the printer simulator; return its PNG."""
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / "demo-receipt"
    receipt = workdir / "demo-receipt.json"
    receipt.write_text(
        json.dumps(_receipt_json(pt_receipt_lines, amount, currency, txn_id), ensure_ascii=False),
        encoding="utf-8",
    )
    proc, url = _start_simulator(out, workdir / "demo-receipt-printer.log")
    try:
        done = subprocess.run(
            [
                str(BIN / "posterm"),
                "printer",
                "--url",
                url,
                "--columns",
                "42",
                "--encoding",
                "cp858",
                "receipt",
                str(receipt),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=PRINT_TIMEOUT,
        )
    finally:
        _stop(proc)
    if done.returncode != 0:
        raise DemoPrintError(f"posterm printer failed ({done.returncode}): {done.stderr.strip()}")
    index = out / "index.jsonl"
    lines = index.read_text(encoding="utf-8").splitlines() if index.exists() else []
    entries = [json.loads(line) for line in lines]
    if not entries:
        raise DemoPrintError(f"the printer simulator cut no receipt (see {out})")
    return out / entries[-1]["png"]

"""Receipts per second through posterm's printer driver (render + status before + send +
status after) against bare python-escpos printing the same receipt with its own API, both
into the same printer simulator in the same run; prints the ratio.

Run: .venv/bin/python bench/bench_printer.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from escpos.printer import Network  # noqa: E402

from posterm.drivers.printer import Printer  # noqa: E402
from posterm.drivers.printer import receipt as layouts  # noqa: E402
from tests.support.sim import PrinterSim, start_printer  # noqa: E402

PT_LINES = tuple(f"PT line {i:02d}  VISA 476173******0119" for i in range(18))
RECEIPT = layouts.sale(
    header=("Café Beispiel", "Hauptstraße 1", "10115 Berlin"),
    amount="12.50",
    currency="EUR",
    pt_lines=PT_LINES,
    txn_id="TBENCH00001",
    footer=("Thank you!",),
)


def bare(printer: Network) -> None:
    """The same receipt the way python-escpos's own API prints it."""
    printer.set(align="center", bold=True)
    for line in RECEIPT.header:
        printer.text(line + "\n")
    printer.set(align="center", bold=True, double_height=True, double_width=True)
    printer.text(RECEIPT.title + "\n")
    printer.set(align="left", normal_textsize=True)
    printer.text("-" * 42 + "\n")
    printer.text(f"{'TOTAL':<30}{'12.50 EUR':>12}\n")
    printer.text("-" * 42 + "\n")
    for line in RECEIPT.body:
        printer.text(line + "\n")
    printer.set(align="center")
    for line in RECEIPT.footer:
        printer.text(line + "\n")
    printer.text("CUSTOMER COPY\n")
    printer.qr(RECEIPT.qr or "", native=True, size=4)
    printer.cut()


def timed(sim: PrinterSim, job: Callable[[], None], count: int) -> float:
    """Receipts per second until the simulator has cut all `count` of them (bare
    python-escpos returns as soon as its bytes are in the socket buffer, so the clock
    stops at the printer, for both)."""
    base = sim.ctl("status")["cuts"]
    start = time.perf_counter()
    for _ in range(count):
        job()
    while sim.ctl("status")["cuts"] < base + count:
        time.sleep(0.001)
    return count / (time.perf_counter() - start)


def main(count: int = 150) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sim = start_printer(Path(tmp))
        try:
            host, port = sim.url.removeprefix("tcp://").split(":")
            driver = Printer(sim.url, columns=42, encoding="cp858")
            raw = Network(host, int(port), timeout=5)
            raw.open()
            timed(sim, lambda: driver.print(RECEIPT), 10)  # warm up both
            timed(sim, lambda: bare(raw), 10)
            ours = [timed(sim, lambda: driver.print(RECEIPT), count)]
            theirs = [timed(sim, lambda: bare(raw), count)]
            ours.append(timed(sim, lambda: driver.print(RECEIPT), count))
            theirs.append(timed(sim, lambda: bare(raw), count))
            raw.close()
            driver.close()
        finally:
            sim.stop()
    mine, bare_rate = sum(ours) / 2, sum(theirs) / 2
    print(f"printer: driver {mine:,.1f} receipts/s (render + DLE EOT before and after + send)")
    print(f"printer: bare python-escpos {bare_rate:,.1f} receipts/s (same receipt, no checks)")
    ratio = mine / bare_rate
    print(f"printer: ratio driver/bare = {ratio:.2f} (target >= 0.80 -> "
          f"{'MET' if ratio >= 0.8 else 'NOT MET'})")  # fmt: skip


if __name__ == "__main__":
    main()

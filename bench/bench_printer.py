"""Receipts per second: posterm's printer driver against bare python-escpos, same run.

The driver renders, asks DLE EOT, sends, waits for the cut (GS r 1) and asks DLE EOT
again; bare python-escpos prints the same receipt with its own API and no checks; both
into the same printer simulator process, rounds interleaved (bench/runs.py: 5 rounds,
each arm >= 5 s a round). Prints the figures and the ratio, the median of the rounds'
ratios with its spread (target >= 0.8).

Run: .venv/bin/python bench/bench_printer.py (about 2 minutes)
"""

from __future__ import annotations

import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from escpos.printer import Network  # noqa: E402

from bench.figures import figure  # noqa: E402
from bench.runs import MIN_SECONDS, Sample, interleave  # noqa: E402
from bench.timed import per_second  # noqa: E402
from posterm.drivers.printer import Printer, Renderer  # noqa: E402
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
BATCH = 10  # receipts sent before the clock waits for the printer to have cut them


def bare(printer: Network) -> None:
    """The same receipt the way python-escpos's own API prints it (no status checks)."""
    printer.set(align="center", bold=True)
    printer.text(RECEIPT.header[0] + "\n")
    printer.set(bold=False)
    for line in RECEIPT.header[1:]:
        printer.text(line + "\n")
    printer.text("\n")
    printer.set(align="center", bold=True, double_height=True, double_width=True)
    printer.text(RECEIPT.title + "\n")
    printer.set(align="left", bold=False, normal_textsize=True)
    printer.text("-" * 42 + "\n")
    printer.set(bold=True)
    printer.text(f"{'TOTAL':<30}{'12.50 EUR':>12}\n")
    printer.set(bold=False)
    printer.text("-" * 42 + "\n")
    for line in RECEIPT.body:
        printer.text(line + "\n")
    printer.text("-" * 42 + "\n")
    printer.set(align="center")
    for line in RECEIPT.footer:
        printer.text(line + "\n")
    printer.text("CUSTOMER COPY\n")
    printer.qr(RECEIPT.qr or "", native=True, size=4)
    printer.text("\n")
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


def arm(sim: PrinterSim, job: Callable[[], None]) -> Callable[[], Sample]:
    """One interleaved run: batches of receipts, each batch cut before the next, until
    MIN_SECONDS have passed."""

    def run() -> Sample:
        done, start = 0, time.perf_counter()
        while time.perf_counter() - start < MIN_SECONDS:
            timed(sim, job, BATCH)
            done += BATCH
        return Sample(done, time.perf_counter() - start)

    return run


class NullPrinter:
    """Context only: a printer that answers DLE EOT and GS r 1 at once and throws the
    print data away, so the figure is the driver's own cost, not the simulator's PNGs."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"tcp://127.0.0.1:{self.server.getsockname()[1]}"
        self.cuts = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        tail = b""  # the last two bytes: a command split between two reads
        with conn:
            while data := conn.recv(65536):
                seen = tail + data

                def new(pattern: bytes, seen: bytes = seen, tail: bytes = tail) -> int:
                    return seen.count(pattern) - tail.count(pattern)

                self.cuts += new(b"\x1dV")
                answer = b"\x12" * new(b"\x10\x04") + b"\x00" * new(b"\x1dr\x01")
                tail = seen[-2:]
                if answer:
                    conn.sendall(answer)

    def timed(self, job: Callable[[], None], count: int) -> float:
        base = self.cuts
        start = time.perf_counter()
        for _ in range(count):
            job()
        while self.cuts < base + count:
            time.sleep(0.0005)
        return count / (time.perf_counter() - start)


def null_printer_rates(count: int = 500) -> tuple[float, float]:
    null = NullPrinter()
    host, port = null.url.removeprefix("tcp://").split(":")
    driver = Printer(null.url, columns=42, encoding="cp858")
    raw = Network(host, int(port), timeout=5)
    raw.open()
    rates = (null.timed(lambda: driver.print(RECEIPT), count), null.timed(lambda: bare(raw), count))
    driver.close()
    raw.close()
    null.server.close()
    return rates


def render_rate(count: int = 2000) -> float:
    renderer = Renderer(42, "cp858")
    start = time.perf_counter()
    for _ in range(count):
        renderer.render(RECEIPT)
    return count / (time.perf_counter() - start)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        sim = start_printer(Path(tmp))
        try:
            host, port = sim.url.removeprefix("tcp://").split(":")
            driver = Printer(sim.url, columns=42, encoding="cp858")
            raw = Network(host, int(port), timeout=5)
            raw.open()
            timed(sim, lambda: driver.print(RECEIPT), 10)  # warm up both
            timed(sim, lambda: bare(raw), 10)
            runs = interleave(
                {
                    "driver": arm(sim, lambda: driver.print(RECEIPT)),
                    "bare": arm(sim, lambda: bare(raw)),
                }
            )
            raw.close()
            driver.close()
        finally:
            sim.stop()
    mine, bare_rate = runs.rate("driver"), runs.rate("bare")
    ratio = runs.ratio("driver", "bare")
    print(f"printer: render only {render_rate():,.0f} receipts/s (Receipt -> ESC/POS bytes)")
    print(
        f"printer: driver {per_second(mine)} receipts (render, DLE EOT before, send, wait for "
        f"the cut, DLE EOT after)"
    )
    print(f"printer: bare python-escpos {per_second(bare_rate)} receipts (same receipt, no checks)")
    verdict = "MET" if ratio.median >= 0.8 else "NOT MET"
    print(f"printer: ratio driver/bare = {ratio} (target >= 0.80 -> {verdict})")
    figure(
        "printer: receipts/s",
        mine.median,
        "receipts/s",
        baseline=bare_rate.median,
        baseline_name="bare python-escpos",
        target="ratio >= 0.80",
        spread=ratio,
    )
    fast, fast_bare = null_printer_rates()
    print(
        f"printer: context, a printer that answers at once and prints nothing: driver "
        f"{fast:,.0f}/s, bare {fast_bare:,.0f}/s (the driver's own cost: three round trips)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

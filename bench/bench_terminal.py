"""The whole terminal: sales per second end to end (postermd with its fsync'ed journal,
the PT simulator over TCP and the printer simulator, no simulated delay) against bare ZVT
sales on a PT simulator of their own, interleaved (bench/runs.py: 5 rounds, each arm
>= 5 s of sales a round; the ratio is the median of the rounds' ratios); and one sale at
real line speeds (ZVT 9600 8N2, printer 115200 8N1) against the wire-time lower bound of
the bytes it exchanged, five times.

The printer simulator draws a PNG of every receipt before it answers the job's GS r (tens
of ms on a loaded machine: more than the rest of a sale); the figure the target is about
runs it with `--no-png` (the simulators at zero cost), the arm with the PNGs is context.
What is left of a sale beyond the bare ZVT exchange is ours: postermd's CPU, its four
fsyncs (write-ahead row, approval, receipt pending, receipt printed) and the printer
round trips (docs/benchmarks.md).

Run: .venv/bin/python bench/bench_terminal.py (about 2 minutes)
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.figures import figure  # noqa: E402
from bench.runs import Spread, interleave  # noqa: E402
from bench.timed import per_second, timed  # noqa: E402
from posterm.daemon.control.client import ControlClient  # noqa: E402
from posterm.drivers.zvt.client import PaymentTerminal  # noqa: E402
from tests.support.rig import Rig, make_rig  # noqa: E402
from tests.support.sim import start_pt  # noqa: E402

ZVT_BAUD, PRINTER_BAUD = 9600, 115200
LINE_SPEED_SALES = 5


def _seller(rig: Rig) -> Callable[[], None]:
    rig.start()
    client = ControlClient(rig.socket, timeout=60)

    def sale() -> None:
        reply = client.request({"cmd": "sale", "amount": "1.00"})
        assert reply["ok"], reply

    for _ in range(5):  # warm: registration done, python-escpos loaded
        sale()
    return sale


def sales_per_second() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name in ("fast", "png", "bare"):
            (root / name).mkdir()
        fast = make_rig(root / "fast", link="tcp", printer_args=("--no-png",))
        png = make_rig(root / "png", link="tcp")
        pt_sim = start_pt(root / "bare", pty=False)
        try:
            assert pt_sim.tcp_url is not None
            with PaymentTerminal(pt_sim.tcp_url) as pt:
                pt.register()
                runs = interleave(
                    {
                        "ours": timed(_seller(fast)),
                        "bare": timed(lambda: pt.authorize(100)),
                        "ours, PNGs": timed(_seller(png)),
                    }
                )
        finally:
            fast.close()
            png.close()
            pt_sim.stop()
    ours, bare, drawn = runs.rate("ours"), runs.rate("bare"), runs.rate("ours, PNGs")
    ratio, drawn_ratio = runs.ratio("ours", "bare"), runs.ratio("ours, PNGs", "bare")
    pairs = zip(runs.samples["ours"], runs.samples["bare"], strict=True)
    overhead = [1000 / o.rate - 1000 / b.rate for o, b in pairs]  # ms a sale, each round
    print(f"terminal: {per_second(ours)} sales end to end (journal fsync, receipt printed, no PNG)")
    print(
        f"terminal: bare ZVT sales on a PT simulator of their own {per_second(bare)}; ratio {ratio}"
    )
    print(
        f"terminal: ours per sale beyond the bare ZVT exchange: "
        f"{statistics.median(overhead):.1f} ms (median of the rounds)"
    )
    print(
        f"terminal: with the printer simulator drawing PNGs {per_second(drawn)} sales; "
        f"ratio {drawn_ratio}"
    )
    print(f"terminal: target >= 25 sales/s -> {'MET' if ours.median >= 25 else 'NOT MET'}")
    figure(
        "terminal: sales end to end",
        ours.median,
        "sales/s",
        baseline=bare.median,
        baseline_name="bare ZVT sales, PT sim",
        target=">= 25/s",
        spread=ratio,
    )
    figure(
        "terminal: sales, printer sim drawing PNGs",
        drawn.median,
        "sales/s",
        baseline=bare.median,
        baseline_name="bare ZVT sales, PT sim",
        spread=drawn_ratio,
    )


def line_speed_sale() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rig = make_rig(
            Path(tmp),
            link="serial",
            pt_args=("--baud", str(ZVT_BAUD)),
            printer_args=("--bytes-per-second", str(PRINTER_BAUD // 10), "--no-png"),
        )
        took: list[tuple[float, float]] = []
        try:
            rig.start()
            client = ControlClient(rig.socket, timeout=120)
            client.request({"cmd": "sale", "amount": "1.00"})  # warm: registration done
            for _ in range(LINE_SPEED_SALES):
                pt0, pr0 = rig.pt.ctl(stats=True), rig.printer.ctl("status")
                start = time.perf_counter()
                reply = client.request({"cmd": "sale", "amount": "12.50"})
                elapsed = time.perf_counter() - start
                assert reply["ok"], reply
                pt1, pr1 = rig.pt.ctl(stats=True), rig.printer.ctl("status")
                zvt = (pt1["serial_bytes_in"] + pt1["serial_bytes_out"]) - (
                    pt0["serial_bytes_in"] + pt0["serial_bytes_out"]
                )
                printer = (pr1["bytes_in"] + pr1["bytes_out"]) - (
                    pr0["bytes_in"] + pr0["bytes_out"]
                )
                took.append((elapsed, zvt * 11 / ZVT_BAUD + printer * 10 / PRINTER_BAUD))
        finally:
            rig.close()
    ratios = [elapsed / bound for elapsed, bound in took]
    spread = Spread(statistics.median(ratios), min(ratios), max(ratios), len(ratios))
    elapsed = statistics.median(e for e, _ in took)
    bound = statistics.median(b for _, b in took)
    print(
        f"line speed: one sale took {elapsed:.3f} s (median of {len(took)}); its ZVT bytes "
        f"at 9600 8N2 and printer bytes at 115200 8N1 need at least {bound:.3f} s"
    )
    print(
        f"line speed: ratio {spread} of the wire-time lower bound "
        f"(target <= 1.10 -> {'MET' if spread.median <= 1.10 else 'NOT MET'})"
    )
    figure(
        "terminal: one sale at line speed",
        elapsed,
        "s",
        baseline=bound,
        baseline_name="wire-time lower bound",
        target="ratio <= 1.10",
        spread=spread,
    )


if __name__ == "__main__":
    sales_per_second()
    line_speed_sale()

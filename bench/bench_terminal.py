"""The whole terminal: sales per second end to end (postermd with its fsync'ed journal,
the PT simulator over TCP and the printer simulator, no simulated delay) against bare ZVT
sales on the same PT in the same run; and one sale at real line speeds (ZVT 9600 8N2,
printer 115200 8N1) against the wire-time lower bound of the bytes it exchanged.

Run: .venv/bin/python bench/bench_terminal.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.figures import figure  # noqa: E402
from posterm.daemon.control.client import ControlClient  # noqa: E402
from posterm.drivers.zvt.client import PaymentTerminal  # noqa: E402
from tests.support.rig import make_rig  # noqa: E402

ZVT_BAUD, PRINTER_BAUD = 9600, 115200


def sales_per_second(count: int = 100) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rig = make_rig(Path(tmp), link="tcp")
        try:
            rig.start()
            client = ControlClient(rig.socket, timeout=60)
            for _ in range(5):
                client.request({"cmd": "sale", "amount": "1.00"})
            start = time.perf_counter()
            for _ in range(count):
                reply = client.request({"cmd": "sale", "amount": "1.00"})
                assert reply["ok"], reply
            ours = count / (time.perf_counter() - start)
            rig.stop()
            assert rig.pt.tcp_url is not None
            with PaymentTerminal(rig.pt.tcp_url) as pt:
                pt.register()
                start = time.perf_counter()
                for _ in range(count):
                    pt.authorize(100)
                bare = count / (time.perf_counter() - start)
        finally:
            rig.close()
    print(f"terminal: {ours:,.1f} sales/s end to end (journal fsync, receipt printed)")
    print(
        f"terminal: bare ZVT sales on the same PT {bare:,.1f}/s; the terminal runs at "
        f"{ours / bare:.2f} of it"
    )
    print(f"terminal: target >= 20 sales/s -> {'MET' if ours >= 20 else 'NOT MET'}")
    figure(
        "terminal: sales end to end",
        ours,
        "sales/s",
        baseline=bare,
        baseline_name="bare ZVT sales, same PT",
        target=">= 20/s",
    )


def line_speed_sale() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        rig = make_rig(
            Path(tmp),
            link="serial",
            pt_args=("--baud", str(ZVT_BAUD)),
            printer_args=("--bytes-per-second", str(PRINTER_BAUD // 10)),
        )
        try:
            rig.start()
            client = ControlClient(rig.socket, timeout=120)
            client.request({"cmd": "sale", "amount": "1.00"})  # warm: registration done
            pt0, pr0 = rig.pt.ctl(stats=True), rig.printer.ctl("status")
            start = time.perf_counter()
            reply = client.request({"cmd": "sale", "amount": "12.50"})
            elapsed = time.perf_counter() - start
            assert reply["ok"], reply
            pt1, pr1 = rig.pt.ctl(stats=True), rig.printer.ctl("status")
        finally:
            rig.close()
    zvt = (pt1["serial_bytes_in"] + pt1["serial_bytes_out"]) - (
        pt0["serial_bytes_in"] + pt0["serial_bytes_out"]
    )
    printer = (pr1["bytes_in"] + pr1["bytes_out"]) - (pr0["bytes_in"] + pr0["bytes_out"])
    bound = zvt * 11 / ZVT_BAUD + printer * 10 / PRINTER_BAUD
    print(
        f"line speed: one sale took {elapsed:.3f} s; {zvt} ZVT bytes at 9600 8N2 and "
        f"{printer} printer bytes at 115200 8N1 need at least {bound:.3f} s"
    )
    print(
        f"line speed: ratio {elapsed / bound:.3f} of the wire-time lower bound "
        f"(target <= 1.10 -> {'MET' if elapsed / bound <= 1.10 else 'NOT MET'})"
    )
    figure(
        "terminal: one sale at line speed",
        elapsed,
        "s",
        baseline=bound,
        baseline_name="wire-time lower bound",
        target="ratio <= 1.10",
    )


if __name__ == "__main__":
    sales_per_second()
    line_speed_sale()

"""ZVT figures: 04 0F messages encoded+decoded per second, and sale round trips per second
over a real pty against the PT simulator with no simulated delay.

Each figure is compared with a baseline measured in the same run:
- codec: against the stdlib's C-accelerated json round trip of the same fields;
- sales: against a bare 80 00 00 command/ack exchange (status enquiry) over the same pty.
Run: .venv/bin/python bench/bench_zvt.py
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.figures import figure  # noqa: E402
from posterm.drivers.zvt.client import PaymentTerminal  # noqa: E402
from posterm.protocol.zvt import apdu, messages  # noqa: E402
from posterm.protocol.zvt import pt_messages as pm  # noqa: E402
from tests.support.sim import start_pt  # noqa: E402

TYPICAL_040F = pm.StatusInformation(
    result_code=0,
    amount=1250,
    currency=978,
    trace=123,
    time="123456",
    date="1122",
    expiry="2812",
    card_seq_no=1,
    payment_type=0x40,
    pan="476173******0119",
    terminal_id="29001234",
    vu_number="VU-POSTERM-0001",
    aid=bytes.fromhex("A000000003101000"),
    receipt_no=42,
    turnover_no=4242,
    card_type=0x0A,
    card_name="VISA",
)


def _rate(fn: object, seconds: float = 2.0) -> float:
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(100):
            fn()  # type: ignore[operator]
        count += 100
    return count / elapsed


def bench_codec() -> None:
    raw = TYPICAL_040F.to_apdu().encode()

    def roundtrip() -> None:
        messages.decode(apdu.decode(messages.encode(TYPICAL_040F).encode()))

    fields = {k: v for k, v in vars(TYPICAL_040F).items() if v not in (None, ())}
    fields["aid"] = fields["aid"].hex()

    def baseline() -> None:
        json.loads(json.dumps(fields))

    codec = _rate(roundtrip)
    floor = _rate(baseline)
    print(f"codec: {codec:,.0f} typical 04 0F ({len(raw)} bytes) encoded+decoded per second")
    print(
        f"codec: baseline stdlib json round trip of the same fields {floor:,.0f}/s;"
        f" the ZVT codec runs at {codec / floor:.2f}x of it"
    )
    print(f"codec: target >= 20,000/s -> {'MET' if codec >= 20000 else 'NOT MET'}")
    figure(
        "zvt: 04 0F encode+decode",
        codec,
        "/s",
        baseline=floor,
        baseline_name="stdlib json round trip",
        target=">= 20,000/s",
    )


def bench_sales(seconds: float = 3.0) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sim = start_pt(Path(tmp), tcp=False)
        try:
            assert sim.serial_url is not None
            with PaymentTerminal(sim.serial_url) as pt:
                pt.register()
                sales = _timed(lambda: pt.authorize(1000), seconds)
                enquiries = _timed(pt.status_enquiry, seconds)
        finally:
            sim.stop()
    print(f"pty: {sales:,.1f} sale round trips per second (register once, then 06 01 ... 06 0F)")
    print(f"pty: baseline status enquiry {enquiries:,.1f}/s; a sale costs {enquiries / sales:.2f}x")
    print(f"pty: target >= 50 sales/s -> {'MET' if sales >= 50 else 'NOT MET'}")
    figure(
        "zvt: sale round trips over a pty",
        sales,
        "sales/s",
        baseline=enquiries,
        baseline_name="status enquiries",
        target=">= 50/s",
    )


def _timed(fn: object, seconds: float) -> float:
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        fn()  # type: ignore[operator]
        count += 1
    return count / elapsed


if __name__ == "__main__":
    bench_codec()
    bench_sales()

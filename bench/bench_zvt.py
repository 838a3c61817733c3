"""ZVT figures: 04 0F messages encoded+decoded per second, and sale round trips per second
over a real pty against the PT simulator with no simulated delay.

Each figure is compared with a baseline measured in the same run, interleaved
(bench/runs.py: 5 rounds, each arm >= 5 s a round; the ratio is the median of the rounds'):
- codec: against the stdlib's C-accelerated json round trip of the same fields;
- sales: against a bare 80 00 00 command/ack exchange (status enquiry) over the same pty.
Between the two, the microseconds of each part of the codec (BMPs, APDU header, CRC,
framing, frame parsing) are printed, for profiling: absolute, so noisy on a busy machine.
Run: .venv/bin/python bench/bench_zvt.py (about 2 minutes)
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.figures import figure  # noqa: E402
from bench.runs import interleave  # noqa: E402
from bench.timed import per_second, run_for, timed  # noqa: E402
from posterm.drivers.zvt.client import PaymentTerminal  # noqa: E402
from posterm.protocol.zvt import apdu, bmpset, framing, messages  # noqa: E402
from tests.support.sim import start_pt  # noqa: E402
from tests.zvt.strategies import TYPICAL_040F  # noqa: E402


def bench_codec() -> None:
    raw = TYPICAL_040F.to_apdu().encode()

    def roundtrip() -> None:
        messages.decode(apdu.decode(messages.encode(TYPICAL_040F).encode()))

    fields = {k: v for k, v in vars(TYPICAL_040F).items() if v not in (None, ())}
    fields["aid"] = fields["aid"].hex()

    def baseline() -> None:
        json.loads(json.dumps(fields))

    runs = interleave({"codec": timed(roundtrip, batch=100), "json": timed(baseline, batch=100)})
    codec, floor = runs.rate("codec"), runs.rate("json")
    ratio = runs.ratio("codec", "json")
    print(f"codec: {per_second(codec, 0)} typical 04 0F ({len(raw)} bytes) encoded+decoded")
    print(
        f"codec: baseline stdlib json round trip of the same fields {per_second(floor, 0)};"
        f" the ZVT codec runs at {ratio}x of it"
    )
    print(f"codec: target >= 20,000/s -> {'MET' if codec.median >= 20000 else 'NOT MET'}")
    figure(
        "zvt: 04 0F encode+decode",
        codec.median,
        "/s",
        baseline=floor.median,
        baseline_name="stdlib json round trip",
        target=">= 20,000/s",
        spread=ratio,
    )


def codec_parts() -> None:
    """Where a round trip's microseconds go, part by part (best of 3 half-second runs each:
    absolute and noisy on a busy machine, for profiling, not a figure)."""
    raw = messages.encode(TYPICAL_040F).encode()
    unit, frame = apdu.decode(raw), framing.encode_frame(raw)
    parts: dict[str, Callable[[], object]] = {
        "encode: the BMPs": lambda: bmpset.encode(TYPICAL_040F),
        "encode: the APDU header": unit.encode,
        "decode: the APDU header": lambda: apdu.decode(raw),
        "decode: the BMPs into the message": lambda: messages.decode(unit),
        "serial: CRC-16/KERMIT": lambda: framing.frame_crc(raw),
        "serial: framing (CRC + DLE stuffing)": lambda: framing.encode_frame(raw),
        "serial: parsing the frame": lambda: framing.FrameParser().feed(frame, 0.0),
    }
    for name, fn in parts.items():
        best = max(run_for(fn, 0.5, 100).rate for _ in range(3))
        print(f"codec part: {name}: {1e6 / best:.2f} us")


def bench_sales() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sim = start_pt(Path(tmp), tcp=False)
        try:
            assert sim.serial_url is not None
            with PaymentTerminal(sim.serial_url) as pt:
                pt.register()
                runs = interleave(
                    {
                        "sales": timed(lambda: pt.authorize(1000)),
                        "enquiries": timed(pt.status_enquiry),
                    }
                )
        finally:
            sim.stop()
    sales, enquiries = runs.rate("sales"), runs.rate("enquiries")
    ratio = runs.ratio("sales", "enquiries")
    print(f"pty: {per_second(sales)} sale round trips (register once, then 06 01 ... 06 0F)")
    print(
        f"pty: baseline status enquiry {per_second(enquiries)}; a sale runs at {ratio} of its rate"
    )
    print(f"pty: target >= 50 sales/s -> {'MET' if sales.median >= 50 else 'NOT MET'}")
    figure(
        "zvt: sale round trips over a pty",
        sales.median,
        "sales/s",
        baseline=enquiries.median,
        baseline_name="status enquiries",
        target=">= 50/s",
        spread=ratio,
    )


if __name__ == "__main__":
    bench_codec()
    codec_parts()
    bench_sales()

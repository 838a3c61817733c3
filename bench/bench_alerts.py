"""What the alert rules cost posterm-host's one thread: events stored per second with and
without them (`Store.ingest` against `Alerter.ingest`, the event rules and webhook queue in
the same transaction), and one run of the time-based rules (`Alerter.tick`) over the fleet.

Each sale has its own masked PAN (double charges are rare, as in life), one sale in 50 is
in doubt first and one in-doubt sale in 100 stays unresolved. SQLite in a temporary
directory, a fresh database each run; the arms interleaved (bench/runs.py: 5 rounds, each
arm >= 5 s of ingest a round); the ratio is the median of the rounds' ratios.

Run: .venv/bin/python bench/bench_alerts.py [TERMINALS] (about 1 minute)
"""

from __future__ import annotations

import itertools
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.figures import figure  # noqa: E402
from bench.runs import MIN_SECONDS, Sample, interleave  # noqa: E402
from bench.timed import per_second  # noqa: E402
from posterm.host.alerts.engine import Alerter  # noqa: E402
from posterm.host.alerts.rules import Limits  # noqa: E402
from posterm.host.store import Store  # noqa: E402
from posterm.protocol.mqtt.events import envelope  # noqa: E402

BATCH = 500


def stream(terminals: int) -> Iterator[dict[str, Any]]:
    """Events without end, as the fleet sends them (each envelope a new event_id)."""
    seq: dict[str, int] = {}
    for j in itertools.count():
        tid = f"pos-{j % terminals:04d}"
        seq[tid] = seq.get(tid, 0) + 1
        data = {
            "txn_id": f"T{j}",
            "amount": f"{1 + j % 97}.00",
            "currency": "EUR",
            "masked_pan": f"476173******{j % 9973:04d}",
        }
        if j % 50 == 0:
            yield envelope(tid, seq[tid], "sale.in_doubt", data)
            if j % 5000:
                seq[tid] += 1
                yield envelope(tid, seq[tid], "sale.recovered", {**data, "state": "approved"})
        else:
            yield envelope(tid, seq[tid], "sale.approved", data)


def arm(tmp: Path, name: str, terminals: int, ticks: list[float]) -> Callable[[], Sample]:
    """One run: a fresh store of `terminals` online terminals, batches of 500 events until
    MIN_SECONDS of ingest (the events are made outside the clock); then one forced tick."""
    runs = itertools.count()

    def run() -> Sample:
        store = Store(f"sqlite://{tmp / f'{name}-{next(runs)}'}.db")
        alerter = Alerter(store, Limits())
        for i in range(terminals):
            store.saw_status(f"pos-{i:04d}", {"online": True, "session": 1})
            store.saw_telemetry(f"pos-{i:04d}", {"paper": "ok", "period_s": 60})
        ingest = store.ingest if name == "Store.ingest" else alerter.ingest
        source = stream(terminals)
        done, spent = 0, 0.0
        while spent < MIN_SECONDS:
            batch = list(itertools.islice(source, BATCH))
            start = time.perf_counter()
            ingest(batch)
            spent += time.perf_counter() - start
            done += len(batch)
        start = time.perf_counter()
        alerter.tick(force=True)
        ticks.append((time.perf_counter() - start) * 1000)
        store.close()
        return Sample(done, spent)

    return run


def main() -> None:
    terminals = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    logging.disable(logging.WARNING)
    ticks: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        runs = interleave(
            {
                name: arm(Path(tmp), name, terminals, ticks)
                for name in ("Alerter.ingest", "Store.ingest")
            }
        )
    rules, bare = runs.rate("Alerter.ingest"), runs.rate("Store.ingest")
    ratio = runs.ratio("Alerter.ingest", "Store.ingest")
    print(
        f"alerts: with the event rules (Alerter.ingest) {per_second(rules, 0)} events, "
        f"batches of {BATCH}"
    )
    print(f"alerts: without them (Store.ingest) {per_second(bare, 0)} events; ratio {ratio}")
    print(
        f"alerts: tick over {terminals} terminals after each run: median "
        f"{statistics.median(ticks):.0f} ms (max {max(ticks):.0f})"
    )
    figure(
        "alerts: events stored with the event rules",
        rules.median,
        "events/s",
        baseline=bare.median,
        baseline_name="Store.ingest, no rules",
        spread=ratio,
    )


if __name__ == "__main__":
    main()

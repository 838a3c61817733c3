"""What the alert rules cost posterm-host's one thread: events stored per second with and
without them (`Store.ingest` against `Alerter.ingest`, the event rules and webhook queue in
the same transaction), and one run of the time-based rules (`Alerter.tick`) over the fleet.

Each sale has its own masked PAN (double charges are rare, as in life), one sale in 50 is
in doubt first and one in-doubt sale in 100 stays unresolved. SQLite in a temporary
directory; both arms in the same run.

Run: .venv/bin/python bench/bench_alerts.py [TERMINALS] [EVENTS]
"""

from __future__ import annotations

import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from posterm.host.alerts.engine import Alerter
from posterm.host.alerts.rules import Limits
from posterm.host.store import Store
from posterm.protocol.mqtt.events import envelope


def events(terminals: int, count: int) -> list[dict[str, Any]]:
    seq: dict[str, int] = {}
    out = []
    for j in range(count):
        tid = f"pos-{j % terminals:04d}"
        seq[tid] = seq.get(tid, 0) + 1
        data = {
            "txn_id": f"T{j}",
            "amount": f"{1 + j % 97}.00",
            "currency": "EUR",
            "masked_pan": f"476173******{j % 9973:04d}",
        }
        if j % 50 == 0:
            out.append(envelope(tid, seq[tid], "sale.in_doubt", data))
            if j % 5000:
                seq[tid] += 1
                out.append(envelope(tid, seq[tid], "sale.recovered", {**data, "state": "approved"}))
        else:
            out.append(envelope(tid, seq[tid], "sale.approved", data))
    return out


def main() -> None:
    terminals = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 30000
    logging.disable(logging.WARNING)
    evs = events(terminals, count)
    with tempfile.TemporaryDirectory() as tmp:
        for arm in ("Store.ingest", "Alerter.ingest"):
            store = Store(f"sqlite://{Path(tmp) / arm}.db")
            alerter = Alerter(store, Limits())
            for i in range(terminals):
                store.saw_status(f"pos-{i:04d}", {"online": True, "session": 1})
                store.saw_telemetry(f"pos-{i:04d}", {"paper": "ok", "period_s": 60})
            ingest = store.ingest if arm == "Store.ingest" else alerter.ingest
            start = time.perf_counter()
            for k in range(0, len(evs), 500):
                ingest(evs[k : k + 500])
            rate = len(evs) / (time.perf_counter() - start)
            ticks = []
            for _ in range(5):
                start = time.perf_counter()
                alerter.tick(force=True)
                ticks.append((time.perf_counter() - start) * 1000)
            print(
                f"{arm:15} {len(evs)} events, batches of 500: {rate:6.0f} events/s;"
                f" tick over {terminals} terminals: median {statistics.median(ticks):.0f} ms"
                f" (max {max(ticks):.0f})"
            )
            store.close()


if __name__ == "__main__":
    main()

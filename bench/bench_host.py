"""posterm-host's ingest: 1,000 terminals played from this process (`tests/support/fleet.py`:
a few paho connections each publishing for many terminal ids; birth status, telemetry,
bursts of events with a gapless seq per terminal, every ack consumed) against a real
`posterm-host run` process, on a Mosquitto started here, into SQLite and into PostgreSQL
(a throw-away cluster with fsync on, `tests/support/postgres.py`).

Three phases per database:
- throughput: events published as fast as acks allow (at most WINDOW unacked in all, as
  terminals' outboxes would be), first publish to last ack; the CPU each process spent
  per event (/proc), the host's ingest loop (its main thread) apart from paho's thread;
- held load: HELD_RATE events/s offered for HELD_S seconds in bursts from every terminal,
  telemetry from every terminal every 10 s; the lag (events published - events acked)
  sampled every 0.5 s: its lowest point in each 5 s window (a host too slow never comes
  back down: those climb), and how long the last events take once the load stops;
- backlog: half as many events published while the host is down (the broker keeps them in
  its session), then the host started: its first ack to its last, the fleet only reading.

Baseline, in the same run on the same database (the host's own, between its runs, while
it is idle: the same tables and indexes at the same size, growing with both arms; the same
durability: SQLite WAL + synchronous=FULL, PostgreSQL fsync on): a bare loop inserting sale
events of other terminals with the same `INSERT … ON CONFLICT DO NOTHING`, executemany, one
transaction per batch of the host's own mean batch size in that phase (events / distinct
received_at) — what the database alone does with the same commits. (Until 2026-12-05 the
bare loop had a fresh database each run while the host's grew over the rounds: its ratio
fell round after round, 0.51 to 0.40 in one run.) For context also the same loop
committing every event into a fresh database (a naive ingest).

The throughput phase's CPU per event of every process it takes (the host, Mosquitto, the
fleet, the database server) bounds what the machine's cores allow live: cores * 1e6 /
their sum (the live ceiling). Each backlog run also measures the CPU per event of the host
process (and of its ingest loop), of the database server (PostgreSQL: its processes, and
apart the backends of the host's connections) and how busy the machine was: one host
process's Python threads run one at a time, so on PostgreSQL 1e6 / its CPU µs per event
bounds its rate, and that over the bare loop its ratio (the backlog's ceiling; issue 23;
not on SQLite, whose work runs in the host process without the GIL).

The throughput and the backlog are each run 5 times interleaved with their bare loop
(bench/runs.py, the order rotated every round, each run >= 5 s of work): each ratio is the
median of the rounds' own ratios, with its spread. The CPU split is measured over one
throughput run before the rounds.

Run: .venv/bin/python bench/bench_host.py [--quick] [--only sqlite|postgresql]
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import args  # noqa: E402
from bench.host_load import (  # noqa: E402
    HELD_RATE,
    HostProcess,
    backlog,
    cpu_s,
    held,
    host_batches,
    machine_jiffies,
    saturate,
    tree_cpu,
    used_since,
)
from bench.host_report import report  # noqa: E402
from bench.runs import MIN_SECONDS, ROUNDS, Sample, interleave  # noqa: E402
from posterm.host.store import Store  # noqa: E402
from posterm.protocol.mqtt.events import envelope, now_rfc3339  # noqa: E402
from tests.support.broker import Broker  # noqa: E402
from tests.support.fleet import Fleet, sale_data  # noqa: E402
from tests.support.postgres import start_cluster  # noqa: E402

TERMINALS = 1_000
CONNECTIONS = 4
SATURATE_EVENTS = 40_000
HELD_S = 20.0
INSERT = (
    "INSERT INTO events (event_id, terminal, seq, type, occurred_at, received_at,"
    " envelope, txn_id, copy) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (event_id) DO NOTHING"
)


def rows_for(count: int, tag: str, start: int = 1) -> list[tuple[Any, ...]]:
    """`count` sale events of TERMINALS terminals named `tag`-NNNN, seq from `start` on."""
    now = now_rfc3339()
    out = []
    for n in range(start, start + count):
        tid = f"{tag}-{n % TERMINALS:04d}"
        env = envelope(tid, n, "sale.approved", sale_data(n))
        out.append(
            (
                env["event_id"],
                tid,
                n,
                env["type"],
                env["occurred_at"],
                now,
                json.dumps(env),
                env["data"]["txn_id"],
                None,
            )
        )
    return out


def bare_insert(store_url: str, rows: list[tuple[Any, ...]], batch: int) -> float:
    """Rows per second of a bare executemany loop, one transaction per `batch` rows."""
    return bare_sample(store_url, rows, batch).rate


def bare_sample(store_url: str, rows: list[tuple[Any, ...]], batch: int) -> Sample:
    """`bare_insert`'s run: the rows inserted and the seconds it took."""
    Store(store_url).close()  # the schema
    start = time.perf_counter()
    if store_url.startswith("sqlite"):
        db = sqlite3.connect(store_url.removeprefix("sqlite://"), isolation_level=None)
        db.execute("PRAGMA busy_timeout=5000")  # the host's own database: its tick may write
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        start = time.perf_counter()
        for i in range(0, len(rows), batch):
            db.execute("BEGIN IMMEDIATE")
            db.executemany(INSERT, rows[i : i + batch])
            db.execute("COMMIT")
        elapsed = time.perf_counter() - start
        db.close()
    else:
        import psycopg  # noqa: PLC0415

        with psycopg.connect(store_url, autocommit=True) as conn:
            start = time.perf_counter()
            for i in range(0, len(rows), batch):
                with conn.transaction(), conn.cursor() as cur:
                    cur.executemany(INSERT.replace("?", "%s"), rows[i : i + batch])
            elapsed = time.perf_counter() - start
    return Sample(len(rows), elapsed)


def _mean_batch(before: tuple[int, int], after: tuple[int, int]) -> int:
    """The host's mean batch between two `host_batches` readings."""
    return max(1, round((after[0] - before[0]) / max(1, after[1] - before[1])))


def one_database(
    kind: str,
    store_url: str,
    fresh_url: Any,
    work: Path,
    *,
    broker: Broker,
    saturate_events: int,
    held_s: float,
    rounds: int = ROUNDS,
    min_s: float = MIN_SECONDS,
    server: int | None = None,
) -> dict[str, Any]:
    """The three phases on one database; the throughput and the backlog each as `rounds`
    interleaved runs (bench/runs.py) against the bare insert loop with the host's own mean
    batch of the latest run, each run >= `min_s` of work. `server`: the database server's
    pid (PostgreSQL's postmaster), whose processes' CPU each backlog run measures."""
    host = HostProcess(work, broker, f"bench-{kind}", store_url)
    fleet = Fleet(
        broker.port,
        [f"pos-{i:04d}" for i in range(TERMINALS)],
        connections=CONNECTIONS,
        name=f"bench-{kind}",
    )
    state = {"batch": 1, "drain_batch": 1, "top": 0, "rows": saturate_events, "seq": 1}
    # its connections' backends (not autovacuum's workers) by their process titles
    database = f"{urlsplit(store_url).path.lstrip('/')} [local]"

    def bare(which: str) -> Sample:
        """The bare loop into the host's own database, between the host's runs (it is
        idle then): the same tables at the same size, growing with both arms."""
        rows = rows_for(state["rows"], "bare", state["seq"])  # new ids: outside the clock
        state["seq"] += len(rows)
        sample = bare_sample(store_url, rows, state[which])
        # the next run about min_s long: as short as that, so the bare loop's own rows do
        # not grow the database much faster than the host's
        state["rows"] = max(1_000, min(3 * len(rows), round(sample.rate * min_s * 1.2)))
        return sample

    def live() -> Sample:
        before, base, start = host_batches(store_url), fleet.published, time.perf_counter()
        _, top = saturate(fleet, saturate_events // 4, min_s)
        state["top"] = max(state["top"], top)
        after = host_batches(store_url)
        state["batch"] = _mean_batch(before, after)
        state["events"] = after[0]  # in the database (the bare loop's rows too)
        return Sample(fleet.published - base, time.perf_counter() - start)

    try:
        fleet.birth()
        fleet.telemetry()
        saturate(fleet, 2_000)  # warm up
        before = host_batches(store_url)
        pids = {
            "host": host.proc.pid,
            "mosquitto": broker.proc.pid if broker.proc else 0,
            "fleet": os.getpid(),
        }
        cpu0 = {k: cpu_s(p) for k, p in pids.items()}
        loop0 = cpu_s(host.proc.pid, host.proc.pid)  # its main thread: the ingest loop
        server0 = tree_cpu(server) if server else {}
        saturate(fleet, saturate_events)
        cpu = {k: (cpu_s(p) - cpu0[k]) / saturate_events * 1e6 for k, p in pids.items()}
        if server:
            cpu["database server"] = used_since(server0, tree_cpu(server)) / saturate_events * 1e6
        cpu["host's ingest loop"] = (cpu_s(host.proc.pid, host.proc.pid) - loop0) / (
            saturate_events / 1e6
        )
        state["batch"] = _mean_batch(before, host_batches(store_url))
        bare("batch")  # sizes the bare loop's runs to last min_s (not counted)
        print(f"host[{kind}]: ingest vs bare insert loop, {rounds} interleaved rounds")
        throughput = interleave({"ingest": live, "bare": bare_batch(bare)}, rounds, min_s)
        hold = held(fleet, HELD_RATE, held_s)
        alive = host.proc.poll() is None
        host.stop()  # its session stays at the broker (clean_session false)
        state["drain_events"] = saturate_events // 2

        drain_cpu: list[dict[str, float]] = []

        def drained() -> Sample:
            before, events = host_batches(store_url), state["drain_events"]
            restarted: list[HostProcess] = []
            marks: dict[str, Any] = {}

            def restart() -> None:
                host = HostProcess(work, broker, f"bench-{kind}", store_url)
                restarted.append(host)
                pid = host.proc.pid  # up (subscribed): its start-up is not counted
                marks.update(host=cpu_s(pid), loop=cpu_s(pid, pid), machine=machine_jiffies())
                marks["server"] = tree_cpu(server) if server else {}
                marks["backend"] = tree_cpu(server, database) if server else {}

            rate = backlog(fleet, events, restart)
            pid = restarted[0].proc.pid
            ticks, idle = machine_jiffies()
            drain_cpu.append(
                {
                    "host": (cpu_s(pid) - marks["host"]) / events * 1e6,
                    "loop": (cpu_s(pid, pid) - marks["loop"]) / events * 1e6,
                    "server": used_since(marks["server"], tree_cpu(server)) / events * 1e6
                    if server
                    else 0.0,
                    "backend": used_since(marks["backend"], tree_cpu(server, database))
                    / events
                    * 1e6
                    if server
                    else 0.0,
                    "busy": 1 - (idle - marks["machine"][1]) / max(1, ticks - marks["machine"][0]),
                }
            )
            restarted[0].stop()
            state["drain_batch"] = _mean_batch(before, host_batches(store_url))
            if events / rate < min_s:  # the next backlog long enough
                state["drain_events"] = round(rate * min_s * 1.3)
            return Sample(events, events / rate)  # first ack to last

        print(f"host[{kind}]: backlog vs bare insert loop, {rounds} interleaved rounds")
        drain = interleave({"backlog": drained, "bare": bare_drain(bare)}, rounds, min_s)
    finally:
        fleet.close()
        host.stop()
    naive = bare_insert(fresh_url(), rows_for(2_000, "naive"), 1)
    return {
        "kind": kind,
        "throughput": throughput,
        "top_lag": state["top"],
        "events": state.get("events", 0),
        "mean_batch": state["batch"],
        "naive": naive,
        "held": hold,
        "alive": alive,
        "cpu": cpu,
        "drain": drain,
        "drain_batch": state["drain_batch"],
        "drain_events": state["drain_events"],
        "drain_cpu": drain_cpu,
    }


def bare_batch(bare: Any) -> Any:
    return lambda: bare("batch")


def bare_drain(bare: Any) -> Any:
    return lambda: bare("drain_batch")


def main() -> None:
    quick = "--quick" in sys.argv
    picked = args.only(sys.argv, ["sqlite", "postgresql"], __doc__)
    events, seconds = (10_000, 10.0) if quick else (SATURATE_EVENTS, HELD_S)
    min_s = 1.0 if quick else MIN_SECONDS
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        broker = Broker(work / "broker")
        broker.tmp.mkdir()
        broker.start()
        results = []
        try:
            n = [0]

            def sqlite_url() -> str:
                n[0] += 1
                return f"sqlite://{work / f'bare-{n[0]}.db'}"

            def measure(
                kind: str, store_url: str, fresh_url: Any, server: int | None = None
            ) -> None:
                results.append(
                    one_database(
                        kind,
                        store_url,
                        fresh_url,
                        work,
                        broker=broker,
                        saturate_events=events,
                        held_s=seconds,
                        min_s=min_s,
                        server=server,
                    )
                )
                report(results[-1])

            if "sqlite" in picked:
                measure("sqlite", f"sqlite://{work / 'host.db'}", sqlite_url)
            try:
                if "postgresql" not in picked:
                    raise RuntimeError("--only sqlite")
                cluster = start_cluster(durable=True)
            except BaseException as exc:  # pytest's skip outside pytest
                print(f"host[postgresql]: skipped: {exc}")
            else:
                try:
                    measure(
                        "postgresql",
                        cluster.create_database(),
                        cluster.create_database,
                        cluster.pid(),
                    )
                finally:
                    cluster.close()
        finally:
            broker.stop()
    print(
        f"host: {os.cpu_count()} cores; posterm-host, Mosquitto, the fleet and the database "
        "share them"
    )


if __name__ == "__main__":
    main()

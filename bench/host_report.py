"""What bench/bench_host.py prints of one database's run: each phase's figures against
its bare loop and the issue's targets, the CPU per event of every process, and the
ceilings that CPU implies (the live phase's on this machine's cores, one PostgreSQL
host process's on a backlog; issue 23)."""

from __future__ import annotations

import os
import statistics
from typing import Any

from bench.figures import figure
from bench.host_load import BURST, HELD_RATE, WINDOW, WINDOW_S
from bench.runs import Interleaved

TARGET_RATE, TARGET_RATIO = 2_000.0, 0.5


def report(r: dict[str, Any]) -> None:
    k, h = f"host[{r['kind']}]", r["held"]
    short = f"host {'pg' if r['kind'] == 'postgresql' else r['kind']}"  # the table's 44 columns
    live: Interleaved = r["throughput"]
    drain: Interleaved = r["drain"]
    rate, bare = live.rate("ingest"), live.rate("bare")
    ratio, drain_ratio = live.ratio("ingest", "bare"), drain.ratio("backlog", "bare")
    print(
        f"{k}: throughput {rate} events/s (1,000 terminals, bursts of {BURST}, "
        f"<= {WINDOW:,} unacked; highest lag {r['top_lag']:,}; host's mean batch "
        f"{r['mean_batch']} events; the database held {r['events']:,} events after the"
        " last round)"
    )
    print(
        f"{k}: bare insert loop, batches of {r['mean_batch']}: {bare} rows/s -> "
        f"ratio {ratio}; committing every row: {r['naive']:,.0f} rows/s "
        f"-> ratio {rate.median / r['naive']:.2f}"
    )
    minima = h["window_minima"]
    # a host too slow never catches up: the lowest lag of each window climbs by the
    # deficit times the window (>= 1 s of load over the run); one that keeps up comes back
    grows = minima[-1] - minima[0] > HELD_RATE and minima == sorted(minima)
    print(
        f"{k}: backlogs of up to {r['drain_events']:,} events queued while it was down: "
        f"{drain.rate('backlog')} events/s, first ack to last (mean batch "
        f"{r['drain_batch']}); bare insert loop, batches of {r['drain_batch']}: "
        f"{drain.rate('bare')} rows/s -> ratio {drain_ratio}"
    )
    cpu = ", ".join(f"{k} {v:.0f}" for k, v in r["cpu"].items())
    print(f"{k}: CPU per event in the throughput phase (µs): {cpu}")
    live_ceiling(r, k, short, bare.median)
    ceiling(r, k, short, drain.rate("bare").median)
    print(
        f"{k}: held load {h['offered']:,.0f} events/s offered for {h['seconds']:.0f} s: "
        f"lowest lag per {WINDOW_S:.0f} s: {' '.join(f'{m:,}' for m in minima)}; "
        f"highest {h['max_lag']:,}, "
        f"second half mean {h['second_half_mean']:,.0f}, slope {h['slope']:+.1f} events/s "
        f"-> {'GROWS' if grows else 'does not grow'}; the rest acked {h['drain_s']:.1f} s "
        "after the load stopped"
    )
    target = (
        f">= {TARGET_RATE:,.0f}/s, ratio >= {TARGET_RATIO}"
        if r["kind"] == "sqlite"
        else (f"ratio >= {TARGET_RATIO}")
    )
    figure(
        f"{short}: ingest, 1,000 terminals live",
        rate.median,
        "events/s",
        baseline=bare.median,
        baseline_name=f"bare insert loop, batches of {r['mean_batch']}",
        target=target,
        spread=ratio,
    )
    figure(
        f"{short}: ingest of a backlog",
        drain.rate("backlog").median,
        "events/s",
        baseline=drain.rate("bare").median,
        baseline_name=f"bare insert loop, batches of {r['drain_batch']}",
        target=target,
        spread=drain_ratio,
    )
    figure(
        f"{short}: 1,000 terminals live, vs naive",
        rate.median,
        "events/s",
        baseline=r["naive"],
        baseline_name="bare insert loop, a commit per row",
    )
    figure(
        f"{short}: held {HELD_RATE:,}/s, last lowest lag",
        float(minima[-1]),
        "events",
        baseline=float(minima[0]),
        baseline_name=f"the first {WINDOW_S:.0f} s's",
        target="no growth",
    )
    if r["kind"] == "sqlite":
        print(
            f"{k}: target >= {TARGET_RATE:,.0f} events/s -> "
            f"{'MET' if rate.median >= TARGET_RATE else 'NOT MET'}"
        )
    print(
        f"{k}: target >= {TARGET_RATIO} of the bare loop (same batches; median of "
        f"{ratio.rounds} interleaved runs) -> "
        f"{'MET' if ratio.median >= TARGET_RATIO else 'NOT MET'} ({ratio})"
    )
    print(
        f"{k}: target 1,000 terminals at {HELD_RATE:,}/s held without growing lag -> "
        f"{'MET' if not grows and h['offered'] >= 0.95 * HELD_RATE else 'NOT MET'}"
    )


def live_ceiling(r: dict[str, Any], k: str, short: str, bare: float) -> None:
    """What the live phase could reach on this machine at best: every process it takes (the
    host, Mosquitto, the fleet playing the terminals, the database server) shares its
    cores, so events/s <= cores * 1e6 / their CPU µs per event together (the kernel's own
    work, writing the database's files back, not even counted). Over the bare loop: the
    live ratio's bound (issue 23)."""
    parts = {name: us for name, us in r["cpu"].items() if name != "host's ingest loop"}
    cores = os.cpu_count() or 1
    top = cores * 1e6 / sum(parts.values())
    print(
        f"{k}: live, every process's CPU per event together {sum(parts.values()):.0f} µs on"
        f" {cores} cores: {top:,.0f} events/s at most -> {top / bare:.2f} of the bare loop"
        f" ({bare:,.0f} rows/s) at most"
    )
    figure(
        f"{short}: live ceiling, this machine",
        top,
        "events/s",
        baseline=bare,
        baseline_name="bare insert loop (median); cores * 1e6 / all processes' CPU µs",
        target="bounds the live ratio",
    )


def ceiling(r: dict[str, Any], k: str, short: str, bare: float) -> None:
    """The backlog runs' CPU per event and, on PostgreSQL, what one host process could do
    at best: its Python threads (paho's network loop and the ingest loop) run one at a
    time (the GIL), so it takes no more events a second than 1e6 / its CPU µs per event
    (a little more: its system calls run without the GIL); and its database connection's
    server process is one process, 1e6 / its CPU µs. The lower of the two over the bare
    loop bounds the backlog's ratio (issue 23). Not on SQLite, whose work runs in the host
    process, much of it without the GIL (the sqlite3 module lets it go while SQLite
    works): there the host's CPU bounds nothing."""
    runs = r["drain_cpu"]
    if not runs:
        return
    med = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    print(
        f"{k}: backlog, CPU per event (µs, median of {len(runs)} runs): the host process"
        f" {med['host']:.0f} (its ingest loop {med['loop']:.0f}, paho's thread and the rest"
        f" {med['host'] - med['loop']:.0f}); the database server {med['server']:.0f} (the"
        f" host's connections {med['backend']:.0f}); the machine's {os.cpu_count()} cores"
        f" {100 * med['busy']:.0f} % busy"
    )
    if r["kind"] != "postgresql":
        return
    top = 1e6 / max(med["host"], med["backend"])
    print(
        f"{k}: backlog: one process, its threads one at a time: about {top:,.0f} events/s"
        f" at most -> about {top / bare:.2f} of the bare loop ({bare:,.0f} rows/s) at most"
    )
    figure(
        f"{short}: backlog's ceiling, one process",
        top,
        "events/s",
        baseline=bare,
        baseline_name="bare insert loop (median); 1e6 / the host process's CPU µs per event",
        target="bounds the backlog ratio",
    )

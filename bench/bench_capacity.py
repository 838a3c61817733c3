"""Capacity in terminals (issue 23): the largest fleet one host ingests at lunch-hour peak.

The peak of N terminals, played from this process (`tests/support/fleet.py`, as
bench/bench_host.py does): every terminal sells once every SALE_EVERY_S seconds, each sale
SALE_EVENTS events (the Fleet's `sale.approved` envelopes, a burst from one terminal, its
seqs gapless), one sale in REFUND_EVERY followed by a refund of as many events (5 %),
telemetry from every terminal every TELEMETRY_EVERY_S seconds; offered for OFFER_S seconds
to a real `posterm-host run` on its own Mosquitto. The lag is bench/lag.py's: the age of
the oldest unacked event; N is kept up when it stays < 2 s once the load has settled.

The search over N (per setup, a few trials): start at the target; a trial that keeps up
doubles N (or goes halfway to the smallest N that did not); a trial that falls behind
stops as soon as it has failed and gives the host's ack rate meanwhile, so the next N is
90 % of what that rate would carry (kept inside the bracket). The figure is the largest N
that kept up.

Setups: one process on SQLite; one on PostgreSQL (a throw-away cluster, fsync on); 2 and 3
processes (`[mqtt] share_group`, `run --instance N`) on one PostgreSQL database. Each setup
has its own broker, database and fleet. The CPU every process took during each trial is
shown as a share of the machine, the load generator's (this process) included: it runs on
the same cores and bounds what can be shown here; a trial where it could not offer 95 % of
the peak's rate says so and counts as not kept up.

Run: .venv/bin/python bench/bench_capacity.py [--quick] [--only SETUP[,SETUP]] (SETUP:
sqlite, pg1, pg3, pg2; pg2 starts between pg1's and pg3's figures, or at 2,500 without them)
"""

from __future__ import annotations

import itertools
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import args  # noqa: E402
from bench.bench_host import CONNECTIONS  # noqa: E402
from bench.figures import figure  # noqa: E402
from bench.host_load import BIN, cpu_s  # noqa: E402
from bench.lag import DEFINITION, LIMIT_S, SETTLE_S, keeps_up, lag_s  # noqa: E402
from tests.support.broker import Broker, wait_for  # noqa: E402
from tests.support.fleet import Fleet  # noqa: E402
from tests.support.postgres import Cluster, start_cluster  # noqa: E402

SALE_EVERY_S = 20.0
SALE_EVENTS = 4
REFUND_EVERY = 20  # one sale in 20 is refunded: 5 %
TELEMETRY_EVERY_S = 10.0
EVENTS_PER_TERMINAL_S = SALE_EVENTS * (1 + 1 / REFUND_EVERY) / SALE_EVERY_S  # 0.21
OFFER_S = 30.0
MAX_N = 40_000  # the fleet of 40,000 takes about half the machine to play
STEP = 250  # N is rounded to it
OFFERED_ENOUGH = 0.95  # of the peak's event rate, else the generator was the bottleneck


@dataclass
class Trial:
    n: int
    kept_up: bool  # lag_ok and the peak was offered
    lag_ok: bool  # bench/lag.py keeps_up
    seconds: float  # of load offered (a failing trial stops early)
    offered: float  # events/s reached
    acked: float  # events/s acked after the settling time
    top_lag: float  # highest lag after the settling time, s
    cpu: dict[str, float]  # share of the machine (all cores) per process group
    load: float  # 1-minute load average at its end
    generator_bound: bool = False
    host_us: float = 0.0  # posterm-host CPU per message (event or telemetry), µs
    rest_s: float = 0.0  # until everything sent was ingested, after the load stopped


@dataclass
class Setup:
    name: str  # "sqlite, 1 process"
    short: str  # for the figure's 44 columns
    store_url: Callable[[], str]
    instances: int  # 0: one plain process; k: k processes sharing a group
    start_n: int
    trials: int
    target: int | None = None
    runs: list[Trial] = field(default_factory=list)


class Hosts:
    """`posterm-host run` processes on one broker and store: one plain, or `instances`
    sharing `[mqtt] share_group` with `--instance 1..k`."""

    def __init__(self, work: Path, broker: Broker, name: str, store: str, instances: int):
        config = work / f"{name}.toml"
        share = 'share_group = "capacity"\n' if instances else ""
        config.write_text(
            f'[host]\nid = "{name}"\n[mqtt]\nurl = "{broker.url}"\n{share}'
            f'[store]\nurl = "{store}"\n'
        )
        self.procs: list[subprocess.Popen[bytes]] = []
        for i in range(1, max(1, instances) + 1):
            log = work / f"{name}-{i}.log"
            extra = ["--instance", str(i)] if instances else []
            self.procs.append(
                subprocess.Popen(
                    [str(BIN / "posterm-host"), "--config", str(config), "run", *extra],
                    stdout=log.open("w"),
                    stderr=subprocess.STDOUT,
                )
            )
            wait_for(lambda log=log: "ingesting" in log.read_text(), f"{name}-{i} up", 60)

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:  # busy with a backlog nobody needs any more
                proc.kill()
                proc.wait(10)


def _cpu(pid: int) -> float:
    try:
        return cpu_s(pid)
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0


def _children(parent: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == parent:
                out.append(int(entry.name))
    return out


def _groups(hosts: Hosts, broker: Broker, cluster: Cluster | None) -> dict[str, list[int]]:
    groups = {
        "fleet (load generator)": [os.getpid()],
        "posterm-host": [p.pid for p in hosts.procs],
        "mosquitto": [broker.proc.pid] if broker.proc else [],
    }
    if cluster is not None:
        postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
        groups["postgresql"] = [postmaster, *_children(postmaster)]
    return groups


def _oldest_age(fleet: Fleet, tids: list[str]) -> float:
    with fleet.lock:
        return lag_s(
            (at for tid in tids for _, _, at in fleet.outbox[tid].values()), time.monotonic()
        )


def trial(fleet: Fleet, n: int, seconds: float, groups: dict[str, list[int]], probes: int) -> Trial:
    """Offer the peak of the first `n` terminals for `seconds` (less once it has failed);
    then wait until every event is acked."""
    tids = fleet.tids
    cpu0 = {k: sum(_cpu(p) for p in pids) for k, pids in groups.items()}
    start = time.monotonic()
    base, acked_base = fleet.published, fleet.acked
    samples: list[tuple[float, float]] = []
    sales = teles = 0
    settled: tuple[float, int] | None = None
    next_sample = 0.0
    while (now := time.monotonic() - start) < seconds:
        for _ in range(int(now * n / SALE_EVERY_S) - sales):
            tid = tids[sales % n]
            fleet.emit(tid, SALE_EVENTS)
            sales += 1
            if sales % REFUND_EVERY == 0:
                fleet.emit(tid, SALE_EVENTS)
        for _ in range(int(now * n / TELEMETRY_EVERY_S) - teles):
            fleet.telemetry_of(tids[teles % n])
            teles += 1
        if now >= next_sample:
            samples.append((now, _oldest_age(fleet, tids)))
            next_sample += 0.5
            if settled is None and now >= SETTLE_S:
                settled = (now, fleet.acked)
            # failed for good: stop once the ack rate has had 5 s to show
            if not keeps_up(samples) and settled is not None and now >= SETTLE_S + 5:
                break
        time.sleep(0.005)
    elapsed = time.monotonic() - start
    cpu = {
        k: (sum(_cpu(p) for p in pids) - cpu0[k]) / (elapsed * (os.cpu_count() or 1))
        for k, pids in groups.items()
    }
    offered = (fleet.published - base) / elapsed
    host_s = sum(_cpu(p) for p in groups["posterm-host"]) - cpu0["posterm-host"]
    acked = (
        (fleet.acked - settled[1]) / (elapsed - settled[0])
        if settled is not None and elapsed > settled[0]
        else (fleet.acked - acked_base) / elapsed
    )
    expected = EVENTS_PER_TERMINAL_S * n
    bound = offered < OFFERED_ENOUGH * expected
    result = Trial(
        n=n,
        kept_up=keeps_up(samples) and not bound,
        lag_ok=keeps_up(samples),
        seconds=elapsed,
        offered=offered,
        acked=acked,
        top_lag=max((lag for at, lag in samples if at >= SETTLE_S), default=0.0),
        cpu=cpu,
        load=os.getloadavg()[0],
        generator_bound=bound,
        host_us=host_s / max(1, fleet.published - base + teles) * 1e6,
    )
    if result.lag_ok:  # else its world is torn down at once: nothing more to learn
        result.rest_s = settle(fleet, probes)
    return result


def settle(fleet: Fleet, probes: int) -> float:
    """Seconds until the hosts are through what was sent: the events acked, then `probes`
    more (several per process: a shared subscription hands them round) acked, each
    process's queue keeping the broker's order, telemetry and statuses before them."""
    start = time.monotonic()
    wait_for(lambda: fleet.unacked() == 0, "every event acked after the load", 300)
    for tid in fleet.tids[:probes]:
        fleet.emit(tid)
    wait_for(lambda: fleet.unacked() == 0, "the probes acked", 300)
    return time.monotonic() - start


def next_n(runs: list[Trial]) -> int | None:
    """The next N to try, or None when the bracket is as narrow as a step."""
    passed = [t.n for t in runs if t.kept_up]
    failed = [t.n for t in runs if not t.kept_up]
    lo, hi = max(passed, default=0), min(failed, default=None)
    last = runs[-1]
    if hi is None:
        guess = 2 * lo
    else:
        middle = int(math.sqrt(lo * hi)) if lo else hi // 2  # the bracket may span 10x
        guess = middle
        if not last.kept_up:  # what its ack rate would carry
            guess = int(0.9 * last.acked / EVENTS_PER_TERMINAL_S)
            if not lo < guess < hi:
                guess = middle
    guess = min(MAX_N, max(STEP, round(guess / STEP) * STEP))
    if guess in {t.n for t in runs} or (hi is not None and hi - lo <= STEP):
        return None
    return guess


def run_setup(setup: Setup, work: Path, cluster: Cluster | None, seconds: float) -> None:
    n: int | None = setup.start_n
    while n is not None and len(setup.runs) < setup.trials:
        t = fresh_trial(setup, n, work, cluster, seconds)
        setup.runs.append(t)
        say_trial(setup, t)
        n = next_n(setup.runs)


def fresh_trial(setup: Setup, n: int, work: Path, cluster: Cluster | None, seconds: float) -> Trial:
    """One trial in a world of its own: a new broker, database, host processes and a fleet
    of exactly `n` terminals (a terminal left silent would be alerted stale, and the
    time-based alert rules read every terminal's row each second: the fleet is the load)."""
    name = f"{setup.short.replace(' ', '-')}-{len(setup.runs) + 1}"
    broker = Broker(work / name)
    broker.tmp.mkdir()
    broker.start()
    hosts = fleet = None
    try:
        hosts = Hosts(work, broker, name, setup.store_url(), setup.instances)
        tids = [f"pos-{i:05d}" for i in range(n)]
        fleet = Fleet(broker.port, tids, connections=CONNECTIONS, name=f"cap-{name}")
        fleet.birth()
        probes = min(n, 4 * max(1, setup.instances))
        born = settle(fleet, probes)
        print(f"capacity[{setup.name}]: {n:,} births ingested in {born:.0f} s", flush=True)
        return trial(fleet, n, seconds, _groups(hosts, broker, cluster), probes)
    finally:
        if fleet is not None:
            fleet.close()
        if hosts is not None:
            hosts.stop()
        broker.stop()


def say_trial(setup: Setup, t: Trial) -> None:
    cpu = ", ".join(f"{k} {v:.0%}" for k, v in t.cpu.items())
    verdict = "keeps up" if t.lag_ok else "falls behind"
    if t.generator_bound:
        short = t.offered / (EVENTS_PER_TERMINAL_S * t.n)
        verdict += f" (NOT SHOWN: the load generator offered only {short:.0%} of the peak)"
    rest = f" the rest ingested {t.rest_s:.1f} s after;" if t.lag_ok else ""
    print(
        f"capacity[{setup.name}]: N={t.n:,}: offered {t.offered:,.0f} events/s"
        f" (peak {EVENTS_PER_TERMINAL_S * t.n:,.0f}) + {t.n / TELEMETRY_EVERY_S:,.0f}"
        f" telemetry/s for {t.seconds:.0f} s; acked {t.acked:,.0f}/s; highest lag"
        f" {t.top_lag:.1f} s -> {verdict};{rest}"
        f" posterm-host CPU {t.host_us:,.0f} µs per message; CPU as a share of the"
        f" machine: {cpu}; load average {t.load:.1f}",
        flush=True,
    )


def conclude(setup: Setup) -> None:
    kept = [t for t in setup.runs if t.kept_up]
    best = max(kept, key=lambda t: t.n) if kept else None
    failed = [t.n for t in setup.runs if not t.kept_up]
    above = [n for n in failed if best is None or n > best.n]
    n = best.n if best else 0
    bound = any(t.generator_bound for t in setup.runs)
    bracket = f" (smallest N that did not: {min(above):,})" if above else " (none failed)"
    gen = (
        f"; the load generator took {best.cpu['fleet (load generator)']:.0%} of the machine"
        if best
        else ""
    )
    print(
        f"capacity[{setup.name}]: largest fleet kept up at peak: {n:,} terminals"
        f"{bracket}{gen}{'; some trials bounded by the load generator' if bound else ''}"
    )
    target = f">= {setup.target:,} (lag < {LIMIT_S:.0f} s)" if setup.target else ""
    figure(f"capacity {setup.short}", float(n), "terminals", target=target)
    if setup.target:
        met = "MET" if n >= setup.target else "NOT MET"
        print(f"capacity[{setup.name}]: target >= {setup.target:,} terminals -> {met}")


SETUPS = ("sqlite", "pg1", "pg3", "pg2")


def main() -> None:
    quick = "--quick" in sys.argv
    only = args.only(sys.argv, list(SETUPS), __doc__)
    seconds = 10.0 if quick else OFFER_S
    print(
        f"capacity: peak per terminal: a sale every {SALE_EVERY_S:.0f} s of {SALE_EVENTS}"
        f" events, 1 in {REFUND_EVERY} refunded ({SALE_EVENTS} events), telemetry every"
        f" {TELEMETRY_EVERY_S:.0f} s = {EVENTS_PER_TERMINAL_S:.2f} events/s +"
        f" {1 / TELEMETRY_EVERY_S:.1f} telemetry/s; offered {seconds:.0f} s per trial"
        f"{' (--quick: under the issue 30 s)' if quick else ''}"
    )
    print(f"capacity: {DEFINITION}")
    print(f"capacity: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        trials = 2 if quick else 5
        files = itertools.count(1)
        sqlite = Setup(
            "sqlite, 1 process",
            "sqlite 1 proc",
            lambda: f"sqlite://{work / f'host-{next(files)}.db'}",
            0,
            5_000,
            trials,
            5_000,
        )
        if "sqlite" in only:
            run_setup(sqlite, work, None, seconds)
            conclude(sqlite)
        if not only & {"pg1", "pg2", "pg3"}:
            return
        try:
            cluster = start_cluster(durable=True)
        except BaseException as exc:  # pytest's skip outside pytest
            print(f"capacity[postgresql]: skipped: {exc}")
            return
        try:
            setups = [
                Setup(
                    "postgresql, 1 process", "pg 1 proc", cluster.create_database, 0, 5_000, trials
                ),
                Setup(
                    "postgresql, 3 processes (--instance 1..3)",
                    "pg 3 procs",
                    cluster.create_database,
                    3,
                    10_000,
                    trials,
                    10_000,
                ),
            ]
            for setup, key in zip(setups, ("pg1", "pg3"), strict=True):
                if key in only:
                    run_setup(setup, work, cluster, seconds)
                    conclude(setup)
            if "pg2" not in only:
                return
            two = Setup(
                "postgresql, 2 processes (--instance 1..2)",
                "pg 2 procs",
                cluster.create_database,
                2,
                max(STEP, (_best(setups[0]) + _best(setups[1])) // 2 // STEP * STEP)
                if setups[0].runs and setups[1].runs
                else 2_500,
                2,
            )
            run_setup(two, work, cluster, seconds)
            conclude(two)
        finally:
            cluster.close()
    print(f"capacity: load average {os.getloadavg()[0]:.1f} at the end")


def _best(setup: Setup) -> int:
    return max((t.n for t in setup.runs if t.kept_up), default=0)


if __name__ == "__main__":
    main()

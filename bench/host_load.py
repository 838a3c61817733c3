"""The fleet's load on a real `posterm-host run` (bench/bench_host.py, bench_capacity.py):
the host process, the CPU a process or thread used, and the three ways events are offered
(as fast as acks allow, held at a rate with the lag sampled, a backlog waiting in the
broker's session)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from posterm.host.store import Store
from tests.support.broker import Broker, wait_for
from tests.support.fleet import Fleet

BIN = Path(sys.executable).parent
BURST = 4  # events per terminal per burst
WINDOW = 5_000  # unacked events at most, in the throughput phase
WINDOW_S = 5.0  # the lag's lowest point per window: a host that keeps up comes back down
HELD_RATE = 2_000  # events/s offered in bench_host's held phase


class HostProcess:
    def __init__(self, work: Path, broker: Broker, name: str, store_url: str) -> None:
        self.config = work / f"{name}.toml"
        self.config.write_text(
            f'[host]\nid = "{name}"\n[mqtt]\nurl = "{broker.url}"\n[store]\nurl = "{store_url}"\n'
        )
        self.log = work / f"{name}.log"
        self.proc = subprocess.Popen(
            [str(BIN / "posterm-host"), "--config", str(self.config), "run"],
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )
        wait_for(lambda: "ingesting" in self.log.read_text(), "posterm-host up")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def cpu_s(pid: int, thread: int | None = None) -> float:
    """CPU seconds (user + system) a process has used, every thread or one."""
    stat = Path(f"/proc/{pid}/task/{thread}/stat" if thread else f"/proc/{pid}/stat")
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu(root: int, titled: str = "") -> dict[int, float]:
    """CPU seconds of a process and of each of its children (a PostgreSQL server's
    postmaster, its backends and workers), by pid; those gone meanwhile are not there.
    `titled`: only those whose command line (PostgreSQL's process title: a backend's names
    its database) holds it."""
    found: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            title = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:  # gone meanwhile
            continue
        pid = int(entry.name)
        if (pid == root or int(fields[1]) == root) and titled in title:
            found[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return found


def used_since(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds the processes of `after` used since `before` (a new one: all of its)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def machine_jiffies() -> tuple[int, int]:
    """(all, idle) clock ticks of every core since boot (/proc/stat)."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(ticks), ticks[3] + ticks[4]  # idle and iowait


def saturate(fleet: Fleet, events: int, min_s: float = 0.0) -> tuple[float, int]:
    """Events/s from the first publish to the last ack (at least `events`, and publishing
    for at least `min_s`); the highest lag seen."""
    start = time.perf_counter()
    base = fleet.published
    tids, i, top = fleet.tids, 0, 0
    while fleet.published - base < events or time.perf_counter() - start < min_s:
        lag = fleet.unacked()
        top = max(top, lag)
        if lag >= WINDOW:
            time.sleep(0.002)
            continue
        fleet.emit(tids[i % len(tids)], BURST)
        i += 1
    wait_for(lambda: fleet.unacked() == 0, "every event acked", 600)
    return (fleet.published - base) / (time.perf_counter() - start), top


def held(fleet: Fleet, rate: float, seconds: float) -> dict[str, Any]:
    """Offer `rate` events/s for `seconds`; lag samples, the offered rate reached, the time
    to ack the rest after the load stops."""
    tids = fleet.tids
    start = time.perf_counter()
    base = fleet.published
    samples: list[tuple[float, int]] = []
    next_sample, next_tele, i, t = 0.0, 0.0, 0, 0
    while (now := time.perf_counter() - start) < seconds:
        due = int(rate * now) - (fleet.published - base)
        while due >= BURST:
            fleet.emit(tids[i % len(tids)], BURST)
            i += 1
            due -= BURST
        if now >= next_tele:  # every terminal every 10 s: a tenth of them each second
            for tid in tids[t % len(tids) : t % len(tids) + len(tids) // 10]:
                fleet.telemetry_of(tid)
            t += len(tids) // 10
            next_tele += 1.0
        if now >= next_sample:
            samples.append((now, fleet.unacked()))
            next_sample += 0.5
        time.sleep(0.005)
    offered = (fleet.published - base) / (time.perf_counter() - start)
    stop = time.perf_counter()
    wait_for(lambda: fleet.unacked() == 0, "every event acked after the load", 600)
    half = samples[len(samples) // 2 :]
    lows = (  # a window without a sample (the fleet's loop held up longer): none
        min((lag for at, lag in samples if w <= at < w + WINDOW_S), default=None)
        for w in range(0, int(seconds), int(WINDOW_S))
    )
    windows = [low for low in lows if low is not None]
    return {
        "offered": offered,
        "drain_s": time.perf_counter() - stop,
        "samples": samples,
        "slope": _slope(half),
        "max_lag": max(lag for _, lag in samples),
        "second_half_mean": statistics.mean(lag for _, lag in half),
        "window_minima": windows,
        "seconds": seconds,
    }


def backlog(fleet: Fleet, events: int, restart: Any) -> float:
    """Events/s of a host started on a backlog: `events` published while it was down (the
    broker keeps them in its session), its first ack to its last; the fleet only reads."""
    for i in range(events // BURST):
        fleet.emit(fleet.tids[i % len(fleet.tids)], BURST)
    clock: dict[str, float] = {}

    def on_ack(count: int) -> None:
        clock.setdefault("first", time.perf_counter())
        if fleet.unacked() == 0:
            clock["last"] = time.perf_counter()

    fleet.on_ack = on_ack
    fleet.flush()  # the broker has every event (their PUBACKs)
    restart()
    wait_for(lambda: "last" in clock, "the backlog acked", 600)
    fleet.on_ack = None
    return events / (clock["last"] - clock["first"])


def _slope(points: list[tuple[float, int]]) -> float:
    """Least-squares slope, events per second."""
    xs, ys = [p[0] for p in points], [float(p[1]) for p in points]
    mx, my = statistics.mean(xs), statistics.mean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def host_batches(store_url: str) -> tuple[int, int]:
    """(events stored, commits): each batch has one received_at (ms)."""
    store = Store(store_url)
    try:
        rows = store.db.rows("SELECT COUNT(*) AS n, COUNT(DISTINCT received_at) AS b FROM events")
    finally:
        store.close()
    return int(rows[0]["n"]), int(rows[0]["b"])

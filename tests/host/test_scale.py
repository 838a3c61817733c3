"""posterm-host at scale and under failure, against a real Mosquitto: two `run` processes
sharing `$share/…` subscriptions and one PostgreSQL database (one SIGKILLed mid-stream),
exactly once across a SIGKILL between the commit and the acks (the real postermd), and a
PostgreSQL stopped and started again while events flow."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from posterm.host.store import Store
from tests.host.test_host import Host, unacked
from tests.support.broker import Broker, wait_for
from tests.support.fleet import Fleet
from tests.support.postgres import Cluster
from tests.support.rig import Rig, make_rig, mqtt_section
from tests.support.sim import BIN

pytestmark = pytest.mark.slow  # every test here starts a process (tests/support/tiers.py)


class HostProc(Host):
    """`posterm-host run` on a given store, maybe one of several (`--instance`)."""

    def __init__(
        self, tmp: Path, broker: Broker, store_url: str, *, share_group: str | None = None
    ) -> None:
        super().__init__(tmp, broker)
        self.store_url = store_url
        share = f'share_group = "{share_group}"\n' if share_group else ""
        self.config.write_text(
            f'[host]\nid = "hq"\nreply_timeout_s = 20\n[mqtt]\nurl = "{broker.url}"\n{share}'
            f'[store]\nurl = "{store_url}"\n[keys]\nprivate_key = "{self.key}"\n'
        )

    def start(self, instance: str | None = None, env: dict[str, str] | None = None) -> None:
        self.logs += 1
        self.log = self.tmp / f"host-{instance or 'hq'}-{self.logs}.log"
        args = ["--instance", instance] if instance else []
        self.proc = subprocess.Popen(
            [
                str(BIN / "posterm-host"),
                "--config",
                str(self.config),
                "run",
                *args,
                "--metrics",
                f"127.0.0.1:{self.metrics_port}",
            ],
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **(env or {})},
        )

    def logged(self, text: str) -> bool:
        return text in self.log.read_text()

    def ingested(self) -> int:
        """posterm_events_ingested_total of this process (0 while the page is not up)."""
        page = self.metrics_page(self.log)
        return sum(
            int(float(n))
            for n in re.findall(r"^posterm_events_ingested_total\{[^}]*\} (\S+)$", page, re.M)
        )

    def stored(self) -> list[tuple[str, int]]:
        store = Store(self.store_url)
        try:
            return [(e["event_id"], e["seq"]) for e in store.events(limit=None)]
        finally:
            store.close()

    def fleet(self) -> list[dict[str, object]]:
        store = Store(self.store_url)
        try:
            return store.fleet()
        finally:
            store.close()


def exactly_once(host: HostProc, fleet: Fleet) -> None:
    rows = host.stored()
    ids = [event_id for event_id, _ in rows]
    assert len(ids) == len(set(ids)), "an event stored twice"
    assert set(ids) == fleet.acked_ids, "stored and acked differ"
    assert len(ids) == fleet.published
    states = {t["terminal"]: t for t in host.fleet()}
    for tid in fleet.tids:
        assert states[tid]["contiguous_seq"] == fleet.seq[tid] and states[tid]["gap_at"] is None


@pytest.fixture
def shared(tmp_path: Path, broker: Broker, pg_url: str) -> Iterator[list[HostProc]]:
    hosts = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        hosts.append(HostProc(tmp_path / name, broker, pg_url, share_group="posterm"))
    for host, name in zip(hosts, ("a", "b"), strict=True):
        host.start(instance=name)
    yield hosts
    for host in hosts:
        host.stop()


def test_two_hosts_share_the_fleet_and_one_killed_loses_nothing(
    shared: list[HostProc], broker: Broker
) -> None:
    """GIVEN two `run --instance` processes on one `$share` group and one PostgreSQL
    WHEN 40 terminals send events, and one host is SIGKILLed in the middle of a stream
    THEN both took a share, every event is stored once and acked, every terminal's seq is
    contiguous, every process saw the retained births (status is never shared), and each
    process has its own retained status: the killed one's will says offline, not the
    other's."""
    a, b = shared
    wait_for(lambda: a.logged("ingesting") and b.logged("ingesting"), "both hosts up")
    statuses: dict[str, dict[str, object]] = {}  # each process's own retained status
    watcher = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="watch")
    watcher.on_connect = lambda c, u, f, r, p: c.subscribe("posterm/v1/host/+/status", 1)
    watcher.on_message = lambda c, u, m: statuses.update({m.topic: json.loads(m.payload)})
    watcher.connect("127.0.0.1", broker.port)
    watcher.loop_start()
    fleet = Fleet(broker.port, [f"pos-{i:03d}" for i in range(40)], resend_after_s=2.0)
    try:
        fleet.birth()
        fleet.telemetry()
        for _ in range(10):
            for tid in fleet.tids:
                fleet.emit(tid)
        wait_for(lambda: fleet.unacked() == 0, "the first 400 events acked", 60)
        assert a.ingested() > 0 and b.ingested() > 0, "both hosts took a share"
        assert a.ingested() + b.ingested() == 400
        wait_for(lambda: len([t for t in a.fleet() if t["online"]]) == 40, "40 online")
        for round_ in range(20):
            if round_ == 5:
                b.kill()
            for tid in fleet.tids:
                fleet.emit(tid)
        wait_for(lambda: fleet.unacked() == 0, "every event acked by the survivor", 90)
        assert a.proc is not None and a.proc.poll() is None
        exactly_once(a, fleet)
        wait_for(
            lambda: statuses.get("posterm/v1/host/hq-b/status", {}).get("online") is False,
            "the killed process's will",
        )
        assert statuses["posterm/v1/host/hq-a/status"]["online"] is True
        assert statuses["posterm/v1/host/hq-a/status"]["instance"] == "a"
    finally:
        fleet.close()
        watcher.loop_stop()
        watcher.disconnect()


@pytest.mark.parametrize("step", ["before_commit", "after_commit"])
def test_a_host_killed_around_its_commit_stores_nothing_twice_and_loses_nothing(
    tmp_path: Path, broker: Broker, store_url: str, step: str
) -> None:
    """GIVEN posterm-host dying with a batch's statements sent but not committed
    (POSTERM_HOST_CRASH_AT=before_commit: its terminals locked, its events inserted, their
    seq moved), or right after the commit, before its acks (after_commit) WHEN it is
    started again and postermd (restarted: it resends everything unacked at once) sends
    the events again THEN nothing of the killed batch was kept before the commit, and
    everything after it; they are acked, none stored twice, and the terminal's contiguous
    seq is its last event's with no gap."""
    host = HostProc(tmp_path, broker, store_url)
    assert host.cli("keygen")[0] == 0
    host.start(env={"POSTERM_HOST_CRASH_AT": step})
    extra = mqtt_section(broker, host.key.with_suffix(".pub"))
    rig: Rig = make_rig(tmp_path, link="tcp", extra_config=extra)
    rig.start()
    try:
        assert rig.cli("sale", "6.00")[0] == 0
        assert host.proc is not None
        assert host.proc.wait(60) == -9  # SIGKILLed by its crash point
        assert host.logged(f"crash point {step}")
        committed = host.stored()
        assert unacked(rig) > 0  # not acked
        assert bool(committed) == (step == "after_commit")  # in the store only if committed
        host.start()
        rig.stop()
        rig.start()
        wait_for(lambda: unacked(rig) == 0, "the outbox drained after the resend", 60)
        ids = [event_id for event_id, _ in host.stored()]
        assert len(ids) == len(set(ids)) == len(rig.events())
        assert set(committed) <= set(host.stored())
        store = Store(store_url)  # the terminal's contiguous seq moved over the resent ones
        try:
            (terminal,) = store.fleet()
            top = max(int(e["seq"]) for e in rig.events())
            assert terminal["contiguous_seq"] == top, terminal
            assert store.gap(str(terminal["terminal"])) is None
        finally:
            store.close()
    finally:
        rig.close()
        host.stop()


def test_postgresql_stopped_while_events_flow_kills_nothing_and_loses_nothing(
    tmp_path: Path, broker: Broker, pg_cluster: Cluster, pg_url: str
) -> None:
    """GIVEN posterm-host on PostgreSQL and terminals sending WHEN PostgreSQL stops (the
    host's link breaks) and starts again THEN the host logs it, acks nothing meanwhile,
    keeps running, and stores and acks every event once when the database is back."""
    host = HostProc(tmp_path, broker, pg_url)
    host.start()
    wait_for(lambda: host.logged("ingesting"), "the host up")
    fleet = Fleet(broker.port, [f"pos-{i:02d}" for i in range(10)])  # no resends: the host
    try:  # alone must get every event in
        for tid in fleet.tids:
            fleet.emit(tid, 5)
        wait_for(lambda: fleet.unacked() == 0, "the first events acked")
        pg_cluster.stop()
        try:
            for tid in fleet.tids:
                fleet.emit(tid, 5)
            wait_for(lambda: host.logged("store failed"), "the host to see the store fail", 90)
            acked = fleet.acked
            assert host.proc is not None and host.proc.poll() is None
        finally:
            pg_cluster.start()
        assert acked == 50
        for tid in fleet.tids:
            fleet.emit(tid, 5)
        wait_for(lambda: fleet.unacked() == 0, "every event acked once the store is back", 60)
        assert host.logged("the store is back")
        exactly_once(host, fleet)
    finally:
        fleet.close()
        host.stop()


def test_share_group_needs_an_instance_name(tmp_path: Path, broker: Broker) -> None:
    host = HostProc(tmp_path, broker, f"sqlite://{tmp_path / 'h.db'}", share_group="posterm")
    for args, text in (
        (["run"], "run --instance N"),
        (["run", "--instance", "x/y"], "--instance"),
        (["run", "--instance", "n" * 30], "over 32"),
    ):
        proc = subprocess.run(
            [str(BIN / "posterm-host"), "--config", str(host.config), *args],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 64 and text in proc.stderr, proc.stderr  # EX_USAGE
    host.config.write_text(
        f'[host]\nid = "hq"\n[mqtt]\nurl = "{broker.url}"\nshare_group = "a/b"\n'
    )
    proc = subprocess.run(
        [str(BIN / "posterm-host"), "--config", str(host.config), "fleet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2 and "mqtt.share_group" in proc.stderr

"""`posterm-host run --metrics HOST:PORT`: the Prometheus page against a real Mosquitto and a
real postermd; the metric updates through the host's loop without a broker; a bad address is
exit 2; the example alert rules parse."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry

from posterm.host.config import load
from posterm.host.metrics import Metrics
from posterm.host.service import HostService
from posterm.host.store import Store
from posterm.protocol.mqtt import topics
from posterm.protocol.mqtt.events import envelope
from tests.host.test_host import TID, Host
from tests.support.broker import Broker, wait_for
from tests.support.fleet import txn_data
from tests.support.rig import Rig, make_rig
from tests.support.sim import BIN

ROOT = Path(__file__).resolve().parents[2]


class MetricsHost(Host):
    """`posterm-host run --metrics 127.0.0.1:0`: the port it announces (`metrics_page`)."""

    def __init__(self, tmp: Path, broker: Broker) -> None:
        super().__init__(tmp, broker)

    def start(self) -> None:
        self.logs += 1
        log = (self.tmp / f"host-{self.logs}.log").open("w")
        self.proc = subprocess.Popen(
            [
                str(BIN / "posterm-host"),
                "--config",
                str(self.config),
                "run",
                "--metrics",
                f"127.0.0.1:{self.metrics_port}",
            ],
            stdout=log,
            stderr=log,
            text=True,
        )

    def page(self) -> str:
        return self.metrics_page(self.tmp / f"host-{self.logs}.log")


@pytest.fixture
def host(tmp_path: Path, broker: Broker) -> Iterator[MetricsHost]:
    h = MetricsHost(tmp_path, broker)
    h.start()
    yield h
    h.stop()


@pytest.fixture
def rig(tmp_path: Path, broker: Broker, host: MetricsHost) -> Iterator[Rig]:
    r = make_rig(
        tmp_path,
        link="tcp",
        extra_config=f'\n[mqtt]\nurl = "{broker.url}"\ntelemetry_s = 1\nkeepalive_s = 5\n',
    )
    r.start()
    yield r
    r.close()


@pytest.mark.slow
def test_metrics_page_counts_stored_sales_and_the_terminal_up(rig: Rig, host: MetricsHost) -> None:
    for amount in ("3.00", "4.00"):
        assert rig.cli("sale", amount)[0] == 0
    want = (
        'posterm_events_ingested_total{type="sale.approved"} 2.0',
        f'posterm_terminal_up{{terminal="{TID}"}} 1.0',
    )
    page = wait_for(
        lambda: (p := host.page()) and all(w in p for w in want) and p,
        "the sales and the terminal on the metrics page",
    )
    assert f'posterm_outbox_oldest_seconds{{terminal="{TID}"}}' in page
    assert 'posterm_alerts_open{kind="terminal_offline"} 0.0' in page
    assert 'posterm_build_info{version="' in page
    assert "posterm_refund_duration_seconds_count 0.0" in page


def _service(tmp_path: Path) -> tuple[HostService, Metrics, CollectorRegistry]:
    config = tmp_path / "host.toml"
    config.write_text(
        f'[host]\nid = "hq"\n[mqtt]\nurl = "mqtt://127.0.0.1:1"\n'
        f'[store]\nurl = "sqlite://{tmp_path / "host.db"}"\n'
    )
    store = Store(f"sqlite://{tmp_path / 'host.db'}")
    registry = CollectorRegistry()
    metrics = Metrics(store, registry)
    return HostService(load(config), store, metrics), metrics, registry


@pytest.mark.slow
def test_metric_updates_through_the_hosts_loop(tmp_path: Path) -> None:
    service, _, reg = _service(tmp_path)
    sale = envelope(TID, 1, "sale.approved", txn_data("T1"))
    requested = envelope(
        TID,
        2,
        "refund.requested",
        txn_data("T2", "refund", "in_doubt"),
        occurred_at="2026-11-22T12:00:00.000Z",
    )
    completed = envelope(
        TID, 3, "refund.completed", txn_data("T2", "refund"), occurred_at="2026-11-22T12:07:30.000Z"
    )
    events = topics.terminal(TID, "events")
    for env in (sale, sale, requested):  # a duplicate in the same batch
        service.inbox.put((events, json.dumps(env).encode()))
    service.inbox.put(
        (topics.terminal(TID, "status"), json.dumps({"online": True, "session": 5}).encode())
    )
    service.inbox.put(
        (topics.terminal(TID, "telemetry"), json.dumps({"oldest_unsent_age_s": 4000.5}).encode())
    )
    service._round()
    service.inbox.put((events, json.dumps(sale).encode()))  # redelivered after the commit
    service.inbox.put((events, json.dumps(completed).encode()))
    service.inbox.put(
        (
            topics.terminal(TID, "status"),  # an old session's will: ignored
            json.dumps({"online": False, "session": 4}).encode(),
        )
    )
    service._round()
    service.alerter.tick(force=True)  # the time-based alert rules, due every second
    service._alerts_out()

    def value(name: str, **labels: str) -> float | None:
        return reg.get_sample_value(name, labels)

    assert value("posterm_events_ingested_total", type="sale.approved") == 1.0
    assert value("posterm_events_ingested_total", type="refund.requested") == 1.0
    assert value("posterm_events_ingested_total", type="refund.completed") == 1.0
    assert value("posterm_refund_duration_seconds_count") == 1.0
    assert value("posterm_refund_duration_seconds_sum") == 450.0
    assert value("posterm_terminal_up", terminal=TID) == 1.0
    assert value("posterm_outbox_oldest_seconds", terminal=TID) == 4000.5
    assert value("posterm_alerts_open", kind="outbox_stale") == 1.0
    assert value("posterm_alerts_open", kind="terminal_offline") == 0.0

    service.inbox.put(
        (topics.terminal(TID, "status"), json.dumps({"online": False, "session": 6}).encode())
    )
    service.inbox.put(
        (topics.terminal(TID, "telemetry"), json.dumps({"oldest_unsent_age_s": None}).encode())
    )
    service._round()
    service.alerter.tick(force=True)
    service._alerts_out()
    assert value("posterm_terminal_up", terminal=TID) == 0.0
    assert value("posterm_outbox_oldest_seconds", terminal=TID) == 0.0
    # offline for less than [alerts] offline_s: no alert yet (tests/host/test_alerts.py)
    assert value("posterm_alerts_open", kind="terminal_offline") == 0.0
    assert value("posterm_alerts_open", kind="outbox_stale") == 0.0
    (build,) = next(s for s in reg.collect() if s.name == "posterm_build_info").samples
    assert build.value == 1.0 and build.labels["version"]

    # a restarted host starts from what the store knows: the terminal is offline
    again = Metrics(service.store, CollectorRegistry())
    assert again.registry.get_sample_value("posterm_terminal_up", {"terminal": TID}) == 0.0
    service.store.close()


@pytest.mark.parametrize(
    "addr",
    ["9464", "127.0.0.1", "127.0.0.1:", "127.0.0.1:x", ":9464", "127.0.0.1:70000"],
)
@pytest.mark.slow
def test_a_bad_metrics_address_is_exit_2(tmp_path: Path, addr: str) -> None:
    config = tmp_path / "host.toml"
    config.write_text(
        '[host]\nid = "hq"\n[mqtt]\nurl = "mqtt://127.0.0.1:1"\n'
        f'[store]\nurl = "sqlite://{tmp_path / "host.db"}"\n'
    )
    proc = subprocess.run(
        [str(BIN / "posterm-host"), "--config", str(config), "run", "--metrics", addr],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 64, proc.stderr  # EX_USAGE
    assert "--metrics" in proc.stderr and "HOST:PORT" in proc.stderr, proc.stderr


def test_the_example_alert_rules_parse() -> None:
    rules = yaml.safe_load((ROOT / "deploy/prometheus/posterm-alerts.yml").read_text())
    (group,) = rules["groups"]
    by_name = {r["alert"]: r for r in group["rules"]}
    assert set(by_name) == {"TerminalOffline", "OutboxBacklog", "RefundsSlow", "PostermAlertOpen"}
    assert "posterm_alerts_open" in by_name["PostermAlertOpen"]["expr"]
    assert by_name["TerminalOffline"]["expr"] == "posterm_terminal_up == 0"
    assert by_name["TerminalOffline"]["for"] == "5m"
    assert by_name["OutboxBacklog"]["for"] == "10m"
    assert "posterm_outbox_oldest_seconds > 900" in by_name["OutboxBacklog"]["expr"]
    assert "posterm_refund_duration_seconds_bucket[1h]" in by_name["RefundsSlow"]["expr"]
    assert by_name["RefundsSlow"]["expr"].startswith("histogram_quantile(0.95,")


def test_the_grafana_dashboard_graphs_the_hosts_metrics(tmp_path: Path) -> None:
    """deploy/grafana/posterm-fleet.json: every query names a metric the host serves, and
    every metric is on it."""
    dashboard = json.loads((ROOT / "deploy/grafana/posterm-fleet.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    store = Store(f"sqlite://{tmp_path / 'host.db'}")
    served = {m.name for m in Metrics(store, CollectorRegistry()).registry.collect()}
    store.close()
    used = {name for e in exprs for name in re.findall(r"posterm_[a-z_]+", e)}
    base = {re.sub(r"_(total|bucket|count|sum)$", "", name) for name in used}
    assert base == served, (base, served)
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])

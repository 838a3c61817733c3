"""`posterm-host run --metrics HOST:PORT`: Prometheus metrics on a registry of the host's own
(never the process-global one), served by prometheus-client's HTTP server.

    posterm_terminal_up{terminal}            1/0 from the retained status the store accepted
    posterm_events_ingested_total{type}      events newly stored (a duplicate is not counted)
    posterm_outbox_oldest_seconds{terminal}  telemetry's oldest_unsent_age_s (0: none unsent)
    posterm_refund_duration_seconds          refund.requested -> refund.completed (occurred_at)
    posterm_alerts_open{kind}                open alerts by kind (table `alerts`, host/alerts/),
                                             not those muted now
    posterm_alerts_muted{kind}               open alerts muted now, by kind
    posterm_pi_cpu_temperature_celsius{terminal}  the Pi's CPU temperature (telemetry)
    posterm_pi_throttled{terminal}           1: under-voltage or throttling now, 0: neither
    posterm_pi_disk_free_bytes{terminal}     free bytes on the journal's disk
    posterm_pi_clock_synchronized{terminal}  1/0: the Pi's clock synchronised
    posterm_build_info{version}              1

A Pi value the telemetry does not tell (not a Pi) is no sample.

The host's one loop thread calls the hooks; the HTTP server's thread only reads.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from posterm.host.alerts.engine import muted_counts, open_counts
from posterm.host.config import parse_bind
from posterm.host.fleet import finite
from posterm.host.store import Store

log = logging.getLogger("posterm.host")

# a refund may wait hours for a back-office approval: buckets up to a day
REFUND_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400)


def parse_address(text: str) -> tuple[str, int]:
    """`HOST:PORT` (an IPv6 host in brackets: `[::1]:9464`; port 0: one the kernel picks,
    logged once bound) for `--metrics`; as an argparse `type` a bad one is exit 2 with the
    reason."""
    try:
        return parse_bind(text, any_port=True)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:9464; a port 0-65535, 0 the kernel's pick)"
        ) from exc


def version() -> str:
    try:
        return importlib.metadata.version("posterm")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def pi_value(key: str, value: Any) -> float | None:
    """A Pi health value of the telemetry as a sample (None: not told, or not a number)."""
    if key == "throttled_now":
        return None if not isinstance(value, list) else float(bool(value))
    if key == "clock_synchronized":
        return None if not isinstance(value, bool) else float(value)
    if value is None:
        return None
    number = finite(value, -1.0, 1e18) if key == "disk_free_bytes" else finite(value, -1.0, 200.0)
    return None if number < 0 else number


def _seconds_between(start: str, end: str) -> float | None:
    try:
        return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except (TypeError, ValueError):
        return None


class Metrics:
    def __init__(self, store: Store, registry: CollectorRegistry | None = None) -> None:
        self.store = store
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.terminal_up = Gauge(
            "posterm_terminal_up",
            "1: the terminal's retained status says online",
            ["terminal"],
            registry=r,
        )
        self.events_ingested = Counter(
            "posterm_events_ingested",
            "events newly stored (duplicates not counted)",
            ["type"],
            registry=r,
        )
        self.outbox_oldest = Gauge(
            "posterm_outbox_oldest_seconds",
            "age of the terminal's oldest unsent event (0: none)",
            ["terminal"],
            registry=r,
        )
        self.refund_duration = Histogram(
            "posterm_refund_duration_seconds",
            "refund.requested to refund.completed, by the terminal's occurred_at",
            buckets=REFUND_BUCKETS,
            registry=r,
        )
        self.alerts_open = Gauge(
            "posterm_alerts_open",
            "open alerts by kind, not those muted now",
            ["kind"],
            registry=r,
        )
        self.alerts_muted = Gauge(
            "posterm_alerts_muted",
            "open alerts muted now, by kind",
            ["kind"],
            registry=r,
        )
        self.pi = {  # telemetry key -> gauge
            "cpu_temp_c": Gauge(
                "posterm_pi_cpu_temperature_celsius",
                "the Pi's CPU temperature",
                ["terminal"],
                registry=r,
            ),
            "throttled_now": Gauge(
                "posterm_pi_throttled",
                "1: the Pi is under-voltage or throttled now",
                ["terminal"],
                registry=r,
            ),
            "disk_free_bytes": Gauge(
                "posterm_pi_disk_free_bytes",
                "free bytes on the disk of the terminal's journal",
                ["terminal"],
                registry=r,
            ),
            "clock_synchronized": Gauge(
                "posterm_pi_clock_synchronized",
                "1: the Pi's clock is synchronised",
                ["terminal"],
                registry=r,
            ),
        }
        self.build_info = Gauge(
            "posterm_build_info", "posterm-host's version", ["version"], registry=r
        )
        self.build_info.labels(version=version()).set(1)
        self._up: dict[str, bool] = {}
        self._oldest: dict[str, float] = {}
        self._pi_told: set[tuple[str, str]] = set()  # (telemetry key, terminal) with a sample
        for row in store.fleet():  # what the store knows before the first retained status
            if row["session"] is not None:
                self._up[row["terminal"]] = bool(row["online"])
                self.terminal_up.labels(terminal=row["terminal"]).set(1 if row["online"] else 0)
        self.alerts(open_counts(store), muted_counts(store))

    def serve(self, address: tuple[str, int]) -> Any:
        """Start the HTTP server (its own daemon thread); returns the server (`shutdown()`)."""
        server, _thread = start_http_server(address[1], address[0], registry=self.registry)
        host = f"[{address[0]}]" if ":" in address[0] else address[0]
        log.info("host: metrics on http://%s:%d/metrics", host, server.server_address[1])
        return server

    # -- hooks (the host's loop thread) -------------------------------------------------------
    def ingested(self, envelopes: Iterable[dict[str, Any]]) -> None:
        """Events the store has just committed for the first time."""
        for env in envelopes:
            self.events_ingested.labels(type=env["type"]).inc()
            if env["type"] == "refund.completed":
                self._refund_completed(env)

    def status(self, tid: str, status: dict[str, Any]) -> None:
        """A retained status the store accepted."""
        self._up[tid] = bool(status.get("online"))
        self.terminal_up.labels(terminal=tid).set(1 if self._up[tid] else 0)

    def telemetry(self, tid: str, telemetry: dict[str, Any]) -> None:
        age = telemetry.get("oldest_unsent_age_s")
        self._oldest[tid] = finite(age, 0.0)  # None: nothing unsent
        self.outbox_oldest.labels(terminal=tid).set(self._oldest[tid])
        for key, gauge in self.pi.items():
            value = pi_value(key, telemetry.get(key))
            if value is not None:
                gauge.labels(terminal=tid).set(value)
                self._pi_told.add((key, tid))
            elif (key, tid) in self._pi_told:  # no longer told: no sample
                gauge.remove(tid)
                self._pi_told.discard((key, tid))

    def alerts(self, counts: dict[str, int], muted: dict[str, int] | None = None) -> None:
        """Open alerts by kind (and those muted), after alerts were raised or cleared and
        every alert rules' tick (a mute begins or ends without a raise or a clear)."""
        for kind, count in counts.items():
            self.alerts_open.labels(kind=kind).set(count)
        for kind, count in (muted or {}).items():
            self.alerts_muted.labels(kind=kind).set(count)

    # -------------------------------------------------------------------------------------------
    def _refund_completed(self, env: dict[str, Any]) -> None:
        txn_id = env["data"].get("txn_id")
        if not isinstance(txn_id, str):
            return
        requested = self._requested_at(env["terminal"], txn_id)
        if requested is None:
            log.info(
                "host: %s: refund %s completed, its request not in the store",
                env["terminal"],
                txn_id,
            )
            return
        seconds = _seconds_between(requested, env["occurred_at"])
        if seconds is not None and seconds >= 0:
            self.refund_duration.observe(seconds)

    def _requested_at(self, tid: str, txn_id: str) -> str | None:
        found = self.store.events(terminal=tid, type_="refund.requested", txn_id=txn_id, limit=1)
        return str(found[0]["occurred_at"]) if found else None

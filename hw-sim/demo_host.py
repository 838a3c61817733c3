"""The demo's MQTT side (docs/mqtt.md): an embedded broker, amqtt in a process of its own,
and a back office that subscribes to the demo terminal's topics, acknowledges every event
on `posterm/v1/{tid}/ack` (so postermd's outbox drains) and reports what arrived."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack, closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from posterm.hwsim.procs import stop as stop_process
from posterm.protocol.mqtt import commands, topics

ENV_URL = "POSTERM_DEMO_MQTT"  # mqtt://HOST:PORT of a broker to use instead of amqtt
LEAVES = ("events", "status", "telemetry")


@dataclass(frozen=True)
class BrokerAddr:
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"


def broker_from_env() -> BrokerAddr | None:
    """The broker named by POSTERM_DEMO_MQTT, or None when it is not set."""
    raw = os.environ.get(ENV_URL, "").strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    try:
        port = parts.port or 1883
    except ValueError:
        port = 0
    if parts.scheme != "mqtt" or not parts.hostname or not port:
        raise SystemExit(f"{ENV_URL}={raw!r}: the demo takes mqtt://HOST[:PORT] (plain MQTT)")
    return BrokerAddr(parts.hostname, port)


def start(stack: ExitStack, out: Path, tid: str) -> BackOffice:
    """The broker of POSTERM_DEMO_MQTT, else amqtt started here; then the back office,
    subscribed. `stack` stops both when the demo ends."""
    broker = broker_from_env()
    if broker is not None:
        print(f"  MQTT broker {broker.url} (from {ENV_URL})")
    else:
        proc, broker = start_amqtt(out)
        stack.callback(stop_process, proc, 5)
        print(f"  MQTT broker: amqtt, embedded, pid {proc.pid}, on {broker.url}")
    office = BackOffice(broker, tid, out / "backoffice.jsonl")
    stack.callback(office.close)
    office.start()
    print(f"  back office subscribed to posterm/v1/{tid}/{{events,status,telemetry}}; it acks "
          "every event")  # fmt: skip
    return office


# -- the embedded broker ---------------------------------------------------------------------


def amqtt_config(port: int) -> dict[str, Any]:
    """A TCP listener on 127.0.0.1:port. amqtt 0.12 keeps no session (no QoS 1 messages
    queued while a client is away) for a client it let in anonymously, so anonymous logins
    are off: the demo's clients give a user name, which this broker takes without password."""
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
        "plugins": {
            "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": False},
        },
    }


def start_amqtt(out: Path, tries: int = 3) -> tuple[subprocess.Popen[bytes], BrokerAddr]:
    """amqtt as its own process on a free port; returned once it accepts connections."""
    conf = out / "amqtt.yaml"
    for _ in range(tries):  # another process may take the free port before amqtt binds it
        addr = BrokerAddr("127.0.0.1", free_port())
        conf.write_text(json.dumps(amqtt_config(addr.port), indent=2) + "\n")  # YAML reads JSON
        with (out / "amqtt.log").open("a") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "amqtt.scripts.broker_script", "-c", str(conf)],
                stdout=log, stderr=log,
            )  # fmt: skip
        if wait_listening(proc, addr, seconds=20.0):
            return proc, addr
        stop_process(proc, grace=5)
    raise RuntimeError(f"amqtt did not start: see {out / 'amqtt.log'}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def accepts(addr: BrokerAddr) -> bool:
    try:
        socket.create_connection((addr.host, addr.port), timeout=0.2).close()
    except OSError:
        return False
    return True


def wait_listening(proc: subprocess.Popen[bytes], addr: BrokerAddr, seconds: float) -> bool:
    """Poll until the broker accepts a connection; False if it exits or takes too long."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        if accepts(addr):
            return True
        time.sleep(0.05)
    return False


# -- the back office -------------------------------------------------------------------------


class BackOffice:
    """One terminal's back office: paho 2 (callback API 2), MQTT 3.1.1, persistent session.
    Its own paho thread records events, status and telemetry, acks each event and appends
    it to `log` (JSON lines) as it arrives."""

    CLIENT_ID = "demo-backoffice"

    def __init__(self, broker: BrokerAddr, tid: str, log: Path) -> None:
        self.broker = broker
        self.tid = tid
        self.started = time.monotonic()
        self.lock = threading.Lock()
        self.events: list[dict[str, Any]] = []
        self.lines: list[str] = []  # one per event, with the time it arrived
        self.status: dict[str, Any] | None = None
        self.telemetry: list[tuple[float, dict[str, Any]]] = []
        self.subscribed = threading.Event()
        self._log: TextIO = log.open("w", encoding="utf-8")
        self.client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2,
                                  client_id=self.CLIENT_ID, clean_session=False,
                                  protocol=mqtt.MQTTv311)  # fmt: skip
        self.client.username_pw_set(self.CLIENT_ID)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.1, 2)

    def start(self, seconds: float = 10.0) -> None:
        """Connect and wait until the broker has confirmed the subscriptions."""
        self.client.connect_async(self.broker.host, self.broker.port, keepalive=30)
        self.client.loop_start()
        if not self.subscribed.wait(seconds):
            raise RuntimeError(f"back office: no subscription on {self.broker.url}")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        self._log.close()

    # paho's thread -----------------------------------------------------------------------
    def _on_connect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        if not rc.is_failure:
            client.subscribe([(topics.terminal(self.tid, leaf), 1) for leaf in LEAVES])

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, codes: Any, props: Any) -> None:
        if not any(code.is_failure for code in codes):
            self.subscribed.set()

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        try:  # an exception here would end paho's thread
            data = json.loads(message.payload)
            _, leaf = topics.split(message.topic)
        except (ValueError, topics.TopicError):
            return
        if leaf == "events" and isinstance(data, dict) and "event_id" in data:
            self._event(data)
        elif leaf == "status":
            with self.lock:
                self.status = data
        elif leaf == "telemetry":
            with self.lock:
                self.telemetry.append((time.monotonic(), data))

    def _event(self, event: dict[str, Any]) -> None:
        ack = json.dumps(commands.ack([event["event_id"]]))
        self.client.publish(topics.terminal(self.tid, "ack"), ack, qos=1)
        with self.lock:
            self.events.append(event)
            self.lines.append(f"+{time.monotonic() - self.started:5.1f}s  {describe(event)}")
        self._log.write(json.dumps(event) + "\n")
        self._log.flush()

    # the demo's thread ---------------------------------------------------------------------
    def unique_events(self) -> list[dict[str, Any]]:
        """What arrived, once per event_id (QoS 1 may deliver twice), by seq."""
        with self.lock:
            return sorted({e["event_id"]: e for e in self.events}.values(),
                          key=lambda e: int(e.get("seq", 0)))  # fmt: skip

    def telemetry_since(self, since: float) -> dict[str, Any] | None:
        with self.lock:
            fresh = [data for at, data in self.telemetry if at >= since]
        return fresh[-1] if fresh else None


def describe(event: dict[str, Any]) -> str:
    """seq, type, and the transaction and amount where the event has them: one short line."""
    data = event.get("data") if isinstance(event.get("data"), dict) else {}
    parts = [f"seq {event.get('seq', '?'):>3}", f"{event.get('type', '?'):<17}"]
    if "txn_id" in data:
        parts.append(str(data["txn_id"]))
    if "amount" in data:
        parts.append(f"{data['amount']} {data.get('currency', '')}".strip())
    elif "net" in data:
        parts.append(f"net {data['net']} {data.get('currency', '')}".strip())
    if "mark" in data:
        parts.append(str(data["mark"]))
    if str(event.get("type", "")).startswith("fault."):
        parts.append(f"terminal {data.get('state', '?')}")
    return "  ".join(parts)


def outbox_depth(journal: Path) -> int:
    """Events postermd still waits to see acknowledged, from its journal opened read-only."""
    with closing(sqlite3.connect(journal.as_uri() + "?mode=ro", uri=True, timeout=5)) as db:
        return int(db.execute("SELECT COUNT(*) FROM outbox WHERE acked_at IS NULL").fetchone()[0])


def show(office: BackOffice, journal: Path, host_link: Callable[[], dict[str, Any]]) -> bool:
    """Once postermd's outbox has drained (or 20 s): its link, then the report, with a
    telemetry message sent after the drain. True when all is well."""
    poll(lambda: outbox_depth(journal) == 0, 20.0)
    drained_at = time.monotonic()
    poll(lambda: office.telemetry_since(drained_at) is not None, 5.0)
    link = host_link()
    print(f"  postermd's host link: {link.get('state')}, session {link.get('session')}, "
          f"broker {link.get('broker')}")  # fmt: skip
    ok = report(office, journal, drained_at)
    if not ok:
        print(f"  THE BACK OFFICE DID NOT GET EVERY EVENT: see postermd.log and amqtt.log in "
              f"{journal.parent}")  # fmt: skip
    return ok


def poll(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def report(office: BackOffice, journal: Path, drained_at: float) -> bool:
    """Print what the back office received; True when every event arrived, seq is gapless
    from 1 and postermd's outbox is empty."""
    for line in office.lines:
        print("  " + line)
    events = office.unique_events()
    seqs = [int(e.get("seq", 0)) for e in events]
    counts = Counter(str(e.get("type")) for e in events)
    print(f"\n  {len(events)} events: " + ", ".join(f"{n} {t}" for t, n in sorted(counts.items())))
    gapless = bool(seqs) and seqs == list(range(1, len(seqs) + 1))
    print(f"  seq 1..{max(seqs, default=0)} gapless: {'yes' if gapless else 'NO'}"
          f"  (duplicates dropped by event_id: {len(office.events) - len(events)})")  # fmt: skip
    depth = outbox_depth(journal)
    print("  postermd's outbox: " + ("empty, every event acknowledged" if depth == 0 else
                                     f"NOT empty, {depth} event(s) unacknowledged"))  # fmt: skip
    status = office.status or {}
    print(f"  status (retained): online {status.get('online')}, session {status.get('session')}"
          f", version {status.get('version')}")  # fmt: skip
    tele = office.telemetry_since(drained_at) or office.telemetry_since(0.0) or {}
    print(f"  telemetry: mode {tele.get('mode')}, PT {tele.get('pt_link')}, paper "
          f"{tele.get('paper')}, outbox {tele.get('outbox_depth')}, pending receipts "
          f"{tele.get('pending_receipts')}, in doubt {tele.get('in_doubt')}, up "
          f"{tele.get('uptime_s')} s")  # fmt: skip
    return gapless and depth == 0

"""`posterm-host run`: ingest every terminal's events exactly once and acknowledge them
only after the commit; keep the fleet's status, telemetry and command replies; ask a
terminal to `resend` when its `seq` has a gap.

paho's network thread only queues what arrives; this loop (one thread) owns the store
and publishes the acks, the resend requests and the host's own retained status.
"""

from __future__ import annotations

import json
import logging
import queue
import ssl
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from posterm.host import webhooks
from posterm.host.alerting import Alerter, open_counts
from posterm.host.config import HostConfig
from posterm.host.metrics import Metrics
from posterm.host.notify.queue import take_contacts
from posterm.host.notify.sender import Notifier
from posterm.host.store import Ingested, Store
from posterm.protocol.mqtt import commands, topics
from posterm.protocol.mqtt.events import EVENT_TYPES, UUID7, now_rfc3339

log = logging.getLogger("posterm.host")

BATCH = 500  # events per store transaction (and per ack message, per terminal)
RESEND_AFTER_S = 5.0  # a gap still open this long after the last request: ask again
COMMAND = "$command/"  # in the inbox: a command another thread hands over (`send`)


def make_client(config: HostConfig, client_id: str, *, clean: bool) -> mqtt.Client:
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=client_id,
                         clean_session=clean, protocol=mqtt.MQTTv311)  # fmt: skip
    if config.mqtt_username is not None:
        client.username_pw_set(config.mqtt_username)
    if config.mqtt_url.startswith("mqtts://"):
        client.tls_set(
            ca_certs=str(config.ca_file) if config.ca_file else None,
            certfile=str(config.cert_file) if config.cert_file else None,
            keyfile=str(config.key_file) if config.key_file else None,
            tls_version=ssl.PROTOCOL_TLS_CLIENT,
        )
    return client


def broker_address(config: HostConfig) -> tuple[str, int]:
    rest = config.mqtt_url.split("://", 1)[1].rstrip("/")
    host, _, port = rest.partition(":")
    return host, int(port) if port else (8883 if config.mqtt_url.startswith("mqtts") else 1883)


def valid_event(envelope: Any, tid: str) -> bool:
    return (
        isinstance(envelope, dict)
        and envelope.get("v") == 1
        and envelope.get("terminal") == tid
        and isinstance(envelope.get("event_id"), str)
        and bool(UUID7.fullmatch(envelope["event_id"]))
        and isinstance(envelope.get("seq"), int)
        and not isinstance(envelope.get("seq"), bool)
        and envelope["seq"] >= 1
        and envelope.get("type") in EVENT_TYPES
        and isinstance(envelope.get("occurred_at"), str)
        and isinstance(envelope.get("data"), dict)
    )


def new_events(events: list[dict[str, Any]], done: Ingested) -> list[dict[str, Any]]:
    """The envelopes of a batch that the store took for the first time (an id twice in one
    batch is new once)."""
    fresh = {event_id for ids in done.new.values() for event_id in ids}
    out = []
    for env in events:
        if env["event_id"] in fresh:
            fresh.discard(env["event_id"])
            out.append(env)
    return out


class HostService:
    def __init__(self, config: HostConfig, store: Store, metrics: Metrics | None = None) -> None:
        self.config = config
        self.store = store
        self.metrics = metrics
        self.inbox: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.status_topic = topics.host(config.host_id, "status")
        self.client = make_client(config, f"posterm-host-{config.host_id}", clean=False)
        self.client.will_set(self.status_topic, json.dumps({"online": False}), qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 30)
        self._resend_asked: dict[str, tuple[int, float]] = {}
        self.stopping = threading.Event()
        self.notifier = Notifier(store, config.notify) if config.notify else None
        self.alerter = Alerter(store, config.alerts, stale_after_s=config.stale_after_s,
                               webhooks=config.webhooks,
                               also=(self.notifier.on_new,) if self.notifier else ())  # fmt: skip
        self.sender = webhooks.Sender(store, config.webhooks)
        self.alerts_topic = topics.host(config.host_id, "alerts")

    # -- paho's thread: queue only ---------------------------------------------------------
    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any,
                    properties: Any) -> None:  # fmt: skip
        if reason.is_failure:
            log.warning("host: broker refused: %s", reason)
            return
        client.subscribe([(topics.all_terminals(leaf), 1)
                          for leaf in ("events", "status", "telemetry", "reply")])  # fmt: skip
        self.inbox.put(("$connected", b""))

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        self.inbox.put((message.topic, bytes(message.payload)))

    # -- any thread (the dashboard's): hand a command over to the loop, the one publisher ----
    def send(self, tid: str, envelope: dict[str, Any]) -> None:
        """Publish a command to a terminal from the loop's thread; its reply arrives in the
        store's replies (`Store.reply(cmd_id)`)."""
        self.inbox.put((COMMAND + topics.check_terminal(tid), json.dumps(envelope).encode()))

    # -- the host's own thread ---------------------------------------------------------------
    def run(self) -> None:
        host, port = broker_address(self.config)
        self.client.connect_async(host, port, keepalive=30)
        self.client.loop_start()
        self.sender.start()
        if self.notifier is not None:
            self.notifier.start()
        log.info("host: %s ingesting from %s:%s into %s", self.config.host_id, host, port,
                 self.store.where)  # fmt: skip
        try:
            while not self.stopping.is_set():
                self._round()
        finally:
            self.sender.stop()
            if self.notifier is not None:
                self.notifier.stop()
            info = self.client.publish(self.status_topic, json.dumps(
                {"online": False, "ts": now_rfc3339()}), qos=1, retain=True)  # fmt: skip
            info.wait_for_publish(3)
            self.client.disconnect()
            self.client.loop_stop()

    def _round(self) -> None:
        if self.alerter.tick():  # the time-based alert rules, every [alerts] interval_s
            self._alerts_out()
        try:
            first = self.inbox.get(timeout=0.2)
        except queue.Empty:
            return
        batch = [first]
        while len(batch) < BATCH:
            try:
                batch.append(self.inbox.get_nowait())
            except queue.Empty:
                break
        events: list[dict[str, Any]] = []
        for topic, payload in batch:
            if topic == "$connected":
                self.client.publish(self.status_topic, json.dumps(
                    {"online": True, "ts": now_rfc3339()}), qos=1, retain=True)  # fmt: skip
                continue
            if topic.startswith(COMMAND):
                tid = topic.removeprefix(COMMAND)
                self.client.publish(topics.terminal(tid, "cmd"), payload, qos=1)
                continue
            self._message(topic, payload, events)
        if events:
            contacts = take_contacts(events)  # never stored in an event, [notify] or not
            if self.notifier is not None:
                self.notifier.prepare(contacts)
            done = self.alerter.ingest(events)  # committed: only now the acks
            for tid, ids in done.to_ack().items():
                for i in range(0, len(ids), commands.MAX_ACK_IDS):
                    chunk = ids[i : i + commands.MAX_ACK_IDS]
                    self.client.publish(topics.terminal(tid, "ack"),
                                        json.dumps(commands.ack(chunk)), qos=1)  # fmt: skip
            for tid in done.new:
                self._check_gap(tid)
            if self.metrics is not None:
                self.metrics.ingested(new_events(events, done))
            self._alerts_out()

    def _alerts_out(self) -> None:
        """Publish the alerts raised or cleared since the last call (committed), wake the
        webhook sender for what was queued, update the metric."""
        messages = self.alerter.take()
        for message in messages:
            self.client.publish(self.alerts_topic, json.dumps(message), qos=1)
        if self.alerter.queued:
            self.alerter.queued = 0
            self.sender.wake.set()
        if messages and self.metrics is not None:
            self.metrics.alerts(open_counts(self.store))

    def _message(self, topic: str, payload: bytes, events: list[dict[str, Any]]) -> None:
        try:
            tid, leaf = topics.split(topic)
            data = json.loads(payload)
        except (topics.TopicError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            log.warning("host: dropped a message on %s: %s", topic, exc)
            return
        if leaf == "events":
            if valid_event(data, tid):
                events.append(data)
            else:
                log.warning("host: dropped a malformed event from %s", tid)
        elif leaf == "status" and isinstance(data, dict):
            if not self.store.saw_status(tid, data):
                log.info("host: %s: an old session's status ignored", tid)
            elif self.metrics is not None:
                self.metrics.status(tid, data)
        elif leaf == "telemetry" and isinstance(data, dict):
            self.store.saw_telemetry(tid, data)
            if self.metrics is not None:
                self.metrics.telemetry(tid, data)
        elif leaf == "reply" and isinstance(data, dict):
            self.store.saw_reply(tid, data)

    def _check_gap(self, tid: str) -> None:
        gap = self.store.gap(tid)
        if gap is None:
            return
        asked = self._resend_asked.get(tid)
        if asked is not None and asked[0] == gap and time.monotonic() - asked[1] < RESEND_AFTER_S:
            return
        self._resend_asked[tid] = (gap, time.monotonic())
        log.warning("host: %s: seq %d missing, asking for a resend", tid, gap)
        envelope = commands.build(tid, "resend", {"from_seq": gap})
        self.client.publish(topics.terminal(tid, "cmd"), json.dumps(envelope), qos=1)

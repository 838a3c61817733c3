"""`posterm-host run`: ingest every terminal's events exactly once and acknowledge them
only after the commit; keep the fleet's status, telemetry and command replies; ask a
terminal to `resend` when its `seq` has a gap (host/gaps.py).

paho's network thread only queues what arrives; this loop (one thread) owns the store
and publishes the acks, the resend requests and the host's own retained status.

Several processes (`[mqtt] share_group`, `run --instance N`) share the terminals' events,
telemetry and replies through `$share/{group}/…` subscriptions and one PostgreSQL
database, which holds every terminal's contiguous seq: a gap is asked back only when it is
still there a moment later (it may be the other process's batch, not yet committed). The
retained `status` is subscribed by every process without `$share` (brokers do not deliver
retained messages to shared subscriptions). Each process has its own client id, clean
session, and retained status with a will.

A store that fails (its database restarted or unreachable) kills nothing: the batch is
not acked and is tried again with back-off until it is stored.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from typing import Any

import tenacity

from posterm.host import quarantine
from posterm.host.alerts.engine import Alerter, muted_counts, open_counts
from posterm.host.config import HostConfig
from posterm.host.crash import crashpoint
from posterm.host.delivery.process import outboxes
from posterm.host.delivery.sender import Sender
from posterm.host.gaps import Gaps
from posterm.host.metrics import Metrics
from posterm.host.mqtt_client import broker_address, make_client
from posterm.host.notify.queue import take_contacts
from posterm.host.notify.sender import IngestHooks
from posterm.host.notify.untold import UntoldHooks
from posterm.host.store import Ingested, Store, StoreError
from posterm.protocol import backoff
from posterm.protocol.mqtt import commands, topics, wire
from posterm.protocol.mqtt.events import now_rfc3339

log = logging.getLogger("posterm.host")

BATCH = 500  # events per store transaction (and per ack message, per terminal)
ACK_WINDOW = 200  # acks and commands awaiting their PUBACK (paho's default 20 throttles acks)
COMMAND = "$command/"  # in the inbox: a command another thread hands over (`send`)
SKIP_ROUNDS = 3  # shared: rounds in a row that may leave messages of terminals held elsewhere


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


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, StoreError) and exc.transient


def _terminal(topic: str) -> str | None:
    """The terminal a message's topic names (None: not a terminal's topic)."""
    try:
        return topics.split(topic)[0]
    except topics.TopicError:
        return None


def _terminals(batch: list[tuple[str, bytes]]) -> list[str]:
    """The terminals a batch's messages come from (their topics)."""
    return sorted({tid for topic, _ in batch if (tid := _terminal(topic)) is not None})


def process_name(host_id: str, instance: str | None) -> str:
    """The name of one `posterm-host run` process: the host id, or `{id}-{instance}`."""
    return f"{host_id}-{instance}" if instance else host_id


class HostService:
    def __init__(
        self,
        config: HostConfig,
        store: Store,
        metrics: Metrics | None = None,
        instance: str | None = None,
        *,
        sends: bool = True,
    ) -> None:
        """`sends`: this process also runs the delivery sender (a thread); False for
        `run --role ingest`, whose deliveries a `run --role sender` process sends."""
        self.config = config
        self.store = store
        self.metrics = metrics
        self.instance = instance
        # put by paho's thread, taken by this one: the C queue, no lock or condition in Python
        self.inbox: queue.SimpleQueue[tuple[str, bytes]] = queue.SimpleQueue()
        name = process_name(config.host_id, instance)
        self.status_topic = topics.host(name, "status")  # one retained status per process
        # shared: a clean session, so a dead process's share of new events is not parked in
        # its session (brokers deliver to offline persistent members); what it had and did
        # not ack comes again from the terminals
        self.client_id = f"posterm-host-{name}"
        self.client = make_client(config, self.client_id, clean=bool(config.share_group))
        self.client.will_set(self.status_topic, json.dumps(self._status(False)), qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 30)
        self.client.max_inflight_messages_set(ACK_WINDOW)
        self.gaps = Gaps(store, self._publish_qos1, shared=bool(config.share_group))
        self._later: list[tuple[str, bytes]] = []  # messages of terminals held elsewhere
        self._skips = 0  # rounds in a row that left some (`_skip_locked`)
        self._store_error: str | None = None
        self.stopping = threading.Event()
        self.sender = Sender(store, outboxes(config, store), owner=name) if sends else None
        # without [notify]: a refund's contact makes a failed row (the customer not told)
        self.notify: IngestHooks | UntoldHooks = (
            IngestHooks(self.sender) if config.notify else UntoldHooks()
        )
        self.alerter = Alerter(
            store,
            config.alerts,
            stale_after_s=config.stale_after_s,
            webhooks=config.webhooks,
            new_event_hooks=(self.notify.on_new,),
            holder=name,  # processes sharing the database: one runs the time-based rules
        )
        self.alerts_topic = topics.host(config.host_id, "alerts")

    def _status(self, online: bool) -> dict[str, Any]:
        status: dict[str, Any] = {"online": online, "ts": now_rfc3339()}
        if self.instance:
            status.update(host=self.config.host_id, instance=self.instance)
        return status

    # -- paho's thread: queue only ---------------------------------------------------------
    def _on_connect(
        self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            log.warning("host: broker refused: %s", reason)
            return
        share = f"$share/{self.config.share_group}/" if self.config.share_group else ""
        client.subscribe(
            [(topics.all_terminals("status"), 1)]  # retained: never shared
            + [(share + topics.all_terminals(leaf), 1) for leaf in ("events", "telemetry", "reply")]
        )
        self.inbox.put(("$connected", b""))

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        self.inbox.put((message.topic, bytes(message.payload)))

    # -- any thread (the dashboard's): hand a command over to the loop, the one publisher ----
    def _publish_qos1(self, topic: str, payload: str) -> None:
        self.client.publish(topic, payload, qos=1)

    def send(self, tid: str, envelope: dict[str, Any]) -> None:
        """Publish a command to a terminal from the loop's thread; its reply arrives in the
        store's replies (`Store.reply(cmd_id)`)."""
        self.inbox.put((COMMAND + topics.check_terminal(tid), json.dumps(envelope).encode()))

    # -- the host's own thread ---------------------------------------------------------------
    def run(self) -> None:
        host, port = broker_address(self.config)
        self.client.connect_async(host, port, keepalive=30)
        self.client.loop_start()
        if self.sender is not None:
            self.sender.start()
        log.info(
            "host: %s ingesting from %s:%s into %s%s",
            self.client_id,
            host,
            port,
            self.store.where,
            f" (shared: $share/{self.config.share_group})" if self.config.share_group else "",
        )
        try:
            while not self.stopping.is_set():
                try:
                    self._round()
                except Exception:  # a bug must not take the fleet's ingest down
                    log.exception("host: a round of the loop failed; going on")
                    self.stopping.wait(1.0)
        finally:
            if self.sender is not None:
                self.sender.stop()
            info = self.client.publish(
                self.status_topic, json.dumps(self._status(False)), qos=1, retain=True
            )
            info.wait_for_publish(3)
            self.client.disconnect()
            self.client.loop_stop()

    def _round(self) -> None:
        turns = self.alerter.turns
        self.alerter.tick()  # the time-based alert rules, every [alerts] interval_s
        if self.alerter.turns != turns:  # (run here or by another process: mutes end)
            self._alerts_out(ticked=True)
        batch, self._later = self._later, []  # left by the last batch (held elsewhere)
        self._skips = self._skips + 1 if batch else 0
        if not batch:
            try:
                batch = [self.inbox.get(timeout=0.2)]
            except queue.Empty:
                self.gaps.ask()
                return
        while len(batch) < BATCH:
            try:
                batch.append(self.inbox.get_nowait())
            except queue.Empty:
                break
        if any(topic == "$connected" for topic, _ in batch):
            self.client.publish(
                self.status_topic, json.dumps(self._status(True)), qos=1, retain=True
            )
        for topic, payload in batch:  # commands handed over by the dashboard
            if topic.startswith(COMMAND):
                self.client.publish(
                    topics.terminal(topic.removeprefix(COMMAND), "cmd"), payload, qos=1
                )
        self._take([m for m in batch if m[0] != "$connected" and not m[0].startswith(COMMAND)])
        self._alerts_out()

    def _alerts_out(self, *, ticked: bool = False) -> None:
        """Publish the alerts raised or cleared since the last call (committed), wake the
        webhook sender for what was queued, update the metric (also on a tick: a mute
        set by another process, or ending, changes it)."""
        messages = self.alerter.take()
        for message in messages:
            self.client.publish(self.alerts_topic, json.dumps(message), qos=1)
        if self.alerter.queued:
            self.alerter.queued = 0
            if self.sender is not None:
                self.sender.wake.set()
        if (messages or ticked) and self.metrics is not None:
            self.metrics.alerts(open_counts(self.store), muted_counts(self.store))

    def _take(self, batch: list[tuple[str, bytes]]) -> None:
        """Store a batch, then ack it; while the store cannot reach its database, the same
        batch again with back-off (nothing acked: the terminals keep the events). A batch
        the database refuses is taken one message at a time: only what it refuses is
        dropped (logged; not acked)."""
        retrying = tenacity.Retrying(
            wait=_store_wait,
            retry=tenacity.retry_if_exception(_transient),
            stop=lambda _: self.stopping.is_set(),
            sleep=self._pause,
            before_sleep=self._store_failed,
            reraise=True,
        )
        try:
            done, events = retrying(self._store, batch)
        except StoreError as exc:
            if exc.transient:  # stopping
                log.warning(
                    "host: %d messages not stored (%s); the terminals send them again",
                    len(batch),
                    exc,
                )
            else:
                self._one_by_one(batch, exc)
            return
        except Exception as exc:  # one message never stops ingest: found and quarantined
            self._one_by_one(batch, exc)
            return
        if self._store_error is not None:
            log.info("host: the store is back (%s)", self.store.where)
            self._store_error = None
        if done is None:
            return
        crashpoint("after_commit")  # committed: only now the acks
        for tid, ids in done.to_ack().items():
            for i in range(0, len(ids), commands.MAX_ACK_IDS):
                chunk = ids[i : i + commands.MAX_ACK_IDS]
                self.client.publish(
                    topics.terminal(tid, "ack"), json.dumps(commands.ack(chunk)), qos=1
                )
        self.gaps.seen(done)
        self.gaps.ask()
        if self.metrics is not None:
            self.metrics.ingested(new_events(events, done))

    def _one_by_one(self, batch: list[tuple[str, bytes]], exc: BaseException) -> None:
        """A batch that failed for something other than the store being away: each message
        on its own, so only the one that fails is kept out; that one is quarantined (and
        acked when it is an event whose id can be read), and ingest goes on."""
        if len(batch) > 1:
            for message in batch:
                self._take([message])
            return
        topic, payload = batch[0]
        log.error(
            "host: handling a message on %s failed (%s: %s); quarantined",
            quarantine.shown(topic.encode("utf-8", "surrogateescape")),
            type(exc).__name__,
            exc,
        )
        tid = _terminals(batch)
        bad = quarantine.refused(
            tid[0] if tid else None, topic, f"handling failed: {type(exc).__name__}", payload
        )
        staged = len(self.alerter.outbox)
        try:
            with self.store.batch(tid):
                self.alerter.quarantined([bad])
        except Exception as again:  # not even that: logged, not acked (sent again)
            del self.alerter.outbox[staged:]  # rolled back
            log.error("host: could not quarantine it either: %s", again)
            return
        self._ack_refused([bad])

    def _ack_refused(self, refused: list[quarantine.Bad]) -> None:
        """Ack the refused events whose id can be read: they never block the terminal."""
        for bad in refused:
            event_id = bad.event_id() if bad.topic.endswith("/events") else None
            if event_id is not None and bad.terminal is not None:
                self.client.publish(
                    topics.terminal(bad.terminal, "ack"),
                    json.dumps(commands.ack([event_id])),
                    qos=1,
                )

    def _pause(self, seconds: float) -> None:
        self.stopping.wait(seconds)

    def _store_failed(self, state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if str(exc) != self._store_error:  # logged when the error changes, not every try
            log.error("host: store failed, acking nothing, trying again with back-off: %s", exc)
            self._store_error = str(exc)

    def _store(
        self, batch: list[tuple[str, bytes]]
    ) -> tuple[Ingested | None, list[dict[str, Any]]]:
        events: list[dict[str, Any]] = []
        texts: dict[str, str] = {}
        refused: list[quarantine.Bad] = []
        staged = len(self.alerter.outbox)
        try:
            # one commit for its events, statuses, telemetry, replies and refused messages
            skip = self._skip_locked() and not any(t.endswith("/status") for t, _ in batch)
            with self.store.batch(_terminals(batch), skip_locked=skip) as mine:
                now: list[tuple[str, bytes]] = []
                later: list[tuple[str, bytes]] = []  # held by another process: next round
                for message in batch:
                    tid = _terminal(message[0])
                    (later if tid is not None and tid not in mine else now).append(message)
                for topic, payload in now:
                    self._message(topic, payload, events, texts, refused)
                if refused:
                    self.alerter.quarantined(refused)
                if not events:
                    done = None
                else:
                    contacts, held = take_contacts(events)  # never stored, [notify] or not
                    for event_id in held:
                        texts.pop(event_id, None)  # the text as received still holds it
                    self.notify.prepare(contacts)
                    done = self.alerter.ingest(events, texts)
                    crashpoint("before_commit")  # its events' statements sent, no commit
        except BaseException:
            del self.alerter.outbox[staged:]  # rolled back: nothing of it is published
            raise
        self._ack_refused(refused)
        self._later.extend(later)  # committed: the rest waits for the next round
        return done, events

    def _skip_locked(self) -> bool:
        """Shared: a batch takes only the terminals no other process holds now, and leaves
        the others' messages for the next round (`Store.batch`); after SKIP_ROUNDS rounds
        in a row that left some, one waits for the locks (nothing is left for ever). Not
        for a batch with statuses (`_store`): every process gets every retained status,
        in the same order, so skipping would only make them take turns more often."""
        return bool(self.config.share_group) and self._skips < SKIP_ROUNDS

    def _message(
        self,
        topic: str,
        payload: bytes,
        events: list[dict[str, Any]],
        texts: dict[str, str],
        refused: list[quarantine.Bad],
    ) -> None:
        """Decode one message against its wire schema (protocol/mqtt/wire.py) and hand it
        to the store; one that does not fit goes to `refused` (quarantined)."""
        try:
            tid, leaf = topics.split(topic)
        except topics.TopicError as exc:
            refused.append(quarantine.refused(None, topic, str(exc), payload))
            return
        try:
            data = (
                wire.decode_event(payload, tid) if leaf == "events" else wire.decode(payload, leaf)
            )
        except (wire.WireError, KeyError) as exc:  # KeyError: a leaf terminals never send
            refused.append(quarantine.refused(tid, topic, str(exc), payload))
            return
        if leaf == "events":
            events.append(data)
            texts[data["event_id"]] = payload.decode()  # UTF-8 without a BOM: checked
        elif leaf == "status":
            if not self.store.saw_status(tid, data):
                log.info("host: %s: an old session's status ignored", tid)
            elif self.metrics is not None:
                self.metrics.status(tid, data)
        elif leaf == "telemetry":
            self.store.saw_telemetry(tid, data)
            if self.metrics is not None:
                self.metrics.telemetry(tid, data)
        elif leaf == "reply":
            self.store.saw_reply(tid, data)


def _store_wait(state: tenacity.RetryCallState) -> float:
    """The store's retry loop waits by posterm's one back-off (protocol/backoff.py)."""
    return backoff.delay(state.attempt_number, first=0.2, cap=10.0, jitter=0.5)

"""The outbox relay: the one thread that owns the MQTT connection (money rule 6).

It publishes the outbox in `seq` order (QoS 1, at most `mqtt.inflight` unacknowledged by
the broker), marks an event sent on its PUBACK, and drops it from the outbox only when the
host's `ack` names it. After every (re)connect — and so after a restart — every event the
host has not acknowledged is published again, oldest first; the host drops duplicates by
`event_id`. Birth and will carry a session number that grows with every connection, so a
late will of an old connection never marks a newer one offline. Telemetry goes out every
`mqtt.telemetry_s`. Nothing is published from inside a paho callback.

The drain is batched: the next READ_BATCH unacknowledged events come from the journal in
one query, as the bytes to publish, and the PUBACKed ones are marked sent in one
transaction per flush (SENT_FLUSH_SECONDS) by the sent-marker's thread (marker.py), which
also commits the host's acks. This thread drives paho's socket (`Link.step`; the callbacks
only record what happened) and never waits on a commit of its own for marking sent or for
an ack.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from posterm.daemon.backoff import Backoff
from posterm.daemon.config import MqttSection
from posterm.daemon.journal.errors import JournalError
from posterm.daemon.journal.store import Journal
from posterm.daemon.sync.commands import CommandHandler, PendingCommand
from posterm.daemon.sync.link import Link, LinkError, LinkEvent
from posterm.daemon.sync.marker import SentMarker
from posterm.daemon.sync.renewal import Renewer
from posterm.daemon.sync.telemetry import telemetry
from posterm.daemon.terminal import Terminal
from posterm.protocol.errorcodes import ErrorCode
from posterm.protocol.mqtt import commands as schema
from posterm.protocol.mqtt import topics
from posterm.protocol.mqtt.events import now_rfc3339
from posterm.protocol.mqtt.keyring import HostKey

log = logging.getLogger("posterm.mqtt")

SESSION_KEY = "mqtt_session"
JOURNAL_ID_KEY = "journal_id"  # made with the journal's first relay: a re-flash makes anew
STEP_SECONDS = 0.05  # paho's loop per round: how quickly the relay notices new events
CONNACK_SECONDS = 10.0
# Everything published and PUBACKed, yet some events unacknowledged this long: the host
# may never have got them (its broker session was lost), so they go again, oldest first.
# PUBACKed events are marked sent in one fsync'ed journal transaction: at once when nothing
# is in flight any more, and under load at most this late (not one commit per round)
SENT_FLUSH_SECONDS = 0.5
# unacknowledged events read from the journal in one query, then published as the in-flight
# window has room (not one query per round for the few the window took)
READ_BATCH = 500


class Relay:
    def __init__(
        self,
        config: MqttSection,
        journal: Journal,
        terminal: Terminal,
        *,
        host_key: Ed25519PublicKey | Sequence[HostKey] | None,
        version: str,
        on_link: Callable[[bool], None] | None = None,
    ) -> None:
        self.config = config
        self.journal = journal
        self.terminal = terminal
        self.tid = journal.terminal_id
        self.version = version
        self.on_link = on_link
        self.link = Link(config, self.tid)
        self.commands = CommandHandler(
            self.tid, journal, terminal, host_key, key_file=config.host_public_key
        )
        self.backoff = Backoff("mqtt", cap=15.0)
        self.boot_id = str(uuid.uuid4())
        self.journal_id = _journal_id(journal)
        self.started = time.monotonic()
        self.state = "disconnected"  # connecting, connected; read by `snapshot()`
        self.since = now_rfc3339()
        self.session = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mqtt-relay", daemon=True)
        self._inflight: dict[int, str] = {}  # mid -> event_id
        self._published_up_to = 0  # highest seq published on this connection
        # read ahead from the outbox, above `_published_up_to`: (seq, event_id, payload)
        self._queue: deque[tuple[int, str, bytes]] = deque()
        self._caught_up_at: float | None = None  # when the last unsent event went out
        self._resend_from: int | None = None
        self._pending: list[PendingCommand] = []
        self._sent: list[str] = []  # PUBACKed, not yet handed to the marker
        self.marker = SentMarker(journal)  # commits them, and the host's acks, off this thread
        self._sent_since = 0.0  # when the oldest PUBACK in `_sent` came
        self._next_telemetry = 0.0
        self._connack_by = 0.0
        self._reconnect = threading.Event()  # set by the renewer: new certificate files
        self.renewer: Renewer | None = None
        self._files = 0  # the generation of the certificate files the connection was opened with
        if config.renew_url is not None:
            self.renewer = Renewer(config, self.tid, self.request_reconnect)

    # -- life cycle (main thread) ------------------------------------------------------
    def start(self) -> None:
        if self.renewer is not None:
            self.renewer.start()
        self._thread.start()

    def request_reconnect(self, why: str) -> None:
        """From any thread: end the connection cleanly and open a new one at once (it
        reads the certificate files again)."""
        log.info("mqtt: reconnecting: %s", why)
        self._reconnect.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Publish the offline status ourselves (a DISCONNECT suppresses the will)."""
        self._stop.set()
        if self.renewer is not None:
            self.renewer.stop()
        self._thread.join(timeout + 2.0)

    def snapshot(self) -> dict[str, Any]:
        """The host link for `posterm status` (read from any thread)."""
        return {
            "state": self.state,
            "since": self.since,
            "session": self.session,
            "retry_in": None if self.state == "connected" else _round(self.backoff.retry_in()),
            "broker": f"{self.link.host}:{self.link.port}",
        }

    # -- the relay thread ----------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._round()
            except JournalError as exc:  # the terminal's own FAULT handling shows it
                log.error("mqtt: journal: %s", exc)
                self._stop.wait(1.0)
            except Exception:
                log.exception("mqtt: relay round failed; reconnecting")
                self._failed("relay error")
                self._stop.wait(1.0)
        self._goodbye()
        self.marker.close()  # what was PUBACKed is committed as sent before we end

    def _round(self) -> None:
        if self._reconnect.is_set():
            self._reconnect.clear()
            if self.state != "disconnected":
                self._goodbye()  # the offline status, DISCONNECT: no stale will
            self.backoff.succeeded()  # new files: the next connection goes at once
        if self.state == "disconnected":
            if not self.backoff.due():
                self._stop.wait(min(0.5, self.backoff.retry_in() or 0.5))
                self._finish_commands()
                return
            self._connect()
            return
        for link_event in self.link.step(STEP_SECONDS):
            self._on(link_event)
        if self.state == "connecting" and time.monotonic() > self._connack_by:
            self._failed("no CONNACK from the broker")
        if self.state != "connected":
            return
        self._finish_commands()
        self._publish_events()
        if self._sent and (
            not self._inflight or time.monotonic() - self._sent_since >= SENT_FLUSH_SECONDS
        ):
            self._mark_sent()
        if time.monotonic() >= self._next_telemetry:
            self._next_telemetry = time.monotonic() + self.config.telemetry_s
            status = self.terminal.status()
            data = telemetry(
                status,
                self.journal,
                started=self.started,
                version=self.version,
                period_s=self.config.telemetry_s,
            )
            self.link.publish(topics.terminal(self.tid, "telemetry"), data, qos=0)

    def _connect(self) -> None:
        self.session = self._next_session()
        self._set_state("connecting")
        self._files = self.renewer.files if self.renewer is not None else 0  # before reading them
        try:
            self.link.open(topics.terminal(self.tid, "status"), self._status(online=False))
        except LinkError as exc:
            self._failed(str(exc))
            if exc.refused:
                self._refused(str(exc))
            return
        self._connack_by = time.monotonic() + CONNACK_SECONDS

    def _on(self, link_event: LinkEvent) -> None:
        if link_event.kind == "connected":
            if not link_event.ok:
                self._failed(f"the broker refused the connection: {link_event.reason}")
                if link_event.refused:  # this terminal's credentials, not the broker's state
                    self._refused(link_event.reason)
                return
            self._connected()
        elif link_event.kind == "disconnected":
            if self.state == "connecting":  # before CONNACK: TLS 1.3 refuses a client here
                self._failed(f"connection closed before CONNACK: {link_event.reason}")
                if self.link.tls:  # (without TLS no certificate was refused)
                    self._refused(link_event.reason)
            elif self.state != "disconnected":
                self._failed(f"connection lost: {link_event.reason}")
        elif link_event.kind == "puback":
            event_id = self._inflight.pop(link_event.mid, None)
            if event_id is not None and link_event.ok:
                if not self._sent:
                    self._sent_since = time.monotonic()
                self._sent.append(event_id)
        elif link_event.kind == "message":
            self._message(link_event.topic, link_event.payload)

    def _refused(self, why: str) -> None:
        """The broker refused this connection: the renewer counts it against a renewed
        certificate (and puts the old one back after a few)."""
        if self.renewer is not None:
            self.renewer.link_refused(why, self._files)

    def _connected(self) -> None:
        self.backoff.succeeded()
        if self.renewer is not None:
            self.renewer.link_up(self._files)
        self._inflight.clear()
        self._published_up_to = 0  # everything unacknowledged goes again, oldest first
        self._queue.clear()
        self._next_telemetry = 0.0
        self._set_state("connected")
        self.link.subscribe([topics.terminal(self.tid, "cmd"), topics.terminal(self.tid, "ack")])
        self.link.publish(
            topics.terminal(self.tid, "status"), self._status(online=True), retain=True
        )
        log.info(
            "mqtt: connected to %s:%s, session %d, %d event(s) to send",
            self.link.host,
            self.link.port,
            self.session,
            self.journal.outbox_depth(),
        )

    def _failed(self, why: str) -> None:
        self.link.close()
        self._inflight.clear()
        self._set_state("disconnected")
        self.backoff.failed(why)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            was_connected = self.state == "connected"
            self.state, self.since = state, now_rfc3339()
            if self.on_link is not None and (was_connected or state == "connected"):
                self.on_link(state == "connected")

    def _next_session(self) -> int:
        with self.journal.transaction() as tx:
            session = int(tx.kv_get(SESSION_KEY) or 0) + 1
            tx.kv_set(SESSION_KEY, str(session))
        return session

    def _status(self, *, online: bool) -> dict[str, Any]:
        return {
            "online": online,
            "session": self.session,
            "boot_id": self.boot_id,
            "journal_id": self.journal_id,
            "version": self.version,
            "ts": now_rfc3339(),
        }

    # -- events ---------------------------------------------------------------------------
    def _publish_events(self) -> None:
        room = self.config.inflight - len(self._inflight)
        if room <= 0:
            return
        if self._resend_from is not None:  # the host's `resend`: acknowledged ones too
            batch = self.journal.outbox_wire(self._resend_from - 1, room, acked_too=True)
            self._resend_from = batch[-1][0] + 1 if len(batch) == room else None
            self._queue.clear()  # read again above what the resend reaches
        else:
            if not self._queue:
                self._queue.extend(
                    self.journal.outbox_wire(self._published_up_to, max(READ_BATCH, room))
                )
            if not self._queue and not self._inflight:
                self._wait_for_acks()
                return
            take = min(room, len(self._queue))
            batch = [self._queue.popleft() for _ in range(take)]
        self._caught_up_at = None
        topic = topics.terminal(self.tid, "events")
        publish, inflight = self.link.publish_bytes, self._inflight
        for seq, event_id, payload in batch:
            mid = publish(topic, payload)
            if mid is None:
                self._failed("paho did not take the message")
                return
            inflight[mid] = event_id
            self._published_up_to = max(self._published_up_to, seq)

    def _wait_for_acks(self) -> None:
        """All published; if the host has not acknowledged some for [mqtt] ack_wait_s,
        publish every unacknowledged event again (the host drops duplicates)."""
        now = time.monotonic()
        if self._caught_up_at is None:
            self._caught_up_at = now
        elif now - self._caught_up_at >= self.config.ack_wait_s:
            self._caught_up_at = None
            waiting = self.journal.outbox_depth()
            if waiting:
                log.warning(
                    "mqtt: %d event(s) unacknowledged for %.0f s: sending them again",
                    waiting,
                    self.config.ack_wait_s,
                )
                self._published_up_to = 0
                self._queue.clear()

    def _mark_sent(self) -> None:
        self.marker.mark(self._sent)  # its commit (an fsync) never holds up the socket
        self._sent = []

    # -- messages from the host -------------------------------------------------------------
    def _message(self, topic: str, payload: bytes) -> None:
        try:
            _, leaf = topics.split(topic)
        except topics.TopicError:
            log.warning("mqtt: message on an unexpected topic %r", topic)
            return
        if leaf == "ack":
            try:
                ids = schema.parse_ack(payload)
            except schema.AckError as exc:
                log.warning("mqtt: ack ignored: %s", exc)
                return
            self.marker.ack(ids)  # committed on the marker's thread, as marking sent
        elif leaf == "cmd":
            self._command(payload)

    def _command(self, payload: bytes) -> None:
        received = self.commands.receive(payload)
        if received.reply is not None:
            self._reply(received.reply)
        elif received.pending is not None:
            self._pending.append(received.pending)
        elif received.link is not None:
            cmd = received.link
            if cmd.name == "ping":
                result: dict[str, Any] = {"pong": True, "session": self.session}
            elif cmd.name == "rebirth":
                self.link.publish(
                    topics.terminal(self.tid, "status"), self._status(online=True), retain=True
                )
                result = {"session": self.session}
            else:  # resend
                start = cmd.args.get("from_seq", 1)
                if isinstance(start, bool) or not isinstance(start, int) or start < 1:
                    self._reply(
                        self.commands.done(
                            cmd.cmd_id,
                            schema.reply(
                                cmd.cmd_id,
                                code=ErrorCode.BAD_COMMAND,
                                message="resend needs args.from_seq >= 1",
                            ),
                        )
                    )
                    return
                self._resend_from = start
                result = {"from_seq": start}
            self._reply(self.commands.done(cmd.cmd_id, schema.reply(cmd.cmd_id, result=result)))

    def _finish_commands(self) -> None:
        for pending in [r for r in self._pending if r.future.done()]:
            self._pending.remove(pending)
            reply = self.commands.finish(pending)
            if self.state == "connected":
                self._reply(reply)

    def _reply(self, reply: dict[str, Any]) -> None:
        self.link.publish(topics.terminal(self.tid, "reply"), reply)

    # -- clean shutdown --------------------------------------------------------------------
    def _goodbye(self) -> None:
        if self._sent:
            self._mark_sent()
        if self.state == "connected":
            mid = self.link.publish(
                topics.terminal(self.tid, "status"), self._status(online=False), retain=True
            )
            deadline = time.monotonic() + 3.0
            acked = False
            while mid is not None and not acked and time.monotonic() < deadline:
                acked = any(h.kind == "puback" and h.mid == mid for h in self.link.step(0.05))
            self.link.disconnect()
        self.link.close()
        self._set_state("disconnected")


def _round(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 1)


def _journal_id(journal: Journal) -> str:
    """This journal's id, made once: the host tells a re-flashed terminal (a new, empty
    journal whose seq and session start from 1 again) by a new one."""
    with journal.transaction() as tx:
        known = tx.kv_get(JOURNAL_ID_KEY)
        if known:
            return str(known)
        made = new_journal_id()
        tx.kv_set(JOURNAL_ID_KEY, made)
    return made


def new_journal_id() -> str:
    """A random id in four groups of 8 hex digits joined by ':'. Not a UUID's 8-4-4-4-12
    with dashes: its digit groups can read as a card number (about one id in ten thousand),
    and the journal refuses to store one; here no run of digits is longer than 8."""
    hexits = uuid.uuid4().hex
    return ":".join(hexits[i : i + 8] for i in range(0, 32, 8))

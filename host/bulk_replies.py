"""One broker session for commands to several terminals at once (the CLI's close of the
day for a site): subscribed to each terminal's reply topic before anything is published;
a reply counts only from its own terminal's topic and only when it fits its wire schema."""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import Any

from posterm.host.config import HostConfig
from posterm.host.mqtt_client import broker_address, make_client
from posterm.protocol.mqtt import topics, wire

SUBSCRIBE_S = 10.0


class BulkReplyError(Exception):
    """The broker could not be reached or did not take the subscriptions."""


class BulkSession:
    """`publish(tid, envelope)` and `reply(cmd_id, tid)` over one client; `close()` ends it."""

    def __init__(self, config: HostConfig, terminals: list[str]) -> None:
        self._replies: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._client = make_client(
            config, f"posterm-host-{config.host_id}-bulk-{os.getpid()}", clean=True
        )
        self._tid_of = {topics.terminal(t, "reply"): t for t in terminals}
        wanted = [(topic, 1) for topic in self._tid_of]
        self._client.on_connect = lambda c, u, f, r, p: c.subscribe(wanted)
        self._client.on_subscribe = lambda c, u, mid, codes, p: self._subscribed.set()
        self._client.on_message = self._on_message
        host, port = broker_address(config)
        try:
            self._client.connect(host, port, keepalive=30)
        except OSError as exc:
            raise BulkReplyError(f"broker {host}:{port}: {exc}") from exc
        self._client.loop_start()
        if not wanted:
            self._subscribed.set()
        if not self._subscribed.wait(SUBSCRIBE_S):
            self.close()
            raise BulkReplyError(f"broker {host}:{port} took no subscription in {SUBSCRIBE_S:g} s")

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        try:
            reply = wire.decode(bytes(message.payload), "reply")
        except wire.WireError as exc:  # a terminal's bytes: only a reply that fits counts
            print(
                f"posterm-host: a reply that does not fit its schema: {exc.reason}", file=sys.stderr
            )
            return
        tid = self._tid_of.get(str(message.topic))
        if tid is not None and isinstance(reply.get("cmd_id"), str):
            with self._lock:
                self._replies.setdefault((reply["cmd_id"], tid), reply)

    def publish(self, tid: str, envelope: dict[str, Any]) -> None:
        self._client.publish(topics.terminal(tid, "cmd"), json.dumps(envelope), qos=1)

    def reply(self, cmd_id: str, tid: str) -> dict[str, Any] | None:
        with self._lock:
            return self._replies.get((cmd_id, tid))

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

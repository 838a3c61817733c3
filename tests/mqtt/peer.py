"""A paho-mqtt 2.x client for the broker tests: connect, subscribe, publish, observe."""

from __future__ import annotations

import queue
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

TIMEOUT = 5.0  # longest wait for something that must happen; nothing waits this long on success
SUBACK_FAILURE = 0x80


class PeerError(AssertionError):
    """Something the broker should have done did not happen in time."""


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    retain: bool


class Peer:
    """One MQTT 3.1.1 client over TLS, its received messages in a queue."""

    def __init__(
        self,
        port: int,
        *,
        client_id: str,
        ca: Path,
        cert: Path | None,
        key: Path | None,
        username: str | None = None,
    ) -> None:
        self.port = port
        self.client_id = client_id
        self.messages: queue.Queue[Message] = queue.Queue()
        self._outcome: queue.Queue[str | ReasonCode] = queue.Queue()
        self._subacks: dict[int, list[ReasonCode]] = {}
        self._suback_cv = threading.Condition()
        c = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv311,
            clean_session=True,
        )
        c.tls_set(
            ca_certs=str(ca),
            certfile=str(cert) if cert else None,
            keyfile=str(key) if key else None,
        )
        if username is not None:
            c.username_pw_set(username)
        c.on_connect = self._on_connect
        c.on_connect_fail = self._on_connect_fail
        c.on_disconnect = self._on_disconnect
        c.on_subscribe = self._on_subscribe
        c.on_message = self._on_message
        self.client = c

    # paho's network thread: hand over, never block
    def _on_connect(self, _c: Any, _u: Any, _f: Any, rc: ReasonCode, _p: Any) -> None:
        self._outcome.put(rc)

    def _on_connect_fail(self, _c: Any, _u: Any) -> None:
        self._outcome.put("connect failed")

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, rc: ReasonCode, _p: Any) -> None:
        self._outcome.put(f"disconnected ({rc})")

    def _on_subscribe(self, _c: Any, _u: Any, mid: int, rcs: list[ReasonCode], _p: Any) -> None:
        with self._suback_cv:
            self._subacks[mid] = rcs
            self._suback_cv.notify_all()

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self.messages.put(Message(msg.topic, msg.payload, bool(msg.retain)))

    def try_connect(self) -> str | ReasonCode:
        """Connect; the CONNACK's reason code, or how the connection failed."""
        try:
            self.client.connect("127.0.0.1", self.port, keepalive=30)
        except (ssl.SSLError, OSError) as e:
            return f"connect raised {type(e).__name__}: {e}"
        # the network loop by hand until CONNACK or failure: paho's own thread would wait
        # a second before retrying a refused connection, and a test a second to stop it
        deadline = time.monotonic() + TIMEOUT
        while self._outcome.empty():
            if time.monotonic() > deadline:
                raise PeerError(f"{self.client_id}: no CONNACK nor failure in {TIMEOUT}s")
            rc = self.client.loop(timeout=0.05)
            if rc != mqtt.MQTT_ERR_SUCCESS and self._outcome.empty():
                return f"network loop: {mqtt.error_string(rc)}"
        outcome = self._outcome.get()
        if isinstance(outcome, ReasonCode) and outcome == 0:
            self.client.loop_start()
        return outcome

    def connect(self) -> Peer:
        outcome = self.try_connect()
        if not (isinstance(outcome, ReasonCode) and outcome == 0):
            raise PeerError(f"{self.client_id}: could not connect: {outcome}")
        return self

    def subscribe(self, topic: str, qos: int = 1) -> int:
        """Subscribe; the granted QoS of the SUBACK (0x80 when the broker refused)."""
        result, mid = self.client.subscribe(topic, qos)
        assert result == mqtt.MQTT_ERR_SUCCESS, result
        with self._suback_cv:
            if not self._suback_cv.wait_for(lambda: mid in self._subacks, TIMEOUT):
                raise PeerError(f"{self.client_id}: no SUBACK for {topic}")
            (rc,) = self._subacks.pop(mid)
        return int(rc.value)

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        """Publish and wait for the PUBACK: the broker has then processed the message."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(TIMEOUT)
        if not info.is_published():
            raise PeerError(f"{self.client_id}: no PUBACK for {topic}")

    def wait_disconnected(self) -> str:
        """Wait until the broker drops the connection; how paho reported it."""
        try:
            outcome = self._outcome.get(timeout=TIMEOUT)
        except queue.Empty:
            raise PeerError(f"{self.client_id}: still connected after {TIMEOUT}s") from None
        if not str(outcome).startswith("disconnected"):
            raise PeerError(f"{self.client_id}: {outcome} instead of a disconnect")
        return str(outcome)

    def receive_until(self, topic: str, payload: bytes) -> list[Message]:
        """Wait for the message (topic, payload); return the messages that came before it.

        The broker delivers to one client in order, so a message it had accepted before
        this one would be in the returned list: an empty list proves it was dropped.
        """
        before: list[Message] = []
        while True:
            try:
                msg = self.messages.get(timeout=TIMEOUT)
            except queue.Empty:
                raise PeerError(
                    f"{self.client_id}: {topic} {payload!r} never arrived; got {before}"
                ) from None
            if (msg.topic, msg.payload) == (topic, payload):
                return before
            before.append(msg)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

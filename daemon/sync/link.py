"""One MQTT connection to the broker (paho-mqtt 2, MQTT 3.1.1): TLS, credentials, the last
will, and paho's callbacks turned into a list of link events for the relay thread.

The relay thread drives paho itself (`step()` calls `client.loop()`), so paho's callbacks
run on the relay thread too; they only append to `reported` and never publish.
"""

from __future__ import annotations

import json
import logging
import ssl
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from posterm.daemon.config import MqttSection, parse_mqtt_url

log = logging.getLogger("posterm.mqtt")

# CONNACK refusals that are about this terminal's credentials (MQTT 3.1.1 rc 4 and 5: "bad
# user name or password", "not authorized"; Mosquitto's answer to a certificate its
# identity rules or dynsec do not take); rc 1-3 (protocol version, client id, server
# unavailable) say nothing about the certificate
REFUSING = frozenset({"Bad user name or password", "Not authorized"})


class LinkError(Exception):
    """The broker cannot be reached, or refused the connection (`refused`: its TLS
    handshake did, the client certificate say)."""

    def __init__(self, message: str, *, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


@dataclass(frozen=True, slots=True)
class LinkEvent:
    """What paho reported: connected / disconnected / puback / message. `refused`: a
    CONNACK refusing this terminal's credentials (REFUSING)."""

    kind: str
    ok: bool = True
    mid: int = 0
    topic: str = ""
    payload: bytes = b""
    reason: str = ""
    refused: bool = False


class Link:
    """A fresh paho client per connection: a new will (with the new session number) each
    time, and no in-memory paho session that could replay behind the relay's back."""

    def __init__(self, config: MqttSection, client_id: str) -> None:
        self.config = config
        self.client_id = client_id
        self.tls, self.host, self.port = parse_mqtt_url(config.url)
        self.client: mqtt.Client | None = None
        self.reported: list[LinkEvent] = []

    def open(self, will_topic: str, will: dict[str, Any]) -> None:
        """Connect (TCP, TLS, CONNECT with the will); CONNACK arrives as a link event."""
        self.close()
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        client.enable_logger(logging.getLogger("posterm.mqtt.paho"))
        client.max_inflight_messages_set(self.config.inflight)
        client.max_queued_messages_set(0)
        if self.tls:
            client.tls_set(
                ca_certs=str(self.config.ca_file) if self.config.ca_file else None,
                certfile=str(self.config.cert_file) if self.config.cert_file else None,
                keyfile=str(self.config.key_file) if self.config.key_file else None,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        if self.config.username is not None:
            password = None
            if self.config.password_file is not None:
                password = self.config.password_file.read_text(encoding="utf-8").strip()
            client.username_pw_set(self.config.username, password)
        client.will_set(will_topic, json.dumps(will), qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        self.client = client
        try:
            client.connect(self.host, self.port, keepalive=self.config.keepalive_s)
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
            self.close()
            # the broker breaking the handshake off (this terminal's certificate, say); not
            # the broker's own certificate failing this terminal's check
            refused = isinstance(exc, ssl.SSLError) and not isinstance(
                exc, ssl.SSLCertVerificationError
            )
            raise LinkError(f"{self.host}:{self.port}: {exc}", refused=refused) from exc

    def step(self, timeout: float) -> list[LinkEvent]:
        """Run paho for up to `timeout` s; what happened meanwhile."""
        if self.client is not None:
            rc = self.client.loop(timeout=timeout)
            if rc != mqtt.MQTT_ERR_SUCCESS and not any(
                h.kind == "disconnected" for h in self.reported
            ):
                self.reported.append(
                    LinkEvent("disconnected", ok=False, reason=mqtt.error_string(rc))
                )
        reported, self.reported = self.reported, []
        return reported

    def publish(
        self, topic: str, payload: dict[str, Any], *, qos: int = 1, retain: bool = False
    ) -> int | None:
        """Hand a message to paho; its mid (for the PUBACK), or None if it was not taken."""
        data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        return self.publish_bytes(topic, data.encode("utf-8"), qos=qos, retain=retain)

    def publish_bytes(
        self, topic: str, data: bytes, *, qos: int = 1, retain: bool = False
    ) -> int | None:
        """`publish` of a payload already encoded (an outbox event as the journal holds it)."""
        if self.client is None:
            return None
        info = self.client.publish(topic, data, qos=qos, retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return None
        return int(info.mid)

    def subscribe(self, topics: list[str]) -> None:
        if self.client is not None:
            self.client.subscribe([(t, 1) for t in topics])

    def disconnect(self) -> None:
        if self.client is not None:
            self.client.disconnect()

    def close(self) -> None:
        """Drop the socket without DISCONNECT (the broker then sends the will)."""
        client, self.client = self.client, None
        if client is not None:
            sock = client.socket()
            if sock is not None:
                sock.close()

    # -- paho callbacks (on the relay thread, inside loop()) -----------------------------
    def _on_connect(
        self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        self.reported.append(
            LinkEvent(
                "connected",
                ok=not reason.is_failure,
                reason=str(reason),
                refused=reason.is_failure and str(reason) in REFUSING,
            )
        )

    def _on_disconnect(
        self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        self.reported.append(LinkEvent("disconnected", ok=False, reason=str(reason)))

    def _on_publish(
        self, client: Any, userdata: Any, mid: int, reason: Any, properties: Any
    ) -> None:
        self.reported.append(
            LinkEvent("puback", ok=not reason.is_failure, mid=mid, reason=str(reason))
        )

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        self.reported.append(
            LinkEvent("message", topic=message.topic, payload=bytes(message.payload))
        )

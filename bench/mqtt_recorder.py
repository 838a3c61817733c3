"""A paho subscriber on `#` that keeps every payload published while it runs (the chaos
soak's card-data scan reads them all)."""

from __future__ import annotations

import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.support.broker import Broker


class Recorder:
    """A paho subscriber on `#` that keeps every payload published during the soak."""

    def __init__(self, broker: Broker) -> None:
        self.payloads: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id="soak-recorder",
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 2)
        self.client.connect_async("127.0.0.1", broker.port, keepalive=10)
        self.client.loop_start()

    def _on_connect(self, client: Any, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        client.subscribe("#", qos=1)

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        with self.lock:
            self.payloads.append((message.topic, bytes(message.payload)))

    def count(self) -> int:
        with self.lock:
            return len(self.payloads)

    def text(self) -> str:
        with self.lock:
            return "\n".join(f"{t} {p.decode('latin-1')}" for t, p in self.payloads)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()

"""posterm-host's MQTT client as every part of the host makes it (the ingest loop, the CLI's
commands, enrolment's broker check, bulk replies): paho with buffered reads (`mqtt_reads`),
MQTT 3.1.1, the host's user and TLS files from its config; and the broker's address."""

from __future__ import annotations

import ssl

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from posterm.host.config import HostConfig
from posterm.host.mqtt_reads import BufferedClient
from posterm.protocol.mqtt.url import parse_mqtt_url


def make_client(config: HostConfig, client_id: str, *, clean: bool) -> mqtt.Client:
    client = BufferedClient(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=clean,
        protocol=mqtt.MQTTv311,
    )
    if config.mqtt_username is not None:
        client.username_pw_set(config.mqtt_username)
    if parse_mqtt_url(config.mqtt_url).tls:
        client.tls_set(
            ca_certs=str(config.ca_file) if config.ca_file else None,
            certfile=str(config.cert_file) if config.cert_file else None,
            keyfile=str(config.key_file) if config.key_file else None,
            tls_version=ssl.PROTOCOL_TLS_CLIENT,
        )
    return client


def broker_address(config: HostConfig) -> tuple[str, int]:
    broker = parse_mqtt_url(config.mqtt_url)
    return broker.host, broker.port

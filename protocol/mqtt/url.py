"""The one MQTT broker URL parser, for postermd's and posterm-host's `[mqtt] url`:
`mqtt://HOST[:PORT]` (plain, port 1883) or `mqtts://HOST[:PORT]` (TLS, port 8883)."""

from __future__ import annotations

from typing import NamedTuple

from posterm.protocol.config import CheckedText

RULE = "mqtt://HOST[:PORT] or mqtts://HOST[:PORT]"


class Broker(NamedTuple):
    tls: bool
    host: str
    port: int


def parse_mqtt_url(url: str) -> Broker:
    """`mqtt://host[:1883]` or `mqtts://host[:8883]` (an IPv6 host in brackets) -> Broker;
    ValueError says what is wrong."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("mqtt", "mqtts"):
        raise ValueError(f"{url!r}: mqtt://HOST:PORT or mqtts://HOST:PORT")
    rest = rest.removesuffix("/")
    host, colon, port_text = rest.rpartition(":") if not rest.endswith("]") else (rest, "", "")
    if not colon:
        host = rest
    host = host.removeprefix("[").removesuffix("]")
    if not host or any(c in host for c in "/?#@[] ") or not host.isprintable():
        raise ValueError(f"{url!r}: no host")
    tls = scheme == "mqtts"
    if not colon:
        return Broker(tls, host, 8883 if tls else 1883)
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"{url!r}: the port is 1-65535")
    return Broker(tls, host, int(port_text))


class MqttUrl(CheckedText):
    """A config key holding a broker URL: the text, checked by parse_mqtt_url."""

    RULE = RULE
    EXAMPLE = "mqtts://broker.example:8883"

    @staticmethod
    def check(raw: str) -> object:
        return parse_mqtt_url(raw)

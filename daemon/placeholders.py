"""The packaged example config is refused until edited: its placeholder values, named.

deploy/posterm.toml.example is installed as /etc/posterm/posterm.toml; started as it is,
two forgotten Pis would share one terminal id (the MQTT client id) and talk to a host that
does not exist. Its placeholders are explicit: the terminal id `CHANGE-ME` (any id holding
that marker) and host names under `.example` (reserved by RFC 2606, never a real host).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from posterm.daemon.config import Config
from posterm.protocol.mqtt.url import parse_mqtt_url

__all__ = ["HOW_TO_ENROL", "MARKER", "placeholders", "refusal"]

MARKER = "CHANGE-ME"
HOW_TO_ENROL = (
    "enrol this terminal with `sudo posterm enroll https://BACKOFFICE/ CODE`"
    " (docs/install.md), or edit the file"
)


def _is_example_host(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host == "example" or host.endswith(".example")


def _url_host(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""  # the config loader has already refused a bad URL


def placeholders(config: Config) -> list[str]:
    """Each key of `config` still holding a placeholder, as `key = value` text."""
    found: list[str] = []
    if MARKER.lower() in config.terminal.id.lower():
        found.append(f'terminal.id = "{config.terminal.id}"')
    hosts = {
        "payment.url": _url_host(config.payment.url),
        "printer.url": _url_host(config.printer.url),
    }
    if config.mqtt is not None:
        hosts["mqtt.url"] = parse_mqtt_url(config.mqtt.url).host
        if config.mqtt.page_url is not None:
            hosts["mqtt.page_url"] = _url_host(config.mqtt.page_url)
    if config.refund_link is not None:
        hosts["refund_link.url"] = _url_host(config.refund_link.url)
    found.extend(f"{key} names {host}" for key, host in hosts.items() if _is_example_host(host))
    return found


def refusal(config: Config) -> str | None:
    """The message refusing `config` when it holds a placeholder; None when it holds none."""
    found = placeholders(config)
    if not found:
        return None
    return f"{config.path}: still the packaged example ({'; '.join(found)}): {HOW_TO_ENROL}"

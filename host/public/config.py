"""`[public]` of the host's config: the customer's refund status page (every key
explained in deploy/posterm-host.toml.example)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from posterm.protocol.config import Refused, Section, between, text

DEFAULT_KEY_FILE = Path("/var/lib/posterm-host/refund-link.key")
BaseUrl = Annotated[
    str, text(r"https?://[^\s/?#]+(/[^\s?#]*)?", "http(s)://HOST[/PATH], no query", 200)
]
Days = Annotated[int, between(0, 365, " banking days")]
Refresh = Annotated[int, between(2, 3600, " seconds")]
RELOAD_REQUESTS = 3  # a page, its stylesheet and its icon (when the browser did not cache)


def parse_bind(value: str) -> tuple[str, int]:
    """HOST:PORT (an IPv6 host in brackets); ValueError says what is wrong."""
    host, sep, port = value.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"HOST:PORT, e.g. 127.0.0.1:8090, not {value!r}")
    return host, int(port)


class PublicSection(Section, frozen=True):
    """`[public]`: the refund status page (no section: no page, no links)."""

    url: BaseUrl
    merchant_name: Annotated[str, text(max_len=64)]
    merchant_contact: Annotated[str, text(max_len=200)]
    listen: Annotated[str, text(hint="HOST:PORT, e.g. 127.0.0.1:8090")] | None = None
    key_file: Path = DEFAULT_KEY_FILE
    link_days: Annotated[int, between(1, 3650, " days")] = 60
    arrival_days: Annotated[tuple[Days, ...], msgspec.Meta(min_length=2, max_length=2)] = (3, 10)
    timezone: Annotated[str, text(hint="an IANA zone like Europe/Berlin", max_len=64)] = "UTC"
    rate_per_minute: Annotated[int, between(1, 100_000)] = 30
    # an open page reloads itself every [IN_PROGRESS, BEFORE_CLOSING] seconds: while the
    # refund waits for approval or the card terminal, then while it waits for the closing
    refresh_s: Annotated[tuple[Refresh, ...], msgspec.Meta(min_length=2, max_length=2)] = (20, 300)
    forwarded_allow_ips: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        msgspec.structs.force_setattr(self, "url", self.url.rstrip("/"))
        if self.listen is not None:
            try:
                parse_bind(self.listen)
            except ValueError as exc:
                raise Refused(str(exc), "listen") from None
        if RELOAD_REQUESTS * 60 / self.refresh_s[0] > self.rate_per_minute:
            raise Refused(
                f"an open page's own reloads ({RELOAD_REQUESTS} requests each at most) would"
                f" reach rate_per_minute ({self.rate_per_minute}): reload less often or"
                " raise rate_per_minute",
                "refresh_s",
            )
        if self.arrival_days[0] > self.arrival_days[1]:
            raise Refused("[FROM, TO] with FROM <= TO, like [3, 10]", "arrival_days")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise Refused("an IANA zone like Europe/Berlin", "timezone") from None
        proxies = []
        for entry in self.forwarded_allow_ips:
            try:
                proxies.append(str(ipaddress.ip_network(entry)))
            except ValueError:
                raise Refused(
                    f"{entry!r}: an IP address or network like 127.0.0.1 (the reverse proxy's)",
                    "forwarded_allow_ips",
                ) from None
        msgspec.structs.force_setattr(self, "forwarded_allow_ips", tuple(proxies))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

"""Device URLs for the payment terminal: `tcp://host:port`, `serial:///dev/tty?baud=9600`."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from posterm.protocol.zvt.errors import ZvtError

DEFAULT_TCP_PORT = 20007
SERIAL_OPTIONS = {"baud", "stopbits", "parity", "bytesize"}


class ZvtUrlError(ZvtError):
    """A device URL that cannot be used."""


@dataclass(frozen=True)
class PtUrl:
    scheme: str  # "tcp" | "serial"
    host: str = ""
    port: int = DEFAULT_TCP_PORT
    path: str = ""
    baud: int = 9600
    stopbits: int = 2
    parity: str = "N"
    bytesize: int = 8

    def __str__(self) -> str:
        if self.scheme == "tcp":
            return f"tcp://{self.host}:{self.port}"
        return f"serial://{self.path}?baud={self.baud}"


def parse(url: str) -> PtUrl:
    parts = urlsplit(url)
    if parts.scheme == "tcp":
        if not parts.hostname:
            raise ZvtUrlError(f"{url!r}: tcp URL needs a host")
        try:
            port = parts.port or DEFAULT_TCP_PORT
        except ValueError as exc:
            raise ZvtUrlError(f"{url!r}: bad port") from exc
        return PtUrl("tcp", host=parts.hostname, port=port)
    if parts.scheme == "serial":
        if not parts.path:
            raise ZvtUrlError(f"{url!r}: serial URL needs a device path")
        query = parse_qs(parts.query, strict_parsing=False)
        unknown = set(query) - SERIAL_OPTIONS
        if unknown:
            raise ZvtUrlError(f"{url!r}: unknown option(s) {sorted(unknown)}")
        try:
            baud = int(query.get("baud", ["9600"])[0])
            stopbits = int(query.get("stopbits", ["2"])[0])
            bytesize = int(query.get("bytesize", ["8"])[0])
        except ValueError as exc:
            raise ZvtUrlError(f"{url!r}: baud, stopbits and bytesize are numbers") from exc
        parity = query.get("parity", ["N"])[0].upper()
        if baud not in (9600, 19200, 38400, 57600, 115200) or stopbits not in (1, 2):
            raise ZvtUrlError(f"{url!r}: unsupported baud rate or stop bits")
        if parity not in ("N", "E", "O") or bytesize not in (7, 8):
            raise ZvtUrlError(f"{url!r}: unsupported parity or byte size")
        return PtUrl(
            "serial",
            path=parts.path,
            baud=baud,
            stopbits=stopbits,
            parity=parity,
            bytesize=bytesize,
        )
    raise ZvtUrlError(f"{url!r}: a payment terminal URL is tcp://host:port or serial:///dev/x")

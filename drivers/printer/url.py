"""Printer device URLs: `tcp://host:9100`, `serial:///dev/ttyUSB0?baud=115200`, `usb://VID:PID`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from posterm.drivers.printer.errors import PrinterConfigError

BAUD_RATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400)
HELP = "tcp://HOST[:PORT], serial:///dev/DEVICE[?baud=N] or usb://VID:PID (hex)"
_HEX4 = re.compile(r"^[0-9a-fA-F]{1,4}$")


@dataclass(frozen=True)
class PrinterUrl:
    scheme: str  # tcp | serial | usb
    host: str = ""
    port: int = 9100
    path: str = ""
    baud: int = 115200
    vid: int = 0
    pid: int = 0


def parse_url(url: str) -> PrinterUrl:
    """The parts of a printer URL; `PrinterConfigError` naming the problem otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port if parts.scheme == "tcp" else None
    except ValueError as exc:
        raise PrinterConfigError(f"printer url {url!r}: {exc}; expected {HELP}") from None
    query = parse_qs(parts.query, keep_blank_values=True)
    if parts.scheme == "tcp":
        if not parts.hostname or parts.path not in ("", "/") or query:
            raise PrinterConfigError(f"printer url {url!r}: expected tcp://HOST[:PORT]")
        if port == 0:
            raise PrinterConfigError(f"printer url {url!r}: port 1..65535")
        return PrinterUrl("tcp", host=parts.hostname, port=port or 9100)
    if parts.scheme == "serial":
        if parts.netloc or not parts.path.startswith("/"):
            raise PrinterConfigError(f"printer url {url!r}: expected serial:///dev/DEVICE")
        unknown = set(query) - {"baud"}
        if unknown:
            raise PrinterConfigError(f"printer url {url!r}: unknown option {sorted(unknown)}")
        text = query.get("baud", ["115200"])[-1]
        if not text.isdigit() or int(text) not in BAUD_RATES:
            raise PrinterConfigError(f"printer url {url!r}: baud one of {BAUD_RATES}")
        return PrinterUrl("serial", path=parts.path, baud=int(text))
    if parts.scheme == "usb":
        vid, sep, pid = parts.netloc.partition(":")
        if not sep or not _HEX4.match(vid) or not _HEX4.match(pid) or parts.path or query:
            raise PrinterConfigError(f"printer url {url!r}: expected usb://VID:PID in hex")
        return PrinterUrl("usb", vid=int(vid, 16), pid=int(pid, 16))
    raise PrinterConfigError(f"printer url {url!r}: expected {HELP}")

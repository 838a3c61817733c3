"""systemd's notify protocol in pure Python: READY=1, WATCHDOG=1, STATUS=…, STOPPING=1.
A no-op when $NOTIFY_SOCKET is not set (run by hand, in tests)."""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger("posterm.notify")


def notify(**fields: str) -> bool:
    """Send `KEY=value` lines to systemd; True if a datagram went out."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    payload = "\n".join(f"{key}={value}" for key, value in fields.items()).encode()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(payload, address)
    except OSError as exc:
        log.warning("notify: %s", exc)
        return False
    return True


def watchdog_interval() -> float:
    """How often to send WATCHDOG=1: half of $WATCHDOG_USEC, or 0 when there is none."""
    try:
        usec = int(os.environ.get("WATCHDOG_USEC", "0"))
    except ValueError:
        return 0.0
    pid = os.environ.get("WATCHDOG_PID")
    if pid and pid != str(os.getpid()):
        return 0.0
    return usec / 2_000_000 if usec > 0 else 0.0

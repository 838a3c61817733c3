"""systemd's notify protocol in pure Python (READY=1, WATCHDOG=1, STATUS=…, STOPPING=1)."""

from __future__ import annotations

import logging
import os
import re
import socket

log = logging.getLogger("posterm.notify")

KEY = re.compile(r"[A-Z][A-Z0-9_]*")
_last_error: str | None = None  # logged once per change, not on every watchdog tick


class NotifyError(ValueError):
    """A notify field that cannot be sent (a key systemd would not read)."""


def notify(**fields: str | int) -> bool:
    """Send `KEY=value` lines to $NOTIFY_SOCKET in one datagram; True if it went out.

    A no-op (False) without NOTIFY_SOCKET: run by hand or in tests. A path starting with
    '@' is in the abstract namespace. Line breaks in a value become spaces, so a STATUS
    text cannot smuggle in another field. Send errors are logged (once per change), not
    raised: the daemon keeps running when systemd is not listening.
    """
    global _last_error
    for key in fields:
        if not KEY.fullmatch(key):
            raise NotifyError(f"{key!r} is not a notify field name (like READY, STATUS)")
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):
        target = "\0" + address[1:]
    elif address.startswith("/"):
        target = address
    else:
        _report(f"notify: unsupported NOTIFY_SOCKET {address!r}")
        return False
    payload = "\n".join(
        f"{key}={' '.join(str(value).splitlines())}" for key, value in fields.items()
    ).encode("utf-8", "replace")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(payload, target)
    except OSError as exc:
        _report(f"notify: {address}: {exc}")
        return False
    if _last_error is not None:
        log.info("notify: %s reachable again", address)
        _last_error = None
    return True


def _report(error: str) -> None:
    global _last_error
    if error != _last_error:
        log.warning("%s", error)
        _last_error = error


def watchdog_interval() -> float:
    """Seconds between WATCHDOG=1 pings: half of $WATCHDOG_USEC; 0.0 when systemd wants
    none (unset, not a positive number, or $WATCHDOG_PID names another process)."""
    text = os.environ.get("WATCHDOG_USEC", "")
    if not text.isdigit() or int(text) <= 0:
        return 0.0
    pid = os.environ.get("WATCHDOG_PID")
    if pid and pid != str(os.getpid()):
        return 0.0
    return int(text) / 2_000_000

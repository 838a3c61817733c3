"""The boot slip (`[printer] boot_slip`): one slip at start-up that tells whoever stands
at the till which terminal this is, its version, its IP address, the host link and the
state it starts in, with a QR code of its page at the back office (`[mqtt] page_url`).

It moves no money and is not journaled: a slip the printer cannot print is logged and
forgotten (a pending receipt still prints first, marked as it must be)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from posterm.daemon.config import Config
from posterm.daemon.devices.printer import PrintFailed
from posterm.daemon.errors import TerminalError
from posterm.drivers.printer import PrinterError
from posterm.drivers.printer import receipt as layouts

log = logging.getLogger("posterm.bootslip")

# The host link gets this long to connect before the slip says how it stands.
HOST_WAIT_SECONDS = 10.0
# Documentation address (RFC 5737): a UDP "connect" to it picks the source address of the
# default route without sending a packet.
PROBE_ADDRESS = ("192.0.2.1", 9)


def primary_address() -> str | None:
    """The IPv4 address the terminal reaches the world from, or None without a route."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(PROBE_ADDRESS)
            return str(probe.getsockname()[0])
    except OSError:
        return None


def page_url(config: Config) -> str | None:
    if config.mqtt is None or config.mqtt.page_url is None:
        return None
    return config.mqtt.page_url.replace("{terminal}", config.terminal.id)


def slip(
    config: Config,
    *,
    version: str,
    address: str | None,
    host: dict[str, Any] | None,
    state: str,
    reason: str,
) -> layouts.Receipt:
    """What the slip says (plain data; the renderer lays it out)."""
    if host is None:
        link = "none (runs alone)"
    else:
        link = f"{host.get('state')} {host.get('broker', '')}".strip()
    url = page_url(config)
    notes = (
        f"Terminal: {config.terminal.id}",
        f"Version:  {version}",
        f"Started:  {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"Address:  {address or 'no network'}",
        f"Host:     {link}",
        f"State:    {state} ({reason})",
        *((f"Page:     {url}",) if url else ()),
    )
    return layouts.Receipt(
        title="TERMINAL STARTED",
        header=(config.terminal.merchant_name,),
        notes=notes,
        qr=url,
    )


def print_later(
    config: Config,
    *,
    version: str,
    host: Callable[[], dict[str, Any]] | None,
    host_settled: Callable[[], bool],
    submit: Callable[[Callable[[], None]], object],
    print_slip: Callable[[layouts.Receipt], None],
    status: Callable[[], dict[str, Any]],
) -> threading.Thread | None:
    """Once the host link connected or failed a first time (at most HOST_WAIT_SECONDS),
    hand the slip to the owner thread (`submit`), behind whatever it is doing."""
    if not config.printer.boot_slip:
        return None

    def wait_then_print() -> None:
        deadline = time.monotonic() + HOST_WAIT_SECONDS
        while host is not None and not host_settled() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = primary_address()

        def on_owner() -> None:
            now = status()
            try:
                print_slip(
                    slip(
                        config,
                        version=version,
                        address=address,
                        host=None if host is None else host(),
                        state=now["state"],
                        reason=now["reason"],
                    )
                )
            except (PrintFailed, PrinterError) as exc:  # PrinterError: a slip it refuses
                log.warning("boot slip: not printed: %s", exc)
                return
            log.info("boot slip: printed")

        try:
            submit(on_owner)
        except TerminalError as exc:  # stopping already, or an update holds the lock
            log.info("boot slip: not printed: %s", exc.message)

    thread = threading.Thread(target=wait_then_print, name="boot-slip", daemon=True)
    thread.start()
    return thread

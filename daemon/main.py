"""`postermd --config FILE`: the terminal daemon (systemd `Type=notify`).

Start-up order: config (refuses unknown keys), journal, payment terminal link, printer,
panel; then recovery of in-doubt operations on the owner thread; only then the control
socket opens and systemd hears READY=1.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from posterm.daemon import bootslip, logsetup
from posterm.daemon.config import Config, ConfigError, load_config
from posterm.daemon.control import api
from posterm.daemon.control.server import ControlError, ControlServer
from posterm.daemon.devices.panel import PanelLink
from posterm.daemon.devices.printer import ReceiptPrinter
from posterm.daemon.journal.errors import JournalError
from posterm.daemon.journal.store import Journal
from posterm.daemon.notify import notify, watchdog_interval
from posterm.daemon.owner import OwnerStopped
from posterm.daemon.sync.relay import Relay
from posterm.daemon.terminal import Terminal
from posterm.daemon.watchdog import Watchdog
from posterm.drivers.panel.panel import PanelError
from posterm.drivers.payment import registry as payment_registry
from posterm.drivers.payment.errors import PaymentError
from posterm.drivers.payment.port import PortOptions
from posterm.drivers.printer import PrinterError
from posterm.protocol.mqtt.commands import load_public_key

log = logging.getLogger("posterm")
VERSION = metadata.version("posterm")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="postermd", description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, type=Path, help="TOML configuration file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"postermd: {exc}", file=sys.stderr)
        return 2
    logsetup.configure(config.logging.level)  # replaces any handlers a library set up
    try:
        journal = Journal(config.journal.path, config.terminal.id)
    except JournalError as exc:
        print(f"postermd: cannot open the journal: {exc}", file=sys.stderr)
        return 1
    opened: list[Any] = [journal]  # closed in reverse order, whatever happens below
    # WATCHDOG=1 only while the owner makes progress: its idle tick, every message of a
    # PT operation (for as long as the client then waits, + one period), a print job.
    watchdog = Watchdog(watchdog_interval())
    period = 2 * watchdog.interval  # WatchdogSec
    idle_beat = 0.75 * period  # the owner idles at least every 0.5 s

    def busy_for(seconds: float) -> None:
        watchdog.beat(seconds + period)

    try:
        pt = payment_registry.open_port(config.payment.protocol, payment_options(config, busy_for))
        printer = ReceiptPrinter(config.printer, on_busy=busy_for)
        opened.append(printer)
        panel = PanelLink(config.panel)
        opened.append(panel)
    except (ValueError, PaymentError, PrinterError, PanelError) as exc:
        print(f"postermd: cannot start: {exc}", file=sys.stderr)
        _close_all(opened)
        return 1
    stopping = threading.Event()

    def on_mode(mode: Any, reason: str) -> None:
        notify(STATUS=f"{mode}: {reason}")
        panel.show_mode(mode)

    def on_idle() -> None:
        watchdog.idle(idle_beat)

    terminal = Terminal(
        config, journal, pt, printer, on_mode=on_mode, on_signal=panel.signal, on_idle=on_idle
    )
    panel.attach(terminal)
    watchdog.start()
    opened.append(watchdog)

    def stop(signum: int, frame: Any) -> None:
        stopping.set()

    # from here a SIGTERM lets the work in progress finish (start-up recovery included)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    terminal.start()
    server = ControlServer(
        str(config.control.socket),
        lambda request: api.handle(terminal, request),
        group=config.control.group,
    )
    try:
        server.start()
    except ControlError as exc:
        print(f"postermd: cannot open the control socket: {exc}", file=sys.stderr)
        terminal.stop()
        _close_all(opened)
        return 1
    relay = _start_sync(config, journal, terminal, panel)
    notify(READY="1", STATUS=f"{terminal.mode.mode}: {terminal.mode.reason}")
    bootslip.print_later(
        config,
        version=VERSION,
        host=None if relay is None else relay.snapshot,
        host_settled=lambda: relay is None or relay.state == "connected"
        or relay.backoff.failures > 0,
        submit=lambda fn: terminal.call(fn, "boot slip"),
        print_slip=printer.print_slip,
        status=lambda: {"state": str(terminal.mode.mode), "reason": terminal.mode.reason},
    )
    log.info("postermd: %s up, control socket %s", config.terminal.id, config.control.socket)

    stopping.wait()
    # SIGTERM: the operation in progress finishes (a payment at the PT, its journal rows,
    # its receipt) while nothing new starts; then the host hears we are offline.
    log.info("postermd: stopping; mode %s, update lock %s: what runs finishes first, "
             "within %.0f s", terminal.mode.mode, terminal.update_lock.state,
             config.system.stop_timeout_s)  # fmt: skip
    notify(STOPPING="1", STATUS=f"stopping: {terminal.mode.mode}: {terminal.mode.reason}")
    deadline = time.monotonic() + config.system.stop_timeout_s
    finished = terminal.stop(config.system.stop_timeout_s)
    # the answers being written go out; relay and closing take a few seconds more
    server.stop(grace=max(1.0, min(10.0, deadline - time.monotonic())))
    if relay is not None:
        relay.stop()  # publishes the offline status itself
    if not finished:  # the owner still uses the journal and the printer: the exit ends it
        opened = [part for part in opened if part is not journal and part is not printer]
    _close_all(opened)
    log.info("postermd: stopped%s", "" if finished else " (an operation left to the next start)")
    return 0


def payment_options(
    config: Config, on_activity: Callable[[float], None] | None = None
) -> PortOptions:
    """The `[payment]` section as its adapter is opened with."""
    return PortOptions(
        url=config.payment.url,
        password=config.payment.password,
        timeout_s=config.payment.timeout_s,
        currency=config.terminal.currency,
        on_activity=on_activity,
    )


def _start_sync(
    config: Config, journal: Journal, terminal: Terminal, panel: PanelLink
) -> Relay | None:
    """The host link, if [mqtt] is configured: its own thread, owner of the connection."""
    if config.mqtt is None:
        log.info("postermd: no [mqtt]: running alone, events stay in the outbox")
        return None
    key = None
    if config.mqtt.host_public_key is not None:
        key = load_public_key(config.mqtt.host_public_key.read_bytes())

    def on_link(online: bool) -> None:  # LEDs are the owner's: hand it over
        with contextlib.suppress(OwnerStopped):  # its last word at shutdown: LEDs are off
            terminal.owner.submit(lambda: panel.show_host(online))

    relay = Relay(config.mqtt, journal, terminal, host_key=key, version=VERSION, on_link=on_link)
    terminal.host_link = relay.snapshot
    relay.start()
    return relay


def _close_all(opened: list[Any]) -> None:
    for part in reversed(opened):
        try:
            part.close()
        except Exception:
            log.exception("postermd: closing %s failed", type(part).__name__)


if __name__ == "__main__":
    sys.exit(main())

"""The postermd process as an object: `Daemon.build(config)` opens the devices and the
terminal on them, `run()` serves until `stop()` (SIGTERM, SIGINT), then shuts down in order.

Start-up order: journal, payment terminal link, printer, panel; then recovery of in-doubt
operations on the owner thread; only then the control socket opens and systemd hears
READY=1. systemd's watchdog is fed only while the owner makes progress.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from importlib import metadata
from typing import Any

from posterm.daemon import bootslip
from posterm.daemon.config import Config
from posterm.daemon.control import api
from posterm.daemon.control.client import ControlError
from posterm.daemon.control.server import ControlServer
from posterm.daemon.devices.panel import PanelLink
from posterm.daemon.devices.printer import ReceiptPrinter
from posterm.daemon.journal.errors import JournalError
from posterm.daemon.journal.store import Journal
from posterm.daemon.notify import notify, watchdog_interval
from posterm.daemon.owner import OwnerStopped
from posterm.daemon.states import Mode
from posterm.daemon.sync.relay import Relay
from posterm.daemon.terminal import Terminal
from posterm.daemon.watchdog import Watchdog
from posterm.drivers.panel.panel import PanelError
from posterm.drivers.payment import registry as payment_registry
from posterm.drivers.payment.errors import PaymentError
from posterm.drivers.payment.port import PortOptions
from posterm.drivers.printer import PrinterError
from posterm.protocol.mqtt import keyring

log = logging.getLogger("posterm")
VERSION = metadata.version("posterm")


class DaemonError(Exception):
    """postermd cannot start (what could not be opened, and why); nothing is left open."""


class Daemon:
    """One postermd: the terminal, its devices, the control socket and the host link."""

    def __init__(
        self,
        config: Config,
        terminal: Terminal,
        *,
        printer: ReceiptPrinter,
        panel: PanelLink,
        watchdog: Watchdog,
        opened: list[Any],
    ) -> None:
        self.config = config
        self.terminal = terminal
        self.printer = printer
        self.panel = panel
        self.watchdog = watchdog
        self._opened = opened  # closed in reverse order when the daemon ends
        self._stopping = threading.Event()

    @classmethod
    def build(cls, config: Config) -> Daemon:
        """Open the journal, the payment terminal's port, the printer and the panel, and
        the terminal on them. Raises DaemonError, having closed what it opened."""
        try:
            journal = Journal(config.journal.path, config.terminal.id)
        except JournalError as exc:
            raise DaemonError(f"cannot open the journal: {exc}") from exc
        opened: list[Any] = [journal]
        # WATCHDOG=1 only while the owner makes progress: its idle tick, every message of
        # a PT operation (for as long as the client then waits, + one period), a print job.
        watchdog = Watchdog(watchdog_interval())
        period = 2 * watchdog.interval  # WatchdogSec
        idle_beat = 0.75 * period  # the owner idles at least every 0.5 s

        def busy_for(seconds: float) -> None:
            watchdog.beat(seconds + period)

        try:
            pt = payment_registry.open_port(
                config.payment.protocol, payment_options(config, busy_for)
            )
            printer = ReceiptPrinter(config.printer, on_busy=busy_for)
            opened.append(printer)
            panel = PanelLink(config.panel)
            opened.append(panel)
        except (ValueError, PaymentError, PrinterError, PanelError) as exc:
            _close_all(opened)
            raise DaemonError(f"cannot start: {exc}") from exc

        def on_mode(mode: Mode, reason: str) -> None:
            notify(STATUS=f"{mode}: {reason}")
            panel.show_mode(mode)

        terminal = Terminal(
            config,
            journal,
            pt,
            printer,
            on_mode=on_mode,
            on_signal=panel.signal,
            on_idle=lambda: watchdog.idle(idle_beat),
        )
        panel.attach(terminal)
        return cls(config, terminal, printer=printer, panel=panel, watchdog=watchdog, opened=opened)

    def stop(self) -> None:
        """Ask `run` to shut down (any thread, a signal handler included): the work in
        progress finishes first."""
        self._stopping.set()

    def run(self) -> None:
        """Recover, open the control socket and the host link, tell systemd READY=1; serve
        until `stop()`; then shut down in order. Raises DaemonError (everything closed)
        when the control socket cannot be opened."""
        config, terminal = self.config, self.terminal
        self.watchdog.start()
        self._opened.append(self.watchdog)
        terminal.start()
        server = ControlServer(
            str(config.control.socket),
            lambda request: api.handle(terminal, request),
            group=config.control.group,
        )
        try:
            server.start()
        except ControlError as exc:
            terminal.stop()
            _close_all(self._opened)
            raise DaemonError(f"cannot open the control socket: {exc}") from exc
        relay = self._start_sync()
        notify(READY="1", STATUS=f"{terminal.mode.mode}: {terminal.mode.reason}")
        bootslip.print_later(
            config,
            version=VERSION,
            host=None if relay is None else relay.snapshot,
            host_settled=lambda: (
                relay is None or relay.state == "connected" or relay.backoff.failures > 0
            ),
            submit=lambda fn: terminal.call(fn, "boot slip"),
            print_slip=self.printer.print_slip,
            status=lambda: {"state": str(terminal.mode.mode), "reason": terminal.mode.reason},
        )
        log.info("postermd: %s up, control socket %s", config.terminal.id, config.control.socket)
        self._stopping.wait()
        self._shut_down(server, relay)

    def _shut_down(self, server: ControlServer, relay: Relay | None) -> None:
        """The operation in progress finishes (a payment at the PT, its journal rows, its
        receipt) while nothing new starts; then the host hears we are offline."""
        config, terminal = self.config, self.terminal
        log.info(
            "postermd: stopping; mode %s, update lock %s: what runs finishes first, within %.0f s",
            terminal.mode.mode,
            terminal.update_lock.state,
            config.system.stop_timeout_s,
        )
        notify(STOPPING="1", STATUS=f"stopping: {terminal.mode.mode}: {terminal.mode.reason}")
        deadline = time.monotonic() + config.system.stop_timeout_s
        finished = terminal.stop(config.system.stop_timeout_s)
        # the answers being written go out; relay and closing take a few seconds more
        server.stop(grace=max(1.0, min(10.0, deadline - time.monotonic())))
        if relay is not None:
            relay.stop()  # publishes the offline status itself
        opened = self._opened
        if not finished:  # the owner still uses the journal and the printer: the exit ends it
            opened = [p for p in opened if p is not terminal.journal and p is not self.printer]
        _close_all(opened)
        left = "" if finished else " (an operation left to the next start)"
        log.info("postermd: stopped%s", left)

    def _start_sync(self) -> Relay | None:
        """The host link, if [mqtt] is configured: its own thread, owner of the connection."""
        config, terminal, panel = self.config, self.terminal, self.panel
        if config.mqtt is None:
            log.info("postermd: no [mqtt]: running alone, events stay in the outbox")
            return None
        keys: list[keyring.HostKey] = []
        if config.mqtt.host_public_key is not None:
            keys = keyring.parse(config.mqtt.host_public_key.read_bytes())

        def on_link(online: bool) -> None:  # LEDs are the owner's: hand it over
            with contextlib.suppress(OwnerStopped):  # its last word at shutdown: LEDs are off
                terminal.owner.submit(lambda: panel.show_host(online))

        relay = Relay(
            config.mqtt, terminal.journal, terminal, host_key=keys, version=VERSION, on_link=on_link
        )
        terminal.host_link = relay.snapshot
        relay.start()
        return relay


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


def _close_all(opened: list[Any]) -> None:
    for part in reversed(opened):
        try:
            part.close()
        except Exception:
            log.exception("postermd: closing %s failed", type(part).__name__)

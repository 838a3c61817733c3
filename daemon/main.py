"""`postermd --config FILE`: the terminal daemon (systemd `Type=notify`).

Start-up order: config (refuses unknown keys), journal, payment terminal link, printer,
panel; then recovery of in-doubt operations on the owner thread; only then the control
socket opens and systemd hears READY=1.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from posterm.daemon import api
from posterm.daemon.config import ConfigError, load_config
from posterm.daemon.control import ControlServer
from posterm.daemon.journal import Journal, JournalError
from posterm.daemon.notify import notify, watchdog_interval
from posterm.daemon.panel_link import PanelLink
from posterm.daemon.printing import ReceiptPrinter
from posterm.daemon.terminal import Terminal
from posterm.drivers.zvt.client import PaymentTerminal
from posterm.protocol import money

log = logging.getLogger("posterm")


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
    logging.basicConfig(
        level=getattr(logging, config.logging.level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        journal = Journal(config.journal.path, config.terminal.id)
    except JournalError as exc:
        print(f"postermd: cannot open the journal: {exc}", file=sys.stderr)
        return 1
    pt = PaymentTerminal(
        config.payment.url,
        config.payment.password,
        currency=money.currency_numeric(config.terminal.currency),
        t4=config.payment.timeout_s,
    )
    printer = ReceiptPrinter(config.printer)
    stopping = threading.Event()
    panel = PanelLink(config.panel)
    wd_every = watchdog_interval()
    last_wd = [0.0]

    def on_mode(mode: Any, reason: str) -> None:
        notify(STATUS=f"{mode}: {reason}")
        panel.show_mode(mode)

    def on_idle() -> None:
        now = time.monotonic()
        if wd_every and now - last_wd[0] >= wd_every:
            notify(WATCHDOG="1")
            last_wd[0] = now

    terminal = Terminal(
        config, journal, pt, printer, on_mode=on_mode, on_signal=panel.signal, on_idle=on_idle
    )
    panel.attach(terminal)
    terminal.start()
    server = ControlServer(
        str(config.control.socket),
        lambda request: api.handle(terminal, request),
        group=config.control.group,
    )
    server.start()
    notify(READY="1", STATUS=f"{terminal.mode.mode}: {terminal.mode.reason}")
    log.info("postermd: %s up, control socket %s", config.terminal.id, config.control.socket)

    def stop(signum: int, frame: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    stopping.wait()
    notify(STOPPING="1")
    server.stop()
    terminal.stop()
    panel.close()
    printer.close()
    journal.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Between the GPIO panel and the terminal: LEDs follow the mode, the buzzer the outcome,
and button presses become work for the owner thread (never touching state themselves).

Buttons: reprint — the last sale's customer receipt again (DUPLICATE); supervisor key —
approves the oldest refund awaiting approval; cancel — rejects it; confirm — retries the
payment terminal when the terminal is not selling.
"""

from __future__ import annotations

import logging
from typing import Any

from posterm.daemon.config import PanelSection
from posterm.daemon.errors import TerminalError
from posterm.daemon.owner import OwnerStopped
from posterm.daemon.states import Kind, Mode, TxnState
from posterm.daemon.terminal import Terminal
from posterm.drivers.panel.panel import Panel

log = logging.getLogger("posterm.panel")


class PanelLink:
    def __init__(self, config: PanelSection, pin_factory: Any = None) -> None:
        self._terminal: Terminal | None = None
        self._panel: Panel | None = None
        self._mode = Mode.STARTING
        self._host_online = False
        if config.enabled:
            self._panel = Panel(config, self._pressed, pin_factory=pin_factory)

    def attach(self, terminal: Terminal) -> None:
        self._terminal = terminal

    def show_mode(self, mode: Mode) -> None:
        self._mode = mode
        self._show()

    def show_host(self, online: bool) -> None:
        """The host-online LED follows the MQTT connection."""
        self._host_online = online
        self._show()

    def _show(self) -> None:
        mode = self._mode
        if self._panel is not None:
            self._panel.show(
                ready=mode == Mode.READY,
                busy=mode in (Mode.BUSY, Mode.RECOVERING, Mode.STARTING),
                fault=mode in (Mode.FAULT, Mode.PT_DOWN, Mode.IN_DOUBT),
                host_online=self._host_online,
            )

    def signal(self, what: str) -> None:
        if self._panel is not None and what in ("approve", "decline"):
            self._panel.beep(what)

    def close(self) -> None:
        if self._panel is not None:
            self._panel.close()

    # -- presses: called on gpiozero's thread; the work runs on the owner thread --------
    def _pressed(self, name: str) -> None:
        terminal = self._terminal
        if terminal is None:
            return
        try:
            terminal.owner.submit(lambda: self._act(name))
        except OwnerStopped:
            log.info("panel: %s button ignored: postermd is stopping", name)

    def _act(self, name: str) -> None:
        terminal = self._terminal
        if terminal is None:
            return
        try:
            if name == "reprint":
                last = next(
                    (
                        t
                        for t in terminal.journal.list_txns(50)
                        if t.kind == Kind.SALE and t.state == TxnState.APPROVED
                    ),
                    None,
                )
                if last is not None:
                    terminal.reprint(last.txn_id)
            elif name in ("supervisor", "cancel"):
                waiting = terminal.awaiting()
                if waiting:
                    action = terminal.approve if name == "supervisor" else terminal.reject
                    action(waiting[0], by=f"panel {name} key")
            elif name == "confirm" and terminal.mode.mode != Mode.READY:
                terminal.retry_pt()
        except TerminalError as exc:
            log.warning("panel: %s button: %s", name, exc.message)

"""What every flow works with (`FlowContext`): the ports (journal, payment terminal,
printer), the config, the mode, and the two signals a flow gives out (panel, PT activity).
`Terminal` builds one and hands it to every flow; flows run on its owner thread only."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from posterm.daemon.config import Config
from posterm.daemon.errors import TerminalError
from posterm.daemon.journal.rows import Txn
from posterm.daemon.journal.store import Journal
from posterm.daemon.states import MONEY_KINDS, UNRESOLVED, Mode
from posterm.daemon.statuslink import StatusLinks, from_config
from posterm.drivers.payment.port import PaymentPort
from posterm.protocol.errorcodes import ErrorCode

log = logging.getLogger("posterm.terminal")


class ReceiptPort(Protocol):
    """The terminal's view of the receipt printer (`devices.printer.ReceiptPrinter`)."""

    def is_ready(self) -> bool: ...
    def last_status_text(self) -> str: ...
    def print_receipt(self, body: dict[str, Any], *, copy: str, mark: str) -> None: ...
    def close(self) -> None: ...


@dataclass
class ModeCell:
    """The terminal's mode and why; every change is logged and handed to `on_change`."""

    mode: Mode = Mode.STARTING
    reason: str = "starting"
    on_change: Callable[[Mode, str], None] | None = None
    history: list[tuple[Mode, str]] = field(default_factory=list)

    @property
    def faulted(self) -> bool:
        return self.mode == Mode.FAULT

    def set(self, mode: Mode, reason: str) -> None:
        if (mode, reason) == (self.mode, self.reason):
            return
        if self.mode == Mode.FAULT:  # sticky: the first reason stands until a restart
            log.warning("terminal: stays in fault (%s), not %s (%s)", self.reason, mode, reason)
            return
        log.info("terminal: %s -> %s (%s)", self.mode, mode, reason)
        self.mode, self.reason = mode, reason
        self.history.append((mode, reason))
        if self.on_change is not None:
            self.on_change(mode, reason)


def _nothing(*_: object) -> None:
    """No panel, no back-off to tell."""


@dataclass
class FlowContext:
    """The ports and state a flow works with; nothing else of the terminal.

    `signal(what)` tells the panel (buzzer, LEDs: "approve", "decline", "fault",
    "attention"); `pt_activity()` tells the terminal the PT was just talked to (its
    retries wait). `awaiting_operator` and `printed_unjournaled` are the two facts flows
    leave for the terminal: recovery needs the operator; a receipt printed whose
    `printed` could not be journaled (never printed again by this process). `links`: the
    refunds' status links (`[refund_link]`), its key read once here; None without it."""

    config: Config
    journal: Journal
    pt: PaymentPort
    printer: ReceiptPort
    mode: ModeCell = field(default_factory=ModeCell)
    signal: Callable[[str], None] = _nothing
    pt_activity: Callable[[], None] = _nothing
    awaiting_operator: bool = False
    printed_unjournaled: set[int] = field(default_factory=set)
    links: StatusLinks | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.links = from_config(self.config)

    @property
    def currency(self) -> str:
        return self.config.terminal.currency

    def fault(self, reason: str) -> None:
        """Sticky FAULT: no selling, no printing, until an operator restarts postermd."""
        self.mode.set(Mode.FAULT, reason)

    def require_ready(self) -> None:
        if self.mode.mode != Mode.READY:
            raise TerminalError(
                ErrorCode.NOT_READY,
                f"not taking payments: {self.mode.reason}",
                state=str(self.mode.mode),
            )

    def unresolved(self) -> list[Txn]:
        """The sales, refunds and voids still in doubt (oldest first)."""
        return [t for t in self.journal.txns_in_state(*UNRESOLVED) if t.kind in MONEY_KINDS]

    def settle(self) -> None:
        """After an operation: READY, unless something is left in doubt."""
        if self.mode.mode != Mode.BUSY:
            return
        left = self.unresolved()
        if left:
            self.mode.set(Mode.IN_DOUBT, f"{left[0].txn_id} in doubt")
        else:
            self.mode.set(Mode.READY, "ready")

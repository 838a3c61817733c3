"""What every flow works with (`FlowContext`): config, journal, payment terminal, printer,
the mode, and the helpers the flows share."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from posterm.daemon.config import Config
from posterm.daemon.journal.store import Journal, Tx
from posterm.daemon.states import Kind, Mode, TxnState
from posterm.drivers.payment.port import PaymentPort

log = logging.getLogger("posterm.terminal")


class ReceiptPort(Protocol):
    """The terminal's view of the receipt printer (`devices.printer.ReceiptPrinter`)."""

    def is_ready(self) -> bool: ...
    def last_status_text(self) -> str: ...
    def print_receipt(self, body: dict[str, Any], *, copy: str, mark: str) -> None: ...
    def close(self) -> None: ...


class FlowContext(Protocol):
    """What a flow may use of the terminal: its collaborators, its mode, and the helpers
    every flow shares. `Terminal` is the one implementation; flows run on its owner
    thread only."""

    config: Config
    journal: Journal
    pt: PaymentPort
    printer: ReceiptPort
    mode: ModeCell
    awaiting_operator: bool
    printed_unjournaled: set[int]

    def require_ready(self) -> None: ...
    def settle(self) -> None: ...
    def fault(self, reason: str) -> None: ...
    def pt_activity(self) -> None: ...
    def signal(self, what: str) -> None: ...
    def parse_amount(self, text: str, min_minor: int, max_minor: int) -> int: ...
    def fmt(self, minor: int) -> str: ...
    def begin(
        self,
        kind: Kind,
        amount: int,
        *,
        state: TxnState = ...,
        event: str | None = ...,
        event_extra: dict[str, Any] | None = ...,
        **fields: Any,
    ) -> str: ...
    def batch_no(self) -> int: ...
    def idempotent(
        self, kind: Kind, key: str, amount: int, ref_txn: str | None = ...
    ) -> dict[str, Any] | None: ...
    def totals_json(self, totals: dict[str, int]) -> dict[str, Any]: ...
    def event_data(self, txn_id: str, tx: Tx) -> dict[str, Any]: ...
    def view(self, txn_id: str) -> dict[str, Any]: ...


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

"""What every flow works with: config, journal, payment terminal, printer, and the mode."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from posterm.daemon.states import Mode

log = logging.getLogger("posterm.terminal")


class PaymentPort(Protocol):
    """The slice of `PaymentTerminal` the terminal uses (the real client in production)."""

    def register(self) -> Any: ...
    def authorize(self, amount: int, currency: int | None = ..., on_result: Any = ...) -> Any: ...
    def refund(self, amount: int, currency: int | None = ..., on_result: Any = ...) -> Any: ...
    def reverse(self, receipt_no: int, on_result: Any = ...) -> Any: ...
    def repeat_receipt(self, on_result: Any = ...) -> Any: ...
    def end_of_day(self) -> Any: ...
    def status_enquiry(self) -> Any: ...
    def close(self) -> None: ...


@dataclass
class ModeCell:
    """The terminal's mode and why; every change is logged and handed to `on_change`."""

    mode: Mode = Mode.STARTING
    reason: str = "starting"
    on_change: Callable[[Mode, str], None] | None = None
    history: list[tuple[Mode, str]] = field(default_factory=list)

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

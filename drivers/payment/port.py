"""The payment terminal as the daemon sees it: `PaymentPort`, its options and results.

Every protocol (ZVT today) is an adapter behind this port, chosen by the `[payment]
protocol` key through `registry`. Amounts are integers of minor units of the terminal's
currency.

Money rule 2 is the port's contract: for an operation that moves money the caller's
`on_commit` hook is called with the approval *before* the terminal is told the payment
may stand. If the hook raises, the adapter makes the terminal drop the payment and raises
`PaymentCommitFailed`; so no money moves without a journal row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

ActivityHook = Callable[[float], None]


@dataclass(frozen=True)
class PortOptions:
    """What an adapter is opened with (the `[payment]` section, the terminal's currency).
    `on_activity(seconds)` is called whenever the exchange moves on, with how long the
    adapter will now wait at most: a watchdog stays fed while the terminal makes progress."""

    url: str
    password: str = "000000"
    timeout_s: float = 180.0
    currency: str = "EUR"  # ISO 4217 code
    on_activity: ActivityHook | None = None


@dataclass(frozen=True)
class PaymentResult:
    """What the terminal said about one operation. Never more of the card than its masked
    PAN (at most first 6 / last 4 digits)."""

    operation: str  # connect | sale | refund | reversal | last_result | end_of_day
    approved: bool
    result_code: int | None  # the protocol's own code (0: approved), for the journal
    result_text: str
    amount: int | None = None  # minor units (end of day: the terminal's batch total)
    receipt_no: int | None = None
    trace: int | None = None
    turnover_no: int | None = None
    terminal_id: str | None = None
    card_name: str | None = None
    masked_pan: str | None = None
    aid: str | None = None
    receipt_lines: tuple[str, ...] = ()  # the terminal's lines for the ECR's receipt


CommitHook = Callable[[PaymentResult], None]


class PaymentPort(Protocol):
    """A payment terminal. Every method raises a `PaymentError` (errors.py) on failure;
    sale, refund and reversal raise `PaymentDeclined` when the terminal does not approve."""

    def connect(self) -> None:
        """Make the terminal ready for operations (ZVT: registration)."""

    def sale(self, amount: int, on_commit: CommitHook | None = None) -> PaymentResult:
        """Charge `amount` minor units to the customer's card."""

    def refund(self, amount: int, on_commit: CommitHook | None = None) -> PaymentResult:
        """Credit `amount` minor units to the customer's card."""

    def reversal(self, receipt_no: int, on_commit: CommitHook | None = None) -> PaymentResult:
        """Cancel the payment with the terminal's receipt number `receipt_no`, in the
        open batch."""

    def last_result(self) -> PaymentResult | None:
        """The last operation the terminal kept (for recovery), None if it kept none.
        `PaymentBusy`: ask again later; `PaymentRefused` / `PaymentDeclined`: the terminal
        will not say."""

    def end_of_day(self) -> PaymentResult:
        """Close the terminal's batch; `amount` is its total, `trace` its trace number."""

    def close(self) -> None:
        """Release the link; the next operation opens it again. Never raises."""

"""What a payment port raises, whatever the protocol: every failure is a `PaymentError`.

The flows tell these apart, and nothing more: an adapter converts its protocol's own
exceptions into the one that says what happened to the money.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from posterm.drivers.payment.port import PaymentResult


class PaymentError(Exception):
    """Base of every error a payment port raises."""


class PaymentConfigError(PaymentError):
    """An unknown protocol, or a URL or option its adapter cannot use."""


class PaymentUnreachable(PaymentError):
    """The link could not be opened: nothing of the command reached the terminal."""


class PaymentInterrupted(PaymentError):
    """The link broke (or the terminal said something unreadable) while the command ran:
    whether money moved is unknown until the terminal is asked."""


class PaymentTimeout(PaymentInterrupted):
    """The terminal did not answer in time."""


class PaymentRefused(PaymentError):
    """The terminal refused the command itself: nothing happened. `code` is the
    protocol's own code for why (journaled as the result code)."""

    def __init__(self, code: int | None, message: str) -> None:
        self.code = code
        super().__init__(message)


class PaymentBusy(PaymentRefused):
    """A passing condition (busy, please wait): the same question may be answered later."""


class PaymentDeclined(PaymentError):
    """The operation ended without approval; `result` holds what the terminal said."""

    def __init__(self, result: PaymentResult, message: str | None = None) -> None:
        self.result = result
        self.code = result.result_code
        super().__init__(message or f"declined: {result.result_text}")


class PaymentCommitFailed(PaymentError):
    """The caller's commit hook raised; the terminal was told not to keep the payment.
    `__cause__` is the hook's exception."""

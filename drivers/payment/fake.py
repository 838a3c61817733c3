"""An in-process payment terminal (`protocol = "fake"`, `url = "fake://"`): no bytes, no
simulator, its own ledger in memory. For the fast tests and demos; it never charges a card.

Amount rules, like the ZVT simulator's: an amount ending in .51 is declined (insufficient
funds); anything else is approved. Money rule 2 holds: a commit hook that raises leaves
nothing in the ledger.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from posterm.drivers.payment.errors import (
    PaymentCommitFailed,
    PaymentConfigError,
    PaymentDeclined,
)
from posterm.drivers.payment.port import CommitHook, PaymentPort, PaymentResult, PortOptions

DECLINED_CENTS = 51
DECLINED = (0x33, "insufficient funds")
NO_SUCH_RECEIPT = (0x6F, "no such receipt in the open batch")
CARD_NAME, MASKED_PAN = "VISA", "476173******0119"


@dataclass(frozen=True)
class Entry:
    """One operation the fake terminal kept."""

    kind: str  # sale | refund | reversal
    amount: int
    receipt_no: int
    trace: int
    batch: int
    reversed: bool = False
    ref_receipt_no: int | None = None  # a reversal's original


def check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme != "fake" or parts.path not in ("", "/") or parts.query:
        raise PaymentConfigError(f"{url!r}: the fake payment terminal's URL is fake://[NAME]")


def open_port(options: PortOptions) -> PaymentPort:
    check_url(options.url)
    return FakePort()


class FakePort:
    """A `PaymentPort` keeping `ledger` (every kept operation, in order) in memory."""

    def __init__(self) -> None:
        self.ledger: list[Entry] = []
        self.batch = 1
        self.connected = False
        self._receipt_no = 0
        self._trace = 0
        self._lock = threading.Lock()

    def connect(self) -> None:
        self.connected = True

    def sale(self, amount: int, on_commit: CommitHook | None = None) -> PaymentResult:
        return self._book("sale", amount, on_commit)

    def refund(self, amount: int, on_commit: CommitHook | None = None) -> PaymentResult:
        return self._book("refund", amount, on_commit)

    def reversal(self, receipt_no: int, on_commit: CommitHook | None = None) -> PaymentResult:
        with self._lock:
            original = next((e for e in self._open_sales() if e.receipt_no == receipt_no), None)
            if original is None:
                raise PaymentDeclined(self._declined("reversal", None, *NO_SUCH_RECEIPT))
            entry = self._next("reversal", original.amount, ref=receipt_no)
            self._commit(entry, on_commit)
            self.ledger[self.ledger.index(original)] = replace(original, reversed=True)
            return self._result(entry)

    def last_result(self) -> PaymentResult | None:
        with self._lock:
            if not self.ledger:
                return None
            return replace(self._result(self.ledger[-1]), operation="last_result")

    def end_of_day(self) -> PaymentResult:
        with self._lock:
            batch = [e for e in self.ledger if e.batch == self.batch]
            total = sum(e.amount for e in batch if e.kind == "sale" and not e.reversed)
            total -= sum(e.amount for e in batch if e.kind == "refund")
            self._trace += 1
            self.batch += 1
            lines = ("FAKE PT", "END OF DAY")
            return PaymentResult(
                "end_of_day",
                True,
                0,
                "approved",
                amount=max(total, 0),
                trace=self._trace,
                receipt_lines=lines,
            )

    def close(self) -> None:
        self.connected = False

    # -- the ledger -------------------------------------------------------------------
    def _book(self, kind: str, amount: int, on_commit: CommitHook | None) -> PaymentResult:
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise ValueError(f"amount must be a positive number of minor units, got {amount!r}")
        with self._lock:
            if amount % 100 == DECLINED_CENTS:
                raise PaymentDeclined(self._declined(kind, amount, *DECLINED))
            entry = self._next(kind, amount)
            self._commit(entry, on_commit)
            return self._result(entry)

    def _open_sales(self) -> list[Entry]:
        return [
            e for e in self.ledger if e.kind == "sale" and e.batch == self.batch and not e.reversed
        ]

    def _next(self, kind: str, amount: int, ref: int | None = None) -> Entry:
        self._receipt_no = self._receipt_no % 9999 + 1
        self._trace += 1
        return Entry(kind, amount, self._receipt_no, self._trace, self.batch, ref_receipt_no=ref)

    def _commit(self, entry: Entry, on_commit: CommitHook | None) -> None:
        """The caller commits before the fake keeps it; a failed commit keeps nothing."""
        if on_commit is not None:
            try:
                on_commit(self._result(entry))
            except Exception as exc:
                raise PaymentCommitFailed(f"result not committed, not kept: {exc}") from exc
        self.ledger.append(entry)

    @staticmethod
    def _result(entry: Entry) -> PaymentResult:
        return PaymentResult(
            operation=entry.kind,
            approved=True,
            result_code=0,
            result_text="approved",
            amount=entry.amount,
            receipt_no=entry.receipt_no,
            trace=entry.trace,
            terminal_id="FAKE0001",
            card_name=CARD_NAME,
            masked_pan=MASKED_PAN,
            receipt_lines=("FAKE PT", entry.kind.upper(), f"receipt {entry.receipt_no:04d}"),
        )

    @staticmethod
    def _declined(kind: str, amount: int | None, code: int, text: str) -> PaymentResult:
        return PaymentResult(kind, False, code, text, amount=amount)

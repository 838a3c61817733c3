"""ZVT behind the neutral payment port: what the client raises or returns becomes the
port's error or result, with nothing of ZVT left for the flows to know."""

from __future__ import annotations

from typing import Any, cast

import pytest

from posterm.drivers.payment.errors import (
    PaymentBusy,
    PaymentCommitFailed,
    PaymentDeclined,
    PaymentError,
    PaymentInterrupted,
    PaymentRefused,
    PaymentTimeout,
    PaymentUnreachable,
)
from posterm.drivers.payment.port import PaymentResult
from posterm.drivers.zvt.client import PaymentTerminal
from posterm.drivers.zvt.errors import (
    ZvtCommitFailed,
    ZvtDeclined,
    ZvtNotConnected,
    ZvtProtocolError,
    ZvtTimeout,
    refused,
)
from posterm.drivers.zvt.port import ZvtPort
from posterm.drivers.zvt.results import PtReceipt, Result


class Client:
    """Stands in for `PaymentTerminal`: every command raises `error` or returns `result`
    (after calling the commit hook with it)."""

    def __init__(self, result: Result | None = None, error: Exception | None = None) -> None:
        self.result, self.error = result, error

    def _answer(self, on_result: Any = None) -> Result:
        if self.error is not None:
            raise self.error
        assert self.result is not None
        if on_result is not None:
            on_result(self.result)
        return self.result

    def authorize(self, amount: int, on_result: Any = None) -> Result:
        return self._answer(on_result)

    def repeat_receipt(self) -> Result:
        return self._answer()

    def end_of_day(self) -> Result:
        return self._answer()


def port(result: Result | None = None, error: Exception | None = None) -> ZvtPort:
    return ZvtPort(cast(PaymentTerminal, Client(result, error)))


def declined(code: int) -> ZvtDeclined:
    return ZvtDeclined(Result("repeat_receipt", False, code, f"code {code:02X}"))


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ZvtNotConnected("no route"), PaymentUnreachable),
        (ZvtTimeout("T4"), PaymentTimeout),
        (ZvtProtocolError("odd"), PaymentInterrupted),
        (refused(0x9C), PaymentBusy),
        (refused(0x83), PaymentRefused),
        (declined(0x05), PaymentDeclined),
    ],
)
def test_a_zvt_error_of_a_sale_is_the_ports_error_with_its_message(
    error: Exception, expected: type[PaymentError]
) -> None:
    """GIVEN a client that raises a ZVT error WHEN a sale runs through the port THEN the
    port raises the neutral error that says what happened to the money, same message."""
    with pytest.raises(expected) as caught:
        port(error=error).sale(1000)
    assert str(caught.value) == str(error)
    assert type(caught.value) is expected


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (declined(0x64), None),  # nothing to repeat: the PT kept no receipt
        (declined(0x9C), PaymentBusy),  # passing: ask again later
        (declined(0x83), PaymentDeclined),  # the PT will not say
        (refused(0xA0), PaymentBusy),
        (refused(0x83), PaymentRefused),
    ],
)
def test_repeat_receipt_answers_become_the_last_result_or_why_not(
    error: Exception, expected: type[PaymentError] | None
) -> None:
    """GIVEN the PT's answers to Repeat Receipt WHEN the port is asked for the last result
    THEN "nothing to repeat" is None, a passing condition is PaymentBusy, and a refusal or
    any other decline says the PT will not tell."""
    zvt = port(error=error)
    if expected is None:
        assert zvt.last_result() is None
        return
    with pytest.raises(expected) as caught:
        zvt.last_result()
    assert type(caught.value) is expected


def test_the_commit_hook_gets_the_neutral_result_and_its_failure_keeps_its_cause() -> None:
    """GIVEN an approval WHEN the sale runs with a commit hook THEN the hook sees a
    PaymentResult (masked PAN, receipt number, the customer's lines); a hook failure the
    client reports comes out as PaymentCommitFailed caused by the hook's own exception."""
    result = Result(
        "authorize",
        True,
        0,
        "ok",
        amount=1000,
        receipt_no=7,
        trace=9,
        masked_pan="476173******0119",
        receipts=(PtReceipt("merchant", ("M",)), PtReceipt("customer", ("C",))),
    )
    seen: list[PaymentResult] = []
    out = port(result).sale(1000, on_commit=seen.append)
    assert seen == [out]
    assert (out.operation, out.approved, out.receipt_no, out.masked_pan, out.receipt_lines) == (
        "sale",
        True,
        7,
        "476173******0119",
        ("C",),
    )
    cause = OSError("disk full")
    failed = ZvtCommitFailed("not committed")
    failed.__cause__ = cause
    with pytest.raises(PaymentCommitFailed) as caught:
        port(error=failed).sale(1000)
    assert caught.value.__cause__ is cause


def test_end_of_day_lines_are_the_admin_receipt_when_the_pt_typed_it() -> None:
    """GIVEN an end of day whose PT sent an admin and a customer receipt WHEN it runs
    through the port THEN the lines are the admin receipt's, with the PT's total."""
    result = Result(
        "end_of_day",
        True,
        0,
        "ok",
        amount=4200,
        trace=3,
        receipts=(PtReceipt("customer", ("C",)), PtReceipt("admin", ("A1", "A2"))),
    )
    out = port(result).end_of_day()
    assert (out.receipt_lines, out.amount, out.trace) == (("A1", "A2"), 4200, 3)

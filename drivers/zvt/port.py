"""ZVT behind the neutral payment port: `ZvtPort` drives `PaymentTerminal` and converts
its `Result`s and exceptions into `PaymentResult`s and `PaymentError`s."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from posterm.drivers.payment.errors import (
    PaymentBusy,
    PaymentCommitFailed,
    PaymentConfigError,
    PaymentDeclined,
    PaymentError,
    PaymentInterrupted,
    PaymentRefused,
    PaymentTimeout,
    PaymentUnreachable,
)
from posterm.drivers.payment.port import CommitHook, PaymentPort, PaymentResult, PortOptions
from posterm.drivers.zvt import url as pturl
from posterm.drivers.zvt.client import PaymentTerminal, ResultHook
from posterm.drivers.zvt.errors import (
    ZvtBusy,
    ZvtCommitFailed,
    ZvtDeclined,
    ZvtNotConnected,
    ZvtRefused,
    ZvtTimeout,
)
from posterm.drivers.zvt.results import Result
from posterm.protocol import money
from posterm.protocol.zvt.errors import ZvtError

URL_HELP = "tcp://HOST:PORT or serial:///dev/DEVICE?baud=9600"
# 06 1E answers to Repeat Receipt. "Nothing to repeat" is what the PT says when it kept no
# receipt at all (the simulator answers 64); a passing condition is asked again later;
# anything else (83 function not possible, FF system error, …) means the PT will not say.
NOTHING_TO_REPEAT = frozenset({0x64})
PASSING = frozenset({0x6C, 0x9C, 0xA0, 0xCC, 0xDC})


def check_url(url: str) -> None:
    """`PaymentConfigError` unless `url` is a ZVT device URL."""
    try:
        pturl.parse(url)
    except (ZvtError, ValueError) as exc:
        raise PaymentConfigError(f"{exc} ({URL_HELP})") from None


def open_port(options: PortOptions) -> PaymentPort:
    check_url(options.url)
    client = PaymentTerminal(
        options.url,
        options.password,
        currency=money.currency_numeric(options.currency),
        t4=options.timeout_s,
        on_activity=options.on_activity,
    )
    return ZvtPort(client)


def neutral(result: Result, operation: str) -> PaymentResult:
    """A ZVT result as the port tells it; end of day's lines are the admin receipt."""
    lines = result.receipt_lines
    if operation == "end_of_day":
        lines = result.receipt("admin") or lines
    return PaymentResult(
        operation=operation,
        approved=result.approved,
        result_code=result.result_code,
        result_text=result.result_text,
        amount=result.amount,
        receipt_no=result.receipt_no,
        trace=result.trace,
        turnover_no=result.turnover_no,
        terminal_id=result.terminal_id,
        card_name=result.card_name,
        masked_pan=result.masked_pan,
        aid=result.aid,
        receipt_lines=tuple(lines),
    )


@contextmanager
def converted(operation: str) -> Iterator[None]:
    """ZVT's exceptions out as the port's, with the same message."""
    try:
        yield
    except ZvtCommitFailed as exc:
        raise PaymentCommitFailed(str(exc)) from exc.__cause__
    except ZvtDeclined as exc:
        raise PaymentDeclined(neutral(exc.result, operation), str(exc)) from exc
    except ZvtNotConnected as exc:
        raise PaymentUnreachable(str(exc)) from exc
    except ZvtBusy as exc:
        raise PaymentBusy(exc.code, str(exc)) from exc
    except ZvtRefused as exc:  # 84 xx to the command itself
        raise PaymentRefused(exc.code, str(exc)) from exc
    except ZvtTimeout as exc:
        raise PaymentTimeout(str(exc)) from exc
    except ZvtError as exc:  # the link or the protocol broke in the middle
        raise PaymentInterrupted(str(exc)) from exc


class ZvtPort:
    """A ZVT payment terminal as a `PaymentPort`."""

    def __init__(self, client: PaymentTerminal) -> None:
        self.client = client

    def connect(self) -> None:
        with converted("connect"):
            self.client.register()

    def sale(self, amount: int, on_commit: CommitHook | None = None) -> PaymentResult:
        hook = _hook(on_commit, "sale")
        return self._run("sale", lambda: self.client.authorize(amount, on_result=hook))

    def refund(self, amount: int, on_commit: CommitHook | None = None) -> PaymentResult:
        hook = _hook(on_commit, "refund")
        return self._run("refund", lambda: self.client.refund(amount, on_result=hook))

    def reversal(self, receipt_no: int, on_commit: CommitHook | None = None) -> PaymentResult:
        hook = _hook(on_commit, "reversal")
        return self._run("reversal", lambda: self.client.reverse(receipt_no, on_result=hook))

    def last_result(self) -> PaymentResult | None:
        """Repeat Receipt: 06 1E "nothing to repeat" is no receipt; a passing condition
        is `PaymentBusy`."""
        try:
            with converted("last_result"):
                return neutral(self.client.repeat_receipt(), "last_result")
        except PaymentDeclined as exc:
            if exc.code in NOTHING_TO_REPEAT:
                return None
            if exc.code in PASSING:
                raise PaymentBusy(exc.code, str(exc)) from exc.__cause__
            raise

    def end_of_day(self) -> PaymentResult:
        return self._run("end_of_day", self.client.end_of_day)

    def close(self) -> None:
        self.client.close()

    @staticmethod
    def _run(operation: str, call: Callable[[], Result]) -> PaymentResult:
        with converted(operation):
            return neutral(call(), operation)


def _hook(on_commit: CommitHook | None, operation: str) -> ResultHook | None:
    if on_commit is None:
        return None

    def hook(result: Result) -> None:
        on_commit(neutral(result, operation))

    return hook


__all__ = ["PaymentError", "ZvtPort", "check_url", "open_port"]

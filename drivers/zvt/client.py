"""`PaymentTerminal`: the ECR side of ZVT — one method per command, typed results.

Money rule 2 lives here: for commands that move money, the caller's `on_result` hook is
called with the result *before* the PT's Status-Information (04 0F) is acknowledged. If
the hook raises, the client answers a negative ack, so the PT reverses the payment itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from posterm.drivers.zvt import url as pturl
from posterm.drivers.zvt.errors import (
    ZvtCommitFailed,
    ZvtDeclined,
    ZvtLinkError,
    ZvtProtocolError,
    ZvtTimeout,
    refused,
)
from posterm.drivers.zvt.results import Result, ResultBuilder
from posterm.drivers.zvt.transport import Transport, open_transport
from posterm.protocol.zvt import commands as cmd
from posterm.protocol.zvt import messages
from posterm.protocol.zvt import pt_messages as pm
from posterm.protocol.zvt.apdu import Apdu
from posterm.protocol.zvt.errors import ZvtDecodeError, ZvtError
from posterm.protocol.zvt.tlv import Tlv

log = logging.getLogger("posterm.pt")

ResultHook = Callable[[Result], None]
ProgressHook = Callable[[pm.IntermediateStatus], None]
ActivityHook = Callable[[float], None]

T3_SECONDS = 5.0
T4_SECONDS = 180.0
NACK_GOODS_NOT_ISSUED = 0x66
# Registration config: the ECR prints payment and admin receipts, the PT sends 04 FF and
# print lines/blocks, the ECR controls payments and admin functions.
DEFAULT_CONFIG = (
    cmd.CFG_ECR_PRINTS_PAYMENT
    | cmd.CFG_ECR_PRINTS_ADMIN
    | cmd.CFG_PT_SENDS_INTERMEDIATE
    | cmd.CFG_ECR_CONTROLS_PAYMENT
    | cmd.CFG_ECR_CONTROLS_ADMIN
    | cmd.CFG_PT_SENDS_PRINT
)
# TLV 26 (permitted commands) listing 06 D3: the PT may send print text blocks.
ALLOW_TEXT_BLOCKS = (Tlv(0x26, children=(Tlv(0x0A, b"\x06\xd3"),)),)


class PaymentTerminal:
    """A ZVT payment terminal at `url` (`tcp://host:port` or `serial:///dev/x?baud=9600`)."""

    def __init__(
        self,
        url: str,
        password: str = cmd.DEFAULT_PASSWORD,
        *,
        currency: int = 978,
        t3: float = T3_SECONDS,
        t4: float = T4_SECONDS,
        connect_timeout: float = 5.0,
        on_progress: ProgressHook | None = None,
        on_activity: ActivityHook | None = None,
    ) -> None:
        """`on_activity(seconds)` is called whenever the exchange with the PT moves on (a
        command goes out, a message comes in) with how long the client will now wait at
        most for the PT: a watchdog can stay fed exactly while the PT makes progress."""
        self.url = pturl.parse(url)
        self.password = password
        self.currency = currency
        self.t3 = t3
        self.t4 = t4
        self.connect_timeout = connect_timeout
        self.on_progress = on_progress
        self.on_activity = on_activity
        self._transport: Transport | None = None

    # -- connection -------------------------------------------------------------------
    def __enter__(self) -> PaymentTerminal:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def _link(self) -> Transport:
        if self._transport is None:
            self._transport = open_transport(self.url, self.connect_timeout)
        return self._transport

    # -- commands ---------------------------------------------------------------------
    def register(self, config_byte: int = DEFAULT_CONFIG, text_blocks: bool = True) -> Result:
        command = cmd.Registration(
            password=self.password,
            config_byte=config_byte,
            currency=self.currency,
            tlv=ALLOW_TEXT_BLOCKS if text_blocks else (),
        )
        return self._run(command, "register")

    def authorize(
        self, amount: int, currency: int | None = None, on_result: ResultHook | None = None
    ) -> Result:
        _check_amount(amount)
        command = cmd.Authorization(amount=amount, currency=currency or self.currency)
        return self._run(command, "authorize", on_result=on_result)

    def reverse(self, receipt_no: int, on_result: ResultHook | None = None) -> Result:
        if not 0 <= receipt_no <= 9999:
            raise ValueError(f"receipt number {receipt_no} is not 0..9999")
        command = cmd.Reversal(password=self.password, receipt_no=receipt_no)
        return self._run(command, "reverse", on_result=on_result)

    def refund(
        self, amount: int, currency: int | None = None, on_result: ResultHook | None = None
    ) -> Result:
        _check_amount(amount)
        command = cmd.Refund(
            password=self.password, amount=amount, currency=currency or self.currency
        )
        return self._run(command, "refund", on_result=on_result)

    def repeat_receipt(self, on_result: ResultHook | None = None) -> Result:
        return self._run(cmd.RepeatReceipt(password=self.password), "repeat_receipt", on_result)

    def end_of_day(self) -> Result:
        return self._run(cmd.EndOfDay(password=self.password), "end_of_day")

    def status_enquiry(self) -> Result:
        return self._run(cmd.StatusEnquiry(password=self.password), "status_enquiry")

    def diagnosis(self) -> Result:
        return self._run(cmd.Diagnosis(), "diagnosis")

    def log_off(self) -> Result:
        return self._run(cmd.LogOff(), "log_off")

    def abort(self) -> Result:
        return self._run(cmd.Abort(), "abort")

    # -- the command flow -------------------------------------------------------------
    def _send(self, message: Any) -> None:
        self._link().send(messages.encode(message))

    def _run(self, command: Any, name: str, on_result: ResultHook | None = None) -> Result:
        try:
            return self._flow(command, name, on_result)
        except (ZvtLinkError, ZvtProtocolError):
            self.close()  # the next command starts on a fresh link
            raise

    def _activity(self, seconds: float) -> None:
        if self.on_activity is not None:
            self.on_activity(max(seconds, 0.0))

    def _flow(self, command: Any, name: str, on_result: ResultHook | None) -> Result:
        self._activity(self.t3 + (self.connect_timeout if self._transport is None else 0.0))
        link = self._link()
        log.debug("pt: -> %s", type(command).__name__)
        link.send(messages.encode(command))
        self._await_command_ack(link, command, name)
        builder = ResultBuilder(name)
        if isinstance(command, cmd.LogOff | cmd.Abort):
            builder.completed(pm.Completion())
            return builder.current()
        commit_error: BaseException | None = None
        deadline = time.monotonic() + self.t4
        while not builder.ended:
            remaining = deadline - time.monotonic()
            self._activity(remaining)  # after the ack and after every message from the PT
            try:
                raw = link.receive(max(remaining, 0.0))
            except ZvtTimeout as exc:
                raise ZvtTimeout(f"pt: T4 expired waiting for the end of {name}") from exc
            msg = self._decode(raw, command)
            if msg is None:
                self._send(pm.NegativeAck(0x83))
                continue
            if isinstance(msg, pm.IntermediateStatus):
                minutes = msg.timeout
                deadline = time.monotonic() + (minutes * 60.0 if minutes else self.t4)
                if self.on_progress is not None:
                    self.on_progress(msg)
                self._send(pm.PositiveAck())
            elif isinstance(msg, pm.StatusInformation):
                deadline = time.monotonic() + self.t4
                result = builder.status(msg)
                if on_result is not None and commit_error is None:
                    try:
                        on_result(result)
                    except Exception as exc:  # the caller could not commit: PT must reverse
                        log.error("pt: commit hook failed (%s); refusing the result", exc)
                        commit_error = exc
                        self._send(pm.NegativeAck(NACK_GOODS_NOT_ISSUED))
                        continue
                self._send(pm.PositiveAck())
            elif isinstance(msg, pm.PrintLine):
                builder.line(msg)
                self._send(pm.PositiveAck())
            elif isinstance(msg, pm.PrintTextBlock):
                builder.block(msg)
                self._send(pm.PositiveAck())
            elif isinstance(msg, pm.StatusEnquiryCompletion):
                builder.status_enquiry(msg)
                builder.completed(pm.Completion())
                self._send(pm.PositiveAck())
            elif isinstance(msg, pm.Completion):
                builder.completed(msg)
                self._send(pm.PositiveAck())
            elif isinstance(msg, pm.AbortFromPt):
                builder.aborted(msg)
                self._send(pm.PositiveAck())
            else:
                log.warning("pt: unexpected %s during %s", type(msg).__name__, name)
                self._send(pm.NegativeAck(0x83))
        result = builder.current()
        log.info(
            "pt: %s ended: %s (%02X) receipt=%s",
            name,
            result.result_text,
            result.result_code & 0xFF,
            result.receipt_no,
        )
        if commit_error is not None:
            raise ZvtCommitFailed(
                f"result not committed, PT told to reverse: {commit_error}"
            ) from (commit_error)
        if not result.approved and isinstance(
            command, cmd.Authorization | cmd.Refund | cmd.Reversal | cmd.RepeatReceipt
        ):
            raise ZvtDeclined(result)
        return result

    def _await_command_ack(self, link: Transport, command: Any, name: str) -> None:
        """Wait T3 for `80 00` or `84 xx`. Anything else is left over from a command the PT
        ran for an ECR that went away (a restart): skipped, the PT then abandons it."""
        deadline = time.monotonic() + self.t3
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ZvtTimeout(f"pt: no 80 00 to {name} within T3")
            first = self._decode(link.receive(remaining), command)
            if isinstance(first, pm.NegativeAck):
                raise refused(first.error)
            if isinstance(first, pm.PositiveAck):
                return
            log.warning("pt: skipping a stale %s while waiting for 80 00", type(first).__name__)

    @staticmethod
    def _decode(raw: Apdu, command: Any) -> Any:
        try:
            return messages.decode(raw, answering=command.CODE)
        except ZvtDecodeError as exc:
            log.warning("pt: cannot read %s: %s", raw, exc)
            return None


def _check_amount(amount: int) -> None:
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= 999_999_999_999:
        raise ValueError(f"amount must be 1..999999999999 minor units, got {amount!r}")


__all__ = ["PaymentTerminal", "Result", "ZvtError"]

"""The simulated PT's behaviour: one ZVT command at a time, as a certified terminal runs it.

The ledger is written before the PT says anything about a payment; a payment whose 04 0F
the ECR does not acknowledge (refusal, timeout, link drop) is auto-reversed and so marked.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from posterm.hwsim.pt.channels import LinkDown
from posterm.hwsim.pt.faults import Faults
from posterm.hwsim.pt.ledger import Entry, Ledger
from posterm.hwsim.pt.outcomes import CARDS, outcome_for
from posterm.hwsim.pt.receipts import receipt_lines, totals_bytes
from posterm.protocol.zvt import commands as cmd
from posterm.protocol.zvt import messages
from posterm.protocol.zvt import pt_messages as pm
from posterm.protocol.zvt.apdu import Apdu
from posterm.protocol.zvt.commands import COMMANDS
from posterm.protocol.zvt.errors import ZvtDecodeError

log = logging.getLogger("posterm.sim.pt")

SW_VERSION = "posterm-sim PT 1.0"


class Channel(Protocol):
    def send(self, apdu: Apdu) -> None: ...
    def receive(self, timeout: float | None) -> Apdu | None: ...
    def drop(self) -> None: ...


class _EcrRefused(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(f"ECR answered 84 {code:02X}")
        self.code = code


class _NewCommand(Exception):
    """A command arrived where an ack was due: the ECR restarted and lost the old one."""

    def __init__(self, apdu: Apdu) -> None:
        super().__init__(f"new command {apdu} instead of an ack")
        self.apdu = apdu


@dataclass
class PtConfig:
    terminal_id: str = "29001234"
    vu_number: str = "VU-POSTERM-0001"
    currency: int = 978
    password: str = "000000"
    card: str = "visa"
    ack_timeout: float = 5.0  # how long the PT waits for the ECR's ack of what it sent
    slow_seconds: float = 1.0
    step_delay: float = 0.0  # pause between the PT's messages (a real card takes time)
    status_timeout_min: int = 0  # the 04 FF timeout byte: the ECR's T4, in minutes (0: keep)


@dataclass
class _Session:
    config_byte: int = 0
    text_blocks: bool = False
    registered: bool = False
    last: dict[str, object] = field(default_factory=dict)


class PtEngine:
    def __init__(self, ledger: Ledger, config: PtConfig, faults: Faults) -> None:
        self.ledger = ledger
        self.config = config
        self.faults = faults
        self.session = _Session()

    # -- plumbing -----------------------------------------------------------------------
    def _send(self, ch: Channel, message: object) -> None:
        if self.config.step_delay:
            time.sleep(self.config.step_delay)
        ch.send(messages.encode(message))

    def _await_ack(self, ch: Channel, timeout: float | None = None) -> None:
        reply = ch.receive(timeout or self.config.ack_timeout)
        if reply is None:
            raise TimeoutError("no 80 00 from the ECR")
        if reply.cls == 0x84:
            raise _EcrRefused(reply.instr)
        if reply.code != 0x8000:
            if reply.code in COMMANDS:
                raise _NewCommand(reply)
            raise _EcrRefused(0x9A)

    def _tell(self, ch: Channel, message: object) -> None:
        """Send something that the ECR must acknowledge with 80 00."""
        self._send(ch, message)
        self._await_ack(ch)

    def _progress(self, ch: Channel, status: int) -> None:
        if self.session.config_byte & cmd.CFG_PT_SENDS_INTERMEDIATE:
            self._tell(ch, pm.IntermediateStatus(status, timeout=self.config.status_timeout_min))

    def _finish(self, ch: Channel, message: object) -> None:
        try:
            self._tell(ch, message)
        except (TimeoutError, _EcrRefused):
            log.info("sim pt: the ECR did not acknowledge the end of the command")
        except _NewCommand as new:
            log.info("sim pt: the ECR moved on without acknowledging the end")
            raise new

    # -- dispatch -----------------------------------------------------------------------
    def handle(self, ch: Channel, apdu: Apdu) -> None:
        try:
            command = messages.decode(apdu)
        except ZvtDecodeError as exc:
            log.info("sim pt: unreadable command %s: %s", apdu, exc)
            self._send(ch, pm.NegativeAck(0x83))
            return
        handler = {
            cmd.Registration: self._registration,
            cmd.Authorization: self._authorization,
            cmd.Reversal: self._reversal,
            cmd.Refund: self._refund,
            cmd.RepeatReceipt: self._repeat_receipt,
            cmd.EndOfDay: self._end_of_day,
            cmd.StatusEnquiry: self._status_enquiry,
            cmd.Diagnosis: self._diagnosis,
            cmd.LogOff: self._ack_only,
            cmd.Abort: self._ack_only,
        }.get(type(command))
        if handler is None:
            self._send(ch, pm.NegativeAck(0x83))
            return
        if (
            isinstance(command, cmd.RepeatReceipt)
            and self.faults.active("repeat_receipt_unsupported")
        ) or (isinstance(command, cmd.Refund) and self.faults.active("refund_unsupported")):
            self._send(ch, pm.NegativeAck(0x83))
            return
        password = getattr(command, "password", None)
        if password is not None and password != self.config.password:
            self._send(ch, pm.NegativeAck(0x9A))
            return
        self._send(ch, pm.PositiveAck())
        try:
            handler(ch, command)  # type: ignore[operator]
        except (TimeoutError, _EcrRefused) as exc:
            log.info("sim pt: %s: %s", type(command).__name__, exc)
        except _NewCommand as new:
            log.info("sim pt: %s abandoned: %s", type(command).__name__, new)
            self.handle(ch, new.apdu)

    def _ack_only(self, ch: Channel, command: object) -> None:
        del ch, command

    # -- admin --------------------------------------------------------------------------
    def _registration(self, ch: Channel, command: cmd.Registration) -> None:
        self.session.config_byte = command.config_byte
        self.session.registered = True
        permitted = [t for t in command.tlv or () if t.tag == 0x26]
        self.session.text_blocks = any(
            c.value == b"\x06\xd3" for t in permitted for c in t.children
        )
        if command.currency is not None:
            self.config.currency = command.currency
        self._finish(
            ch,
            pm.Completion(
                status_byte=0, terminal_id=self.config.terminal_id, currency=self.config.currency
            ),
        )

    def _status_enquiry(self, ch: Channel, command: cmd.StatusEnquiry) -> None:
        self._finish(ch, pm.StatusEnquiryCompletion(sw_version=SW_VERSION, terminal_status=0))

    def _diagnosis(self, ch: Channel, command: cmd.Diagnosis) -> None:
        self._progress(ch, 0x04)
        self._finish(ch, pm.Completion())

    def _end_of_day(self, ch: Channel, command: cmd.EndOfDay) -> None:
        self._progress(ch, 0x0E)
        batch, count, total = self.ledger.close_batch()
        now = datetime.now()
        self._tell(
            ch,
            pm.StatusInformation(
                result_code=0,
                amount=max(total, 0),
                trace=batch,
                time=now.strftime("%H%M%S"),
                date=now.strftime("%m%d"),
                totals=totals_bytes(count, total),
                terminal_id=self.config.terminal_id,
            ),
        )
        lines = [
            "END OF DAY",
            f"Terminal {self.config.terminal_id}",
            f"Batch {batch:04d}",
            f"Transactions {count}",
            f"Total {total / 100:.2f}",
            "BATCH CLOSED",
        ]
        self._print(ch, pm.RECEIPT_ADMIN, lines)
        self._finish(ch, pm.Completion())

    # -- money --------------------------------------------------------------------------
    def _authorization(self, ch: Channel, command: cmd.Authorization) -> None:
        currency = command.currency or self.config.currency
        if not command.amount:
            self._finish(ch, pm.AbortFromPt(0xC8))
            return
        if currency != self.config.currency:
            self._finish(ch, pm.AbortFromPt(0x6F))
            return
        self._card_steps(ch, command.amount)

    def _card_steps(self, ch: Channel, amount: int, kind: str = "payment") -> None:
        outcome = outcome_for(amount)
        self._progress(ch, 0x0A)  # insert card
        for status in outcome.intermediate:
            self._progress(ch, status)
        self._progress(ch, 0x01)  # watch PIN pad
        if self.faults.active("hold_at_pin"):
            log.info("sim pt: holding at the PIN pad until hold_at_pin is cleared")
            while self.faults.active("hold_at_pin"):
                time.sleep(0.5)
                self._progress(ch, 0x01)
            log.info("sim pt: PIN entered")
        if outcome.pin_retry:
            self._progress(ch, 0x15)  # incorrect PIN
            self._progress(ch, 0x01)
        if outcome.slow:
            for _ in range(3):
                self._progress(ch, 0x04)  # waiting for the host
                time.sleep(self.config.slow_seconds / 3)
        if outcome.result_code:
            self._progress(ch, 0x1D)  # declined
            self._finish(ch, pm.AbortFromPt(outcome.result_code))
            return
        name, card_type, pan, aid = CARDS[self.config.card]
        entry = self.ledger.add(kind, amount, self.config.currency, masked_pan=pan, card_name=name)
        self._conclude(ch, entry, card_type=card_type, aid=aid)

    def _status_for(
        self, entry: Entry, card_type: int | None, aid: bytes | None
    ) -> pm.StatusInformation:
        created = datetime.fromisoformat(entry.created_at).astimezone()
        return pm.StatusInformation(
            result_code=0,
            amount=entry.amount,
            currency=entry.currency,
            trace=entry.trace,
            time=created.strftime("%H%M%S"),
            date=created.strftime("%m%d"),
            payment_type=0x40,
            pan=entry.masked_pan,
            terminal_id=self.config.terminal_id,
            vu_number=self.config.vu_number,
            aid=aid,
            receipt_no=entry.receipt_no,
            turnover_no=entry.turnover_no,
            card_type=card_type,
            card_name=entry.card_name,
        )

    def _conclude(
        self,
        ch: Channel,
        entry: Entry,
        *,
        card_type: int | None,
        aid: bytes | None,
        reverses: Entry | None = None,
    ) -> None:
        """The money moved at the host: deliver the 04 0F; keep it only if acknowledged."""
        if self.faults.take("drop_before_status"):
            self.ledger.set_state(entry.id, "auto_reversed")
            ch.drop()
            raise LinkDown("link dropped before the 04 0F (fault)")
        status = self._status_for(entry, card_type, aid)
        timeout = 1.0 if self.faults.active("no_status_ack_timeout") else self.config.ack_timeout
        while True:
            self._send(ch, status)
            try:
                self._await_ack(ch, timeout)
                break
            except _EcrRefused as exc:
                if exc.code == 0x9C:  # the ECR asks to repeat it later
                    time.sleep(0.2)
                    continue
                self._auto_reverse(ch, entry, f"ECR refused the 04 0F (84 {exc.code:02X})")
                return
            except (TimeoutError, LinkDown, _NewCommand) as exc:
                self.ledger.set_state(entry.id, "auto_reversed")
                log.info("sim pt: receipt %d auto-reversed: %s", entry.receipt_no, exc)
                raise
        self.ledger.set_state(entry.id, "booked")
        if reverses is not None:
            self.ledger.set_state(reverses.id, "reversed")
        self.session.last = {"entry_id": entry.id, "card_type": card_type, "aid": aid}
        if self.faults.take("abort_after_status"):
            log.info("sim pt: receipt %d kept, ending with 06 1E (fault)", entry.receipt_no)
            self._finish(ch, pm.AbortFromPt(0x66))
            return
        self._receipts(ch, self.ledger_entry(entry.id), duplicate=False)
        if self.faults.take("drop_before_completion"):
            ch.drop()
            raise LinkDown("link dropped before the completion (fault)")
        self._finish(ch, pm.Completion())

    def ledger_entry(self, entry_id: int) -> Entry:
        return next(e for e in self.ledger.entries() if e.id == entry_id)

    def _auto_reverse(self, ch: Channel, entry: Entry, why: str) -> None:
        self.ledger.set_state(entry.id, "auto_reversed")
        log.info("sim pt: receipt %d auto-reversed: %s", entry.receipt_no, why)
        try:
            self._progress(ch, 0x05)  # sending auto-reversal
            self._finish(ch, pm.AbortFromPt(0x6C))
        except (TimeoutError, _EcrRefused):
            pass

    def _reversal(self, ch: Channel, command: cmd.Reversal) -> None:
        original = self.ledger.find_receipt(command.receipt_no or 0)
        if original is None or original.batch != self.ledger.batch:
            self._finish(ch, pm.AbortFromPt(0xB5))  # reversal not possible
            return
        if original.state == "reversed":
            self._finish(ch, pm.AbortFromPt(0xB4))  # already reversed
            return
        if original.state != "booked":
            self._finish(ch, pm.AbortFromPt(0xB5))
            return
        self._progress(ch, 0x17)
        entry = self.ledger.add(
            "reversal",
            original.amount,
            original.currency,
            ref_receipt_no=original.receipt_no,
            masked_pan=original.masked_pan,
            card_name=original.card_name,
        )
        self._conclude(ch, entry, card_type=None, aid=None, reverses=original)

    def _refund(self, ch: Channel, command: cmd.Refund) -> None:
        if self.faults.active("refuse_refunds"):
            self._finish(ch, pm.AbortFromPt(0x83))
            return
        if not command.amount:
            self._finish(ch, pm.AbortFromPt(0xC8))
            return
        if (command.currency or self.config.currency) != self.config.currency:
            self._finish(ch, pm.AbortFromPt(0x6F))
            return
        self._card_steps(ch, command.amount, kind="refund")

    def _repeat_receipt(self, ch: Channel, command: cmd.RepeatReceipt) -> None:
        if self.faults.active("refuse_repeat_receipt"):
            self._finish(ch, pm.AbortFromPt(0x83))
            return
        booked = [e for e in self.ledger.entries() if e.state in ("booked", "reversed")]
        if not booked:
            self._finish(ch, pm.AbortFromPt(0x64))
            return
        entry = booked[-1]
        card = next((c for c in CARDS.values() if c[0] == entry.card_name), None)
        status = self._status_for(entry, card[1] if card else None, card[3] if card else None)
        self._tell(ch, status)
        self._receipts(ch, entry, duplicate=True)
        self._finish(ch, pm.Completion())

    # -- receipts -----------------------------------------------------------------------
    def _receipts(self, ch: Channel, entry: Entry, *, duplicate: bool) -> None:
        for kind in (pm.RECEIPT_MERCHANT, pm.RECEIPT_CUSTOMER):
            self._print(ch, kind, receipt_lines(entry, self.config, kind, duplicate=duplicate))

    def _print(self, ch: Channel, kind: int, lines: list[str]) -> None:
        cfg = self.session.config_byte
        if not cfg & cmd.CFG_PT_SENDS_PRINT or not cfg & (
            cmd.CFG_ECR_PRINTS_PAYMENT | cmd.CFG_ECR_PRINTS_ADMIN
        ):
            return  # the PT prints on its own printer
        if self.session.text_blocks:
            self._tell(ch, pm.PrintTextBlock.from_lines(kind, lines))
            return
        for i, line in enumerate(lines):
            last = i == len(lines) - 1
            self._tell(ch, pm.PrintLine(0x81 if last else 0x00, line))

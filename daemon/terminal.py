"""The terminal: owns the journal, the PT and the printer; runs every request on the owner
thread; resolves in-doubt operations first; keeps the mode the operator sees."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from posterm.daemon.backoff import Backoff
from posterm.daemon.config import Config
from posterm.daemon.errors import TerminalError
from posterm.daemon.flows import outcomes, receipts, recovery
from posterm.daemon.flows.context import ModeCell, ReceiptPort
from posterm.daemon.health import Health
from posterm.daemon.journal import retention
from posterm.daemon.journal.errors import JournalError, JournalIOError
from posterm.daemon.journal.rows import Txn, new_txn_id
from posterm.daemon.journal.store import Journal, Tx
from posterm.daemon.owner import Owner
from posterm.daemon.requests import Requests
from posterm.daemon.states import Kind, Mode, TxnState
from posterm.daemon.updatelock import UpdateInProgress, UpdateLock
from posterm.drivers.payment.errors import PaymentError
from posterm.drivers.payment.port import PaymentPort
from posterm.protocol import money
from posterm.protocol.errorcodes import ErrorCode

log = logging.getLogger("posterm.terminal")

# After a PT operation broke off, the PT gets a moment before it is asked again.
PT_SETTLE_SECONDS = 2.0
# In doubt with no evidence either way: the PT is asked again now and then (it may answer
# after a restart of its own), the operator's `resolve` being the usual way out.
OPERATOR_RETRY_SECONDS = 60.0
PRINTER_CHECK_SECONDS = 5.0
# Retention: a prune step an hour after start and every hour (one batch per idle tick
# while more is left), so an SD card never fills.
PRUNE_EVERY_SECONDS = 3600.0


FAULT_MODES = (Mode.PT_DOWN, Mode.IN_DOUBT, Mode.FAULT)
INTERNAL_FIELDS = frozenset(
    {"idem_key", "turnover_no", "terminal_id", "aid", "result_code", "pt_receipt_lines"}
)
EVENT_OMITS = frozenset({"result_text", "created_at", "updated_at"})


def txn_fields(txn: Txn) -> dict[str, Any]:
    """A journaled transaction as the outside sees it: amounts as decimal strings; not the
    idempotency key, the PT's internals or its receipt lines."""
    data = {k: v for k, v in asdict(txn).items() if k not in INTERNAL_FIELDS}
    return data | {
        "kind": str(txn.kind),
        "state": str(txn.state),
        "amount": money.format_amount(txn.amount, txn.currency),
    }


class Terminal(Requests):
    """The state owner: life cycle, mode, recovery and the helpers the flows share, all
    run on the owner thread. What other threads may ask of it is `Requests`
    (daemon/requests.py)."""

    def __init__(
        self,
        config: Config,
        journal: Journal,
        pt: PaymentPort,
        printer: ReceiptPort,
        *,
        on_mode: Callable[[Mode, str], None] | None = None,
        on_signal: Callable[[str], None] | None = None,
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self.journal = journal
        self.pt = pt
        self.printer = printer
        self.currency = config.terminal.currency
        self.mode = ModeCell(on_change=self._mode_changed)
        self._on_mode = on_mode
        self._fault: Mode | None = None
        self._on_signal = on_signal
        self._on_idle = on_idle
        self.pt_backoff = Backoff("pt")
        self.printer_backoff = Backoff("printer")
        self._last_printer_check = 0.0
        self._next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
        # Recovery found an operation no evidence decides: the operator must, so the PT is
        # not asked again by itself (the confirm button or `resolve` goes on).
        self.awaiting_operator = False
        # the host link's state for `status` (set by the sync relay; None: no [mqtt])
        self.host_link: Callable[[], dict[str, Any]] | None = None
        # Receipts printed whose `printed` could not be journaled: never printed again
        # by this process (a restart marks them RECOVERED).
        self.printed_unjournaled: set[int] = set()
        # held by postermd for every operation and print job; an updater takes it too
        self.update_lock = UpdateLock(config.system.update_lock)
        self._started = False  # start-up recovery done (it waits while an update runs)
        self.health = Health(config.journal.path)
        self.owner = Owner(self._idle, tick=0.5)

    def _mode_changed(self, mode: Mode, reason: str) -> None:
        """Journal every mode transition; a fault raised or cleared is an event for the
        fleet (a terminal is never silently unable to sell). The LEDs and systemd's STATUS
        hear of it even when the journal cannot be written."""
        history = self.mode.history
        old = history[-2][0] if len(history) > 1 else Mode.STARTING
        raised = mode in FAULT_MODES and self._fault is None
        cleared = mode == Mode.READY and self._fault is not None
        try:
            with self.journal.transaction() as tx:
                tx.record_mode(str(old), str(mode), reason)
                if raised:
                    tx.emit("fault.raised", {"state": str(mode), "reason": reason})
                elif cleared:
                    tx.emit("fault.cleared", {"state": str(mode), "was": str(self._fault)})
            if raised or cleared:
                self._fault = mode if raised else None
        except JournalIOError as exc:
            log.error("terminal: mode %s not journaled: %s", mode, exc)
            if mode != Mode.FAULT:  # entering FAULT never depends on the journal
                self.fault(f"journal write failed: {exc}")
                return
        except JournalError as exc:  # a reason the journal refuses to store: say so only
            log.error("terminal: mode %s not journaled: %s", mode, exc)
        if self._on_mode is not None:
            self._on_mode(self.mode.mode, self.mode.reason)

    def fault(self, reason: str) -> None:
        """Sticky FAULT: no selling, no printing, until an operator restarts postermd."""
        self.mode.set(Mode.FAULT, reason)

    # -- life cycle -------------------------------------------------------------------
    def start(self) -> None:
        """Open for business: recover first (on the owner thread), then READY."""
        self.update_lock.open()
        self.owner.start()
        self.owner.call(self._start_up)

    def stop(self, timeout: float = 10.0) -> bool:
        """Take no new work, let the operation in progress finish (its receipt included)
        within `timeout`; True if it did. Otherwise it is left to the journal: in doubt or
        pending, settled at the next start."""
        finished = self.owner.stop(timeout)
        if not finished:
            log.warning("terminal: stopping with %s unfinished after %.0f s; the next start "
                        "settles it", self.mode.reason, timeout)  # fmt: skip
        self.pt.close()
        if finished:
            self.update_lock.close()
        return finished

    def _start_up(self) -> None:
        try:
            with self.update_lock.held("start-up recovery"):
                self._started = True
                self._recover_at_start()
        except UpdateInProgress as exc:
            self.mode.set(Mode.RECOVERING, f"start-up waits: {exc}")

    def _recover_at_start(self) -> None:
        self.mode.set(Mode.RECOVERING, "start-up")
        try:
            count = receipts.mark_all_recovered(self)
            if count:
                log.info("terminal: %d receipt(s) left pending by the last run", count)
            missing = receipts.issue_missing(self)
            if missing:
                log.warning("terminal: %d approved operation(s) had no receipt", missing)
            self._reach_pt()
        except JournalIOError as exc:
            self.fault(f"journal: {exc}")

    def _reach_pt(self) -> None:
        """Register with the PT, resolve what is in doubt, then READY (or say why not)."""
        try:
            self.pt.connect()
        except PaymentError as exc:
            self.pt_backoff.failed(str(exc))
            in_doubt = recovery.unresolved(self)
            if in_doubt:
                self.mode.set(Mode.IN_DOUBT, f"{len(in_doubt)} in doubt; PT unreachable: {exc}")
            else:
                self.mode.set(Mode.PT_DOWN, f"payment terminal unreachable: {exc}")
            return
        if recovery.recover(self):
            self.pt_backoff.succeeded()
            self.mode.set(Mode.READY, "ready")
            receipts.print_pending(self)
        elif self.awaiting_operator:
            self.pt_backoff.hold(OPERATOR_RETRY_SECONDS)
        else:
            self.pt_backoff.failed(self.mode.reason)

    def _when_no_update(self, what: str, fn: Callable[[], object]) -> bool:
        """Idle work that talks to the PT or prints: only while no updater holds the lock."""
        try:
            with self.update_lock.held(what):
                fn()
        except UpdateInProgress:
            return False
        return True

    def _prune(self) -> None:
        """One batch of retention: acknowledged events and finished transactions older
        than `mqtt.retention_days` (default: the refund window + 30 days)."""
        window = self.config.refunds.window_days
        days = self.config.mqtt.retention_days if self.config.mqtt is not None else None
        age = timedelta(days=days) if days is not None else retention.default_age(window)
        result = retention.prune_step(self.journal, older_than=age, refund_window_days=window)
        if result.total:
            log.info("terminal: retention pruned %s", result)
        self._next_prune = time.monotonic() + (0.0 if result.more else PRUNE_EVERY_SECONDS)

    def retry_pt(self) -> None:
        """Operator asked (confirm button): try the payment terminal again now."""
        if self.mode.mode in (Mode.PT_DOWN, Mode.IN_DOUBT):
            self.pt_backoff.retry_now()
            self._when_no_update("PT retry", lambda: self._guarded(self._reach_pt))

    def _idle(self) -> None:
        if self._on_idle is not None:
            self._on_idle()
        if self.mode.faulted:
            return
        if not self._started:
            self._start_up()
            return
        now = time.monotonic()
        self.journal.finish_scrub()
        if now - self._last_printer_check >= PRINTER_CHECK_SECONDS:
            self._last_printer_check = now
            if self.printer.is_ready():  # also refreshes the status `status` reports
                self.printer_backoff.retry_now()
        try:
            if self.mode.mode in (Mode.PT_DOWN, Mode.IN_DOUBT) and self.pt_backoff.due():
                self._when_no_update("PT recovery", self._reach_pt)
            if now >= self._next_prune and self.mode.mode != Mode.BUSY:
                self._prune()
            # A pending receipt prints when the printer is ready, whatever the PT does.
            if (
                not self.mode.faulted
                and self.printer_backoff.due()
                and self.journal.pending_receipts()
            ):
                if not self._when_no_update(
                    "pending receipts", lambda: receipts.print_pending(self)
                ):
                    return
                if self.journal.pending_receipts():
                    self.printer_backoff.failed(
                        f"receipt pending: {self.printer.last_status_text()}"
                    )
                else:
                    self.printer_backoff.succeeded()
        except JournalIOError as exc:
            self.fault(f"journal write failed: {exc}")

    # -- helpers for the flows (owner thread) -----------------------------------------
    def require_ready(self) -> None:
        if self.mode.mode != Mode.READY:
            raise TerminalError(
                ErrorCode.NOT_READY,
                f"not taking payments: {self.mode.reason}",
                state=str(self.mode.mode),
            )

    def settle(self) -> None:
        """After an operation: READY, unless something is left in doubt."""
        if self.mode.mode != Mode.BUSY:
            return
        left = recovery.unresolved(self)
        if left:
            self.mode.set(Mode.IN_DOUBT, f"{left[0].txn_id} in doubt")
        else:
            self.mode.set(Mode.READY, "ready")

    def pt_activity(self) -> None:
        self.pt_backoff.hold(PT_SETTLE_SECONDS)

    def signal(self, what: str) -> None:
        if self._on_signal is not None:
            self._on_signal(what)

    def parse_amount(self, text: str, min_minor: int, max_minor: int) -> int:
        try:
            amount = money.parse_amount(
                text, self.currency, min_minor=min_minor, max_minor=max_minor
            )
        except ValueError as exc:
            raise TerminalError(ErrorCode.BAD_AMOUNT, str(exc)) from exc
        return amount

    def fmt(self, minor: int) -> str:
        return f"{money.format_amount(minor, self.currency)} {self.currency}"

    def begin(
        self,
        kind: Kind,
        amount: int,
        *,
        state: TxnState = TxnState.IN_DOUBT,
        event: str | None = None,
        event_extra: dict[str, Any] | None = None,
        **fields: Any,
    ) -> str:
        """Journal a new operation (write-ahead: before any byte goes to the PT); its
        `event` carries the operation and `event_extra` (travels in the event only)."""
        txn_id = new_txn_id()
        with self.journal.transaction() as tx:
            tx.insert_txn(
                txn_id=txn_id,
                kind=kind,
                state=state,
                amount=amount,
                currency=fields.pop("currency", self.currency),
                batch_no=self.batch_no(),
                **fields,
            )
            if event is not None:
                tx.emit(event, self.event_data(txn_id, tx) | (event_extra or {}))
        return txn_id

    def batch_no(self) -> int:
        return int(self.journal.kv_get("batch_no") or 1)

    def idempotent(
        self, kind: Kind, key: str, amount: int, ref_txn: str | None = None
    ) -> dict[str, Any] | None:
        """Same key, same request: the first answer (or the final outcome once known).
        A key is bound to its kind, its target transaction and its amount: any
        difference is `key_conflict`."""
        known = self.journal.find_by_idem_key_any(key)
        if known is None:
            return None
        if (known.kind, known.amount, known.ref_txn) != (str(kind), amount, ref_txn):
            target = f" of {known.ref_txn}" if known.ref_txn else ""
            raise TerminalError(
                ErrorCode.KEY_CONFLICT,
                f"key {key!r} was used for {known.kind} {known.txn_id}{target} with "
                f"{self.fmt(known.amount)}: use a new key for a different request",
                txn_id=known.txn_id,
            )
        error = outcomes.error_for(known)
        if error is not None:
            raise error
        return self.view(known.txn_id)

    def totals_json(self, totals: dict[str, int]) -> dict[str, Any]:
        return {
            k: money.format_amount(v, self.currency)
            if k in ("sales", "refunds", "voids", "net")
            else v
            for k, v in totals.items()
        } | {"currency": self.currency}

    def event_data(self, txn_id: str, tx: Tx) -> dict[str, Any]:
        """What an outbox event says of a transaction (read inside the writing `tx`)."""
        data = txn_fields(tx.txn(txn_id))
        return {k: v for k, v in data.items() if v is not None and k not in EVENT_OMITS}

    def view(self, txn_id: str) -> dict[str, Any]:
        """What the control API answers about a transaction."""
        txn = self.journal.txn(txn_id)
        customer = [r for r in self.journal.receipts_of(txn_id) if r.copy == "customer"]
        if not customer:
            receipt_state = "none"
        elif any(r.state == "pending" for r in customer):
            receipt_state = "pending"
        else:
            receipt_state = "printed"
        return {**txn_fields(txn), "receipt_state": receipt_state}

"""The terminal, one surface: every request of the control socket, the panel and the host
link, run on the one owner thread; the mode the operator sees; start and stop.

A request waits its turn on the owner thread, holding the update lock, and runs a flow
(daemon/flows/) with the terminal's `FlowContext`. A failure it did not expect is
converted here into a `TerminalError` and a mode the operator sees (IN_DOUBT or FAULT,
never READY). `status` alone is answered without waiting for the owner thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from posterm.daemon.backoff import Backoff
from posterm.daemon.config import Config
from posterm.daemon.errors import TerminalError
from posterm.daemon.flows import eod, records, recovery, refs, refund, reprint, sale, void
from posterm.daemon.flows.context import FlowContext, ModeCell, ReceiptPort
from posterm.daemon.health import Health
from posterm.daemon.journal.errors import JournalError, JournalIOError
from posterm.daemon.journal.store import Journal
from posterm.daemon.owner import Owner, OwnerStopped
from posterm.daemon.states import Mode, TxnState
from posterm.daemon.updatelock import UpdateInProgress, UpdateLock
from posterm.daemon.upkeep import Upkeep
from posterm.drivers.payment.port import PaymentPort
from posterm.protocol.errorcodes import ErrorCode

log = logging.getLogger("posterm.terminal")
T = TypeVar("T")

# After a PT operation broke off, the PT gets a moment before it is asked again.
PT_SETTLE_SECONDS = 2.0
FAULT_MODES = (Mode.PT_DOWN, Mode.IN_DOUBT, Mode.FAULT)


class Terminal:
    """The state owner. Public methods may be called from any thread; the work runs on
    the owner thread (`owner`), which alone touches the journal, the PT and the printer."""

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
        self.mode = ModeCell(on_change=self._mode_changed)
        self._on_mode = on_mode
        self._on_idle = on_idle
        self._fault: Mode | None = None  # the fault the fleet was last told of
        self.pt_backoff = Backoff("pt")
        self.printer_backoff = Backoff("printer")
        # what every flow gets: the ports, the mode, the panel, the PT's back-off
        self.ctx = FlowContext(
            config,
            journal,
            pt,
            printer,
            self.mode,
            signal=on_signal if on_signal is not None else _nothing,
            pt_activity=lambda: self.pt_backoff.hold(PT_SETTLE_SECONDS),
        )
        # the host link's state for `status` (set by the sync relay; None: no [mqtt])
        self.host_link: Callable[[], dict[str, Any]] | None = None
        # held by postermd for every operation and print job; an updater takes it too
        self.update_lock = UpdateLock(config.system.update_lock)
        self.upkeep = Upkeep(self.ctx, self.update_lock, self.pt_backoff, self.printer_backoff)
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
            # a plain transition is synced by the next durable write (a fault's event not)
            with self.journal.transaction(durable=raised or cleared) as tx:
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
        self.ctx.fault(reason)

    # -- life cycle -------------------------------------------------------------------
    def start(self) -> None:
        """Open for business: recover first (on the owner thread), then READY."""
        self.update_lock.open()
        self.owner.start()
        self.owner.call(self.upkeep.start_up)

    def stop(self, timeout: float = 10.0) -> bool:
        """Take no new work, let the operation in progress finish (its receipt included)
        within `timeout`; True if it did. Otherwise it is left to the journal: in doubt or
        pending, settled at the next start."""
        finished = self.owner.stop(timeout)
        if not finished:
            log.warning(
                "terminal: stopping with %s unfinished after %.0f s; the next start settles it",
                self.mode.reason,
                timeout,
            )
        self.pt.close()
        if finished:
            self.update_lock.close()
        return finished

    def _idle(self) -> None:
        # The idle beat comes after the idle work: the promise a PT or printer exchange of
        # that work made (start-up's registration, recovery) ends with it, so an owner
        # that hangs right after is given one idle beat, not the exchange's whole timeout.
        try:
            self.upkeep.idle()
        finally:
            if self._on_idle is not None:
                self._on_idle()

    # -- the hand-over to the owner thread --------------------------------------------
    def call(self, fn: Callable[[], T], what: str = "operation") -> T:
        """Run a request on the owner thread, holding the update lock throughout."""

        def locked() -> T:
            try:
                with self.update_lock.held(what):
                    return self._guarded(fn)
            except UpdateInProgress as exc:
                raise TerminalError(ErrorCode.UPDATING, str(exc)) from None

        return self._on_owner(locked)

    def _on_owner(self, fn: Callable[[], T]) -> T:
        try:
            return self.owner.call(fn)
        except OwnerStopped as exc:
            raise TerminalError(ErrorCode.SHUTTING_DOWN, f"postermd is stopping: {exc}") from None

    def _guarded(self, fn: Callable[[], T]) -> T:
        """Run a request on the owner thread. A journal failure is FAULT (code `journal`);
        any other unexpected failure leaves IN_DOUBT (something is unresolved) or FAULT,
        never READY."""
        try:
            return fn()
        except TerminalError:
            raise
        except JournalIOError as exc:
            log.error("terminal: journal failure: %s", exc)
            self.fault(f"journal write failed: {exc}")
            raise TerminalError(ErrorCode.JOURNAL, f"the journal failed: {exc}") from exc
        except JournalError as exc:  # refused what it was given: nothing was written
            raise TerminalError(ErrorCode.BAD_REQUEST, f"refused by the journal: {exc}") from exc
        except Exception as exc:
            log.exception("terminal: unexpected failure")
            try:
                left = self.ctx.unresolved()
            except JournalError:
                left = []
            if left:
                self.mode.set(Mode.IN_DOUBT, f"{left[0].txn_id} in doubt after an error: {exc}")
            else:
                self.fault(f"unexpected error: {type(exc).__name__}: {exc}")
            raise TerminalError(ErrorCode.INTERNAL, f"{type(exc).__name__}: {exc}") from exc

    # -- requests (any thread) ----------------------------------------------------------
    def sale(self, amount: str, key: str | None = None) -> dict[str, Any]:
        return self.call(lambda: sale.sale(self.ctx, amount, key), "sale")

    def refund(
        self,
        txn_id: str | None,
        amount: str,
        reason: str,
        text: str | None = None,
        key: str | None = None,
        *,
        notify: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        return self.call(
            lambda: refund.request(
                self.ctx, txn_id, amount, reason=reason, text=text, key=key, notify=notify
            ),
            "refund",
        )

    def approve(self, txn_id: str, by: str = "operator") -> dict[str, Any]:
        return self.call(lambda: refund.approve(self.ctx, txn_id, by), "refund")

    def reject(self, txn_id: str, by: str = "operator") -> dict[str, Any]:
        return self.call(lambda: refund.reject(self.ctx, txn_id, by))

    def void(self, txn_id: str, key: str | None = None) -> dict[str, Any]:
        return self.call(lambda: void.void(self.ctx, txn_id, key), "void")

    def resolve(self, txn_id: str, outcome: str, by: str) -> dict[str, Any]:
        """The operator decides an in-doubt operation from the PT's own journal."""

        def run() -> dict[str, Any]:
            view = recovery.resolve_by_operator(self.ctx, txn_id, outcome, by)
            if not self.ctx.unresolved():
                self.ctx.awaiting_operator = False
                if self.mode.mode in (Mode.IN_DOUBT, Mode.PT_DOWN):
                    self.upkeep.reach_pt()
            return view

        return self.call(run)

    def find_ref(self, cmd: str, ref: str) -> str:
        """The txn id a reference (`last`, a PT receipt number) names for `cmd`."""
        return self._on_owner(lambda: refs.resolve(self.journal, cmd, ref))

    def reprint(self, txn_id: str) -> dict[str, Any]:
        return self.call(lambda: reprint.reprint(self.ctx, txn_id), "reprint")

    def end_of_day(self) -> dict[str, Any]:
        return self.call(lambda: eod.end_of_day(self.ctx), "end of day")

    def retry_pt(self) -> None:
        """Operator asked (confirm button): try the payment terminal again now."""
        if self.mode.mode in (Mode.PT_DOWN, Mode.IN_DOUBT):
            self.pt_backoff.retry_now()
            self.upkeep.when_no_update("PT retry", lambda: self._guarded(self.upkeep.reach_pt))

    def journal_view(self, limit: int = 50) -> list[dict[str, Any]]:
        return self._on_owner(
            lambda: [records.view(self.journal, t.txn_id) for t in self.journal.list_txns(limit)]
        )

    def awaiting(self) -> list[str]:
        return [t.txn_id for t in self.journal.txns_in_state(TxnState.AWAITING_APPROVAL)]

    def status(self) -> dict[str, Any]:
        """A snapshot, answered without waiting for the owner thread (it may be busy)."""
        in_doubt = self.ctx.unresolved()
        return {
            "terminal": self.config.terminal.id,
            "state": str(self.mode.mode),
            "reason": self.mode.reason,
            "selling": self.mode.mode == Mode.READY,
            "printer": self.printer.last_status_text(),
            "pending_receipts": len(self.journal.pending_receipts()),
            "in_doubt": len(in_doubt),
            "in_doubt_txns": [
                {
                    "txn_id": t.txn_id,
                    "kind": str(t.kind),
                    "amount": records.fmt(self.ctx, t.amount),
                    "pt_receipt_no": t.receipt_no,
                    "state": str(t.state),
                }
                for t in in_doubt
            ],
            "awaiting_operator": self.ctx.awaiting_operator,
            "awaiting_approval": self.awaiting(),
            "batch_no": records.batch_no(self.journal),
            "update_lock": self.update_lock.state,
            "health": self.health.snapshot(),
            "host": self.host_link() if self.host_link is not None else {"state": "off"},
            "pt_retry_in": _rounded(self.pt_backoff.retry_in()),
            "printer_retry_in": _rounded(self.printer_backoff.retry_in()),
        }


def _nothing(what: str) -> None:
    """No panel attached: a flow's signal goes nowhere."""


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 1)

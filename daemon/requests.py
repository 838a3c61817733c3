"""The terminal's requests: what other threads ask of it, each run on the owner thread.

The control socket, the panel and the sync relay call these from their own threads. A
request waits its turn on the owner thread, holding the update lock; a failure it did not
expect is converted here into a `TerminalError` and a mode the operator sees (IN_DOUBT or
FAULT, never READY). `status` alone is answered without waiting for the owner thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from posterm.daemon.backoff import Backoff
from posterm.daemon.errors import TerminalError
from posterm.daemon.flows import eod, recovery, refund, reprint, sale, void
from posterm.daemon.flows.context import FlowContext
from posterm.daemon.health import Health
from posterm.daemon.journal.errors import JournalError, JournalIOError
from posterm.daemon.owner import Owner, OwnerStopped
from posterm.daemon.states import Mode, TxnState
from posterm.daemon.updatelock import UpdateInProgress, UpdateLock
from posterm.protocol.errorcodes import ErrorCode

log = logging.getLogger("posterm.terminal")
T = TypeVar("T")


class Owned(FlowContext, Protocol):
    """What the requests use of `Terminal` (the one class that mixes `Requests` in)."""

    owner: Owner
    update_lock: UpdateLock
    health: Health
    host_link: Callable[[], dict[str, Any]] | None
    pt_backoff: Backoff
    printer_backoff: Backoff

    def _reach_pt(self) -> None: ...
    def _guarded(self, fn: Callable[[], T]) -> T: ...
    def _on_owner(self, fn: Callable[[], T]) -> T: ...
    def call(self, fn: Callable[[], T], what: str = ...) -> T: ...
    def awaiting(self) -> list[str]: ...


class Requests:
    """Public methods are called from any thread; they run on the owner thread."""

    # -- the hand-over to the owner thread ----------------------------------------------
    def _guarded(self: Owned, fn: Callable[[], T]) -> T:
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
                left = recovery.unresolved(self)
            except JournalError:
                left = []
            if left:
                self.mode.set(Mode.IN_DOUBT, f"{left[0].txn_id} in doubt after an error: {exc}")
            else:
                self.fault(f"unexpected error: {type(exc).__name__}: {exc}")
            raise TerminalError(ErrorCode.INTERNAL, f"{type(exc).__name__}: {exc}") from exc

    def call(self: Owned, fn: Callable[[], T], what: str = "operation") -> T:
        """Run a request on the owner thread, holding the update lock throughout."""

        def locked() -> T:
            try:
                with self.update_lock.held(what):
                    return self._guarded(fn)
            except UpdateInProgress as exc:
                raise TerminalError(ErrorCode.UPDATING, str(exc)) from None

        return self._on_owner(locked)

    def _on_owner(self: Owned, fn: Callable[[], T]) -> T:
        try:
            return self.owner.call(fn)
        except OwnerStopped as exc:
            raise TerminalError(ErrorCode.SHUTTING_DOWN, f"postermd is stopping: {exc}") from None

    # -- requests (any thread) ----------------------------------------------------------
    def sale(self: Owned, amount: str, key: str | None = None) -> dict[str, Any]:
        return self.call(lambda: sale.sale(self, amount, key), "sale")

    def refund(
        self: Owned,
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
                self, txn_id, amount, reason=reason, text=text, key=key, notify=notify
            ),
            "refund",
        )

    def approve(self: Owned, txn_id: str, by: str = "operator") -> dict[str, Any]:
        return self.call(lambda: refund.approve(self, txn_id, by), "refund")

    def reject(self: Owned, txn_id: str, by: str = "operator") -> dict[str, Any]:
        return self.call(lambda: refund.reject(self, txn_id, by))

    def void(self: Owned, txn_id: str, key: str | None = None) -> dict[str, Any]:
        return self.call(lambda: void.void(self, txn_id, key), "void")

    def resolve(self: Owned, txn_id: str, outcome: str, by: str) -> dict[str, Any]:
        """The operator decides an in-doubt operation from the PT's own journal."""

        def run() -> dict[str, Any]:
            view = recovery.resolve_by_operator(self, txn_id, outcome, by)
            if not recovery.unresolved(self):
                self.awaiting_operator = False
                if self.mode.mode in (Mode.IN_DOUBT, Mode.PT_DOWN):
                    self._reach_pt()
            return view

        return self.call(run)

    def reprint(self: Owned, txn_id: str) -> dict[str, Any]:
        return self.call(lambda: reprint.reprint(self, txn_id), "reprint")

    def end_of_day(self: Owned) -> dict[str, Any]:
        return self.call(lambda: eod.end_of_day(self), "end of day")

    def journal_view(self: Owned, limit: int = 50) -> list[dict[str, Any]]:
        return self._on_owner(lambda: [self.view(t.txn_id) for t in self.journal.list_txns(limit)])

    def awaiting(self: Owned) -> list[str]:
        return [t.txn_id for t in self.journal.txns_in_state(TxnState.AWAITING_APPROVAL)]

    def status(self: Owned) -> dict[str, Any]:
        """A snapshot, answered without waiting for the owner thread (it may be busy)."""
        in_doubt = recovery.unresolved(self)
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
                    "amount": self.fmt(t.amount),
                    "pt_receipt_no": t.receipt_no,
                    "state": str(t.state),
                }
                for t in in_doubt
            ],
            "awaiting_operator": self.awaiting_operator,
            "awaiting_approval": self.awaiting(),
            "batch_no": self.batch_no(),
            "update_lock": self.update_lock.state,
            "health": self.health.snapshot(),
            "host": self.host_link() if self.host_link is not None else {"state": "off"},
            "pt_retry_in": _rounded(self.pt_backoff.retry_in()),
            "printer_retry_in": _rounded(self.printer_backoff.retry_in()),
        }


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 1)

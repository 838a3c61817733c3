"""What the owner thread does besides requests: start-up recovery, reaching the PT again,
printing pending receipts when the printer is back, retention. `Terminal` owns one and runs
it on its owner thread (at start and on every idle tick)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta

from posterm.daemon.backoff import Backoff
from posterm.daemon.flows import receipts, recovery
from posterm.daemon.flows.context import FlowContext
from posterm.daemon.journal import retention
from posterm.daemon.journal.errors import JournalIOError
from posterm.daemon.states import Mode
from posterm.daemon.updatelock import UpdateInProgress, UpdateLock
from posterm.drivers.payment.errors import PaymentError

log = logging.getLogger("posterm.terminal")

# In doubt with no evidence either way: the PT is asked again now and then (it may answer
# after a restart of its own), the operator's `resolve` being the usual way out.
OPERATOR_RETRY_SECONDS = 60.0
PRINTER_CHECK_SECONDS = 5.0
# Retention: a prune step an hour after start and every hour (one batch per idle tick
# while more is left), so an SD card never fills.
PRUNE_EVERY_SECONDS = 3600.0


class Upkeep:
    """Start-up and idle work on the flows' context; owner thread only. Work that talks
    to the PT or prints runs only while no updater holds `update_lock`."""

    def __init__(
        self,
        ctx: FlowContext,
        update_lock: UpdateLock,
        pt_backoff: Backoff,
        printer_backoff: Backoff,
    ) -> None:
        self.ctx = ctx
        self.update_lock = update_lock
        self.pt_backoff = pt_backoff
        self.printer_backoff = printer_backoff
        self.started = False  # start-up recovery done (it waits while an update runs)
        self._last_printer_check = 0.0
        self._next_prune = time.monotonic() + PRUNE_EVERY_SECONDS

    def start_up(self) -> None:
        try:
            with self.update_lock.held("start-up recovery"):
                self.started = True
                self._recover_at_start()
        except UpdateInProgress as exc:
            self.ctx.mode.set(Mode.RECOVERING, f"start-up waits: {exc}")

    def _recover_at_start(self) -> None:
        ctx = self.ctx
        ctx.mode.set(Mode.RECOVERING, "start-up")
        try:
            count = receipts.mark_all_recovered(ctx)
            if count:
                log.info("terminal: %d receipt(s) left pending by the last run", count)
            missing = receipts.issue_missing(ctx)
            if missing:
                log.warning("terminal: %d approved operation(s) had no receipt", missing)
            self.reach_pt()
        except JournalIOError as exc:
            ctx.fault(f"journal: {exc}")

    def reach_pt(self) -> None:
        """Register with the PT, resolve what is in doubt, then READY (or say why not)."""
        ctx = self.ctx
        try:
            ctx.pt.connect()
        except PaymentError as exc:
            self.pt_backoff.failed(str(exc))
            in_doubt = ctx.unresolved()
            if in_doubt:
                ctx.mode.set(Mode.IN_DOUBT, f"{len(in_doubt)} in doubt; PT unreachable: {exc}")
            else:
                ctx.mode.set(Mode.PT_DOWN, f"payment terminal unreachable: {exc}")
            return
        if recovery.recover(ctx):
            self.pt_backoff.succeeded()
            ctx.mode.set(Mode.READY, "ready")
            receipts.print_pending(ctx)
        elif ctx.awaiting_operator:
            self.pt_backoff.hold(OPERATOR_RETRY_SECONDS)
        else:
            self.pt_backoff.failed(ctx.mode.reason)

    def when_no_update(self, what: str, fn: Callable[[], object]) -> bool:
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
        config = self.ctx.config
        window = config.refunds.window_days
        days = config.mqtt.retention_days if config.mqtt is not None else None
        age = timedelta(days=days) if days is not None else retention.default_age(window)
        result = retention.prune_step(self.ctx.journal, older_than=age, refund_window_days=window)
        if result.total:
            log.info("terminal: retention pruned %s", result)
        self._next_prune = time.monotonic() + (0.0 if result.more else PRUNE_EVERY_SECONDS)

    def idle(self) -> None:
        """Between requests: start-up if it waited, the PT when due, retention, pending
        receipts when the printer is ready. A journal failure is FAULT."""
        ctx = self.ctx
        if ctx.mode.faulted:
            return
        if not self.started:
            self.start_up()
            return
        now = time.monotonic()
        ctx.journal.finish_scrub()
        if now - self._last_printer_check >= PRINTER_CHECK_SECONDS:
            self._last_printer_check = now
            if ctx.printer.is_ready():  # also refreshes the status `status` reports
                self.printer_backoff.retry_now()
        try:
            if ctx.mode.mode in (Mode.PT_DOWN, Mode.IN_DOUBT) and self.pt_backoff.due():
                self.when_no_update("PT recovery", self.reach_pt)
            if now >= self._next_prune and ctx.mode.mode != Mode.BUSY:
                self._prune()
            # A pending receipt prints when the printer is ready, whatever the PT does.
            if (
                not ctx.mode.faulted
                and self.printer_backoff.due()
                and ctx.journal.pending_receipts()
            ):
                if not self.when_no_update("pending receipts", lambda: receipts.print_pending(ctx)):
                    return
                if ctx.journal.pending_receipts():
                    self.printer_backoff.failed(
                        f"receipt pending: {ctx.printer.last_status_text()}"
                    )
                else:
                    self.printer_backoff.succeeded()
        except JournalIOError as exc:
            ctx.fault(f"journal write failed: {exc}")

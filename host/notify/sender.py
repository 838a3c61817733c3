"""The notification sender: a thread of its own that never blocks ingest. It claims due
rows with a lease (several host processes on one database never send the same row at
once), sends outside any transaction, then records sent / try again / failed.

Delivery is at least once: if the host dies after the server accepted a message and
before it was marked sent, the message goes again on the lease's expiry (the e-mail's
Message-ID and the SMS gateway's Idempotency-Key are the notification's id, so the other
side can drop the copy)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from posterm.host.db import Row
from posterm.host.notify import queue
from posterm.host.notify.channels import ChannelError
from posterm.host.notify.config import NotifyConfig
from posterm.host.notify.templates import Refund, render
from posterm.host.store import Store
from posterm.protocol.mqtt.events import rfc3339

log = logging.getLogger("posterm.host.notify")
LEASE_S = 120.0  # a claimed row is another process's to send again only after this


def utc_now() -> datetime:
    return datetime.now(UTC)


class Notifier:
    def __init__(self, store: Store, config: NotifyConfig,
                 clock: Callable[[], datetime] = utc_now) -> None:  # fmt: skip
        self.store, self.config, self.clock = store, config, clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._contacts: dict[str, dict[str, str]] = {}

    # -- ingest's hooks (the ingest thread) ------------------------------------------------
    def prepare(self, contacts: dict[str, dict[str, str]]) -> None:
        """The contacts taken out of the batch before the store saw it (event_id -> it)."""
        self._contacts = contacts

    def on_new(self, tx: Any, envelopes: list[dict[str, Any]], now: str) -> None:
        if queue.on_new(tx, envelopes, self._contacts, now):
            self._wake.set()

    # -- the sender's thread -----------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="notify", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(30)

    def _loop(self) -> None:
        next_forget = 0.0
        while not self._stop.is_set():
            try:
                if self.clock().timestamp() >= next_forget:
                    with self.store.db.tx() as tx:
                        queue.forget_old(tx, self.clock(), self.config.keep_days)
                    next_forget = self.clock().timestamp() + 3600
                sent = self.run_due()
            except Exception:
                log.exception("notify: a round failed; trying again")
                sent = 0
            if not sent:
                self._wake.wait(1.0)
                self._wake.clear()

    def run_due(self, limit: int = 20) -> int:
        """Send what is due now; how many rows were tried."""
        now = self.clock()
        lease = rfc3339(now + timedelta(seconds=LEASE_S))
        with self.store.db.tx() as tx:
            rows = queue.due(tx, rfc3339(now), limit)
            mine = [r for r in rows if tx.execute(
                "UPDATE notifications SET next_attempt_at = ? WHERE notification_id = ? AND"
                " state = 'queued' AND next_attempt_at = ?",
                (lease, r["notification_id"], r["next_attempt_at"]))]  # fmt: skip
        for row in mine:
            self._attempt(row)
        return len(mine)

    def _attempt(self, row: Row) -> None:
        nid = str(row["notification_id"])
        channel = self.config.smtp if row["channel"] == "email" else self.config.sms
        try:
            if row["contact"] is None:
                raise ChannelError("the contact was forgotten (notify.keep_days)", temporary=False)
            if channel is None:
                raise ChannelError(f"no {row['channel']} channel in [notify]", temporary=False)
            channel.send(str(row["contact"]), self._message(row), nid)
        except ChannelError as exc:
            attempts = int(row["attempts"]) + 1
            with self.store.db.tx() as tx:
                if exc.temporary and attempts < self.config.max_attempts:
                    at = self.clock() + timedelta(seconds=self.config.delay(attempts))
                    queue.retry(tx, nid, str(exc), rfc3339(at))
                else:
                    queue.failed(tx, nid, str(exc))
            log.warning("notify: %s for refund %s, attempt %d: %s", row["channel"],
                        row["txn_id"], attempts, exc)  # fmt: skip
            return
        with self.store.db.tx() as tx:
            queue.sent(tx, nid, rfc3339(self.clock()))
        log.info("notify: %s sent for refund %s", row["channel"], row["txn_id"])

    def _message(self, row: Row) -> Any:
        facts = json.loads(row["facts"])
        lang = row["lang"] if row["lang"] else self.config.lang
        refund = Refund(outcome=facts["outcome"], merchant=self.config.merchant_name,
                        amount=str(facts["amount"]), currency=str(facts["currency"]),
                        at=datetime.fromisoformat(facts["at"]), reason=str(facts["reason"]),
                        card=str(facts["card"]), reference=str(facts["reference"]))  # fmt: skip
        return render(refund, lang, self.config.zone)

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
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from posterm.host.crash import crashpoint
from posterm.host.db import Row
from posterm.host.notify import queue
from posterm.host.notify.channels import ChannelError
from posterm.host.notify.config import NotifyConfig
from posterm.host.notify.templates import FactsError, Refund, render
from posterm.host.store import Store
from posterm.protocol.mqtt.events import rfc3339

log = logging.getLogger("posterm.host.notify")
LEASE_S = 120.0  # a claimed row is another process's to send again only after this
RENEW_S = LEASE_S / 4  # while sending, the claim's lease is renewed this often
# ingest first: while events arrived within BUSY_S, the sender pauses PAUSE_S before each
# message, so a burst of refunds is stored at full speed and its messages drain behind
# (at most 1 / PAUSE_S messages a second while ingest stays busy)
BUSY_S, PAUSE_S = 0.5, 0.05


def utc_now() -> datetime:
    return datetime.now(UTC)


class Notifier:
    def __init__(self, store: Store, config: NotifyConfig,
                 clock: Callable[[], datetime] = utc_now, owner: str = "") -> None:  # fmt: skip
        """`owner`: this process's name (`{host id}-{instance}`), unique among the running
        host processes, as their MQTT client ids are."""
        self.store, self.config, self.clock, self.owner = store, config, clock, owner
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._contacts: dict[str, dict[str, str]] = {}
        self._ingest_at = 0.0  # time.monotonic() of the last batch ingested
        # contacts forgotten, their old pages maybe still in a WAL (at start: a process
        # killed between forgetting and truncating left them there)
        self._scrub_due = True
        self._held: set[str] = set()  # the ids of the rows the current claim still holds
        self._renewed = clock()  # when the current claim's lease was last renewed

    # -- ingest's hooks (the ingest thread) ------------------------------------------------
    def prepare(self, contacts: dict[str, dict[str, str]]) -> None:
        """The contacts taken out of the batch before the store saw it (event_id -> it)."""
        self._contacts = contacts

    def on_new(self, tx: Any, envelopes: list[dict[str, Any]], now: str) -> None:
        self._ingest_at = time.monotonic()
        if queue.on_new(tx, envelopes, self._contacts, now):
            self._wake.set()

    # -- the sender's thread -----------------------------------------------------------------
    def start(self) -> None:
        with self.store.db.tx() as tx:
            taken_back = queue.release(tx, self.owner, rfc3339(self.clock()))
        if taken_back:
            log.warning("notify: %d message(s) this process was sending when it stopped are"
                        " sent again (a customer may get one twice)", taken_back)  # fmt: skip
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
                        if queue.forget_old(tx, self.clock(), self.config.keep_days):
                            self._scrub_due = True
                    next_forget = self.clock().timestamp() + 3600
                sent = self.run_due()
                if self._scrub_due:
                    self._scrub_due = not self.store.db.scrub()
            except Exception:
                log.exception("notify: a round failed; trying again")
                sent = 0
            if not sent:
                self._wake.wait(1.0)
                self._wake.clear()

    def run_due(self, limit: int = 200) -> int:
        """Send what is due now, each channel over one session; how many rows were tried.
        The claim's lease is renewed while it sends (`RENEW_S`), so another process never
        takes rows this one is still sending; what was tried is recorded even when a round
        breaks off."""
        now = self.clock()
        lease = rfc3339(now + timedelta(seconds=LEASE_S))
        with self.store.db.tx() as tx:
            mine = queue.claim(tx, rfc3339(now), lease, limit, self.owner,
                               skip_locked=self.store.db.dialect == "postgresql")  # fmt: skip
        if not mine:
            return 0
        self._held = {str(r["notification_id"]) for r in mine}
        self._renewed = now
        results: list[tuple[Row, ChannelError | None]] = []
        try:
            for name in ("email", "sms"):
                batch = [r for r in mine if r["channel"] == name]
                if batch:
                    self._send(name, batch, results)
            if results:
                crashpoint("notify.sent")  # handed to the server, not yet recorded as sent
        finally:
            self._record(results)
        return len(mine)

    def _still_mine(self, row: Row) -> bool:
        """Renew the claim's lease when `RENEW_S` has passed since the last time; whether
        the row is still this claim's (not taken by another process after a lapse)."""
        now = self.clock()
        if (now - self._renewed).total_seconds() >= RENEW_S:
            with self.store.db.tx() as tx:
                self._held = queue.renew(tx, str(row["claim"]),
                                         rfc3339(now + timedelta(seconds=LEASE_S)))  # fmt: skip
            self._renewed = now
        return str(row["notification_id"]) in self._held

    def _send(self, name: str, rows: list[Row],
              out: list[tuple[Row, ChannelError | None]]) -> None:  # fmt: skip
        """Send `rows` over one session of the channel, appending each one's outcome to
        `out` (rows another process took meanwhile are left out: theirs to record)."""
        channel = self.config.smtp if name == "email" else self.config.sms
        if channel is None:
            why = ChannelError(f"no {name} channel in [notify]", temporary=False)
            out += [(row, why) for row in rows]
            return
        done: set[str] = set()
        try:
            with channel.session() as session:
                for row in rows:
                    if time.monotonic() - self._ingest_at < BUSY_S:
                        self._stop.wait(PAUSE_S)
                    nid = str(row["notification_id"])
                    if not self._still_mine(row):
                        done.add(nid)
                        continue
                    try:
                        session.send(self._contact(row), self._message(row), nid)
                        out.append((row, None))
                    except ChannelError as exc:
                        out.append((row, exc))
                    done.add(nid)
        except ChannelError as exc:  # the session itself: everything not sent waits
            out += [(r, exc) for r in rows if str(r["notification_id"]) not in done]

    def _record(self, results: list[tuple[Row, ChannelError | None]]) -> None:
        if not results:
            return
        now = self.clock()
        delivered = [str(row["notification_id"]) for row, error in results if error is None]
        with self.store.db.tx() as tx:
            if delivered:
                queue.sent(tx, str(results[0][0]["claim"]), delivered, rfc3339(now))
            for row, error in results:
                nid = str(row["notification_id"])
                if error is None:
                    continue
                attempts = int(row["attempts"]) + 1
                if error.temporary and attempts < self.config.max_attempts:
                    at = now + timedelta(seconds=self.config.delay(attempts))
                    queue.retry(tx, nid, str(row["claim"]), str(error), rfc3339(at))
                else:
                    queue.failed(tx, nid, str(row["claim"]), str(error))
        if delivered:
            crashpoint("notify.recorded")  # contacts forgotten, their pages still in the WAL
            self._scrub_due = True
            log.info("notify: %d sent", len(delivered))
        for row, error in results:
            if error is not None:
                log.warning("notify: %s for refund %s, attempt %d: %s", row["channel"],
                            row["txn_id"], int(row["attempts"]) + 1, error)  # fmt: skip

    @staticmethod
    def _contact(row: Row) -> str:
        if row["contact"] is None:
            raise ChannelError("the contact was forgotten (notify.keep_days)", temporary=False)
        return str(row["contact"])

    def _message(self, row: Row) -> Any:
        """The rendered message; a row whose facts cannot be rendered fails alone (a later
        attempt would not render it either)."""
        try:
            facts = json.loads(row["facts"])
            lang = row["lang"] if row["lang"] else self.config.lang
            refund = Refund(outcome=facts["outcome"], merchant=self.config.merchant_name,
                            amount=str(facts["amount"]), currency=str(facts["currency"]),
                            at=datetime.fromisoformat(facts["at"]), reason=str(facts["reason"]),
                            card=str(facts["card"]), reference=str(facts["reference"]))  # fmt: skip
            return render(refund, lang, self.config.zone)
        except FactsError as exc:  # a terminal's text that does not fit: never sent
            raise ChannelError(f"not sent: {exc}", temporary=False) from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise ChannelError(f"the message cannot be rendered: {type(exc).__name__}: {exc}",
                               temporary=False) from exc  # fmt: skip

"""Refund notifications as one outbox of the delivery queue (host/delivery/): the rows of
`notifications`, sent by e-mail or SMS (host/notify/channels.py), the contact forgotten
once delivered and, hourly, when older than `keep_days`. Before each claim the refunds
now final get their rows (host/notify/promote.py), here in the sender, out of the
ingest's transaction. `Notifier` is the delivery sender with this outbox, and the
ingest's hooks that keep the contacts."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from posterm.host.db import DatabaseError, Row
from posterm.host.delivery.outbox import ChannelError, Retries, Session
from posterm.host.delivery.sender import Sender, utc_now
from posterm.host.notify import queue
from posterm.host.notify.config import NotifyConfig
from posterm.host.notify.promote import promote
from posterm.host.notify.templates import FactsError, Refund, render
from posterm.host.public.keys import Links
from posterm.host.store import Store
from posterm.protocol.mqtt.events import rfc3339

log = logging.getLogger("posterm.host.notify")
LEASE_S = 120.0  # a claimed row is another process's to send again only after this
FORGET_EVERY_S = 3600.0  # contacts older than keep_days are looked for this often
# the WAL truncated (the contacts' old pages out of it) at most this often while rows are
# sent: each truncation holds the ingest's commits up and makes its WAL grow again
SCRUB_EVERY_S = 5.0

__all__ = ["LEASE_S", "Notifications", "Notifier", "utc_now"]


class Notifications:
    """The outbox of refund notifications."""

    name = "notify"
    table = queue.TABLE
    batch = 200
    lease_s = LEASE_S

    def __init__(
        self,
        store: Store,
        config: NotifyConfig,
        links: Links | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        """`links`: the refund status page's ([public]), whose link goes in each message;
        `clock`: the sender's (a new row is due from its now)."""
        self.store, self.config, self.links, self.clock = store, config, links, clock
        self._next_forget = 0.0
        # contacts forgotten, their old pages maybe still in a WAL (at start: a process
        # killed between forgetting and truncating left them there)
        self._scrub_due = True
        self._next_scrub = 0.0  # time.monotonic(): a burst's sends truncate every few s

    def due(self) -> tuple[str, list[Any]]:
        """Every queued row is due at its time; first the rows of the refunds whose
        outcome the ingest has told since (their contacts marked)."""
        try:
            promote(self.store, rfc3339(self.clock()))
        except DatabaseError as exc:  # the ingest holding the file, say: the queued ones go
            log.warning("notify: refunds' outcomes not looked at this round: %s", exc)
        return "", []

    def channel(self, row: Row) -> str:
        return str(row["channel"])

    @contextmanager
    def session(self, channel: str) -> Iterator[Session]:
        way = self.config.smtp if channel == "email" else self.config.sms
        if way is None:
            raise ChannelError(f"no {channel} channel in [notify]", temporary=False)
        with way.session() as session:
            yield _Session(self, session)

    def retries(self, row: Row) -> Retries:
        return Retries(self.config.max_attempts, self.config.first_retry_s, self.config.max_retry_s)

    def tick(self, now: datetime) -> None:
        if now.timestamp() >= self._next_forget:
            with self.store.db.tx() as tx:
                if queue.forget_old(tx, now, self.config.keep_days):
                    self._scrub_due = True
            self._next_forget = now.timestamp() + FORGET_EVERY_S
        if self._scrub_due and time.monotonic() >= self._next_scrub:
            self._scrub_due = not self.store.db.scrub()
            self._next_scrub = time.monotonic() + SCRUB_EVERY_S

    def recorded(self, sent: int) -> None:
        # the contacts forgotten: their old pages out of the WAL at the next tick (a send
        # alone: the next round; a burst's: every SCRUB_EVERY_S)
        self._scrub_due = True

    def message(self, row: Row) -> Any:
        """The rendered message; a row whose facts cannot be rendered fails alone (a later
        attempt would not render it either)."""
        try:
            facts = json.loads(row["facts"])
            lang = row["lang"] if row["lang"] else self.config.lang
            at = datetime.fromisoformat(facts["at"])
            link = ""
            if self.links is not None:
                link = self.links.url(str(row["terminal"]), str(facts["reference"]), at.timestamp())
            refund = Refund(
                outcome=facts["outcome"],
                merchant=self.config.merchant_name,
                amount=str(facts["amount"]),
                currency=str(facts["currency"]),
                at=at,
                reason=str(facts["reason"]),
                card=str(facts["card"]),
                reference=str(facts["reference"]),
                link=link,
            )
            return render(refund, lang, self.config.zone)
        except FactsError as exc:  # a terminal's text that does not fit: never sent
            raise ChannelError(f"not sent: {exc}", temporary=False) from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise ChannelError(
                f"the message cannot be rendered: {type(exc).__name__}: {exc}", temporary=False
            ) from exc


class _Session:
    def __init__(self, outbox: Notifications, channel: Any) -> None:
        self.outbox, self.channel = outbox, channel

    def send(self, row: Row) -> None:
        if row["contact"] is None:
            raise ChannelError("the contact was forgotten (notify.keep_days)", temporary=False)
        self.channel.send(
            str(row["contact"]), self.outbox.message(row), str(row["notification_id"])
        )


class Notifier(Sender):
    """The delivery sender of the notifications alone (tests, the benchmark), with the
    ingest's hooks; `posterm-host run` uses `hooks` and one sender for every outbox."""

    def __init__(
        self,
        store: Store,
        config: NotifyConfig,
        clock: Callable[[], datetime] = utc_now,
        owner: str = "",
        links: Links | None = None,
    ) -> None:
        super().__init__(store, (Notifications(store, config, links, clock),), clock, owner)
        self.hooks = IngestHooks(self)

    def prepare(self, contacts: dict[str, dict[str, str]]) -> None:
        self.hooks.prepare(contacts)

    def on_new(self, tx: Any, envelopes: list[dict[str, Any]], now: str) -> None:
        self.hooks.on_new(tx, envelopes, now)


class IngestHooks:
    """At ingest (its thread, inside its transaction): the contacts taken out of a batch
    kept, and those of the refunds it tells more of marked; `sender` (one in this
    process, if any) is woken to queue the notifications of those now final, and paced
    behind ingest."""

    def __init__(self, sender: Sender | None = None) -> None:
        self.sender = sender
        self._contacts: dict[str, dict[str, str]] = {}

    def prepare(self, contacts: dict[str, dict[str, str]]) -> None:
        """The contacts taken out of the batch before the store saw it (event_id -> it)."""
        self._contacts = contacts

    def on_new(self, tx: Any, envelopes: list[dict[str, Any]], now: str) -> None:
        if self.sender is not None:
            self.sender.ingest_at = time.monotonic()
        if queue.on_new(tx, envelopes, self._contacts, now) and self.sender is not None:
            self.sender.wake.set()

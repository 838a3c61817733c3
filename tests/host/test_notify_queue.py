"""The notifications' queue shared by several host processes: a claim's lease is renewed
while its rows are sent (a slow batch is never sent again by another process), two claims
at once on PostgreSQL never take the same row, and a message that cannot be rendered fails
alone (the others of its claim go once)."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from posterm.host.delivery import queue as delivery_queue
from posterm.host.notify import queue
from posterm.host.notify.config import NotifyConfig, parse
from posterm.host.notify.sender import Notifier
from posterm.host.store import Store
from posterm.protocol.mqtt.events import rfc3339
from tests.support.broker import wait_for

T0 = datetime(2026, 11, 29, 14, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Channel:
    """An e-mail channel that records what it was handed and runs `after` each message
    (the test's way to let time pass or another process run while a batch is sent)."""

    def __init__(self, sent: list[tuple[str, str]], after: Callable[[], None] = lambda: None):
        self.sent, self.after = sent, after

    @contextmanager
    def session(self) -> Iterator[Channel]:
        yield self

    def send(self, to: str, message: Any, message_id: str) -> None:
        self.sent.append((to, message_id))
        self.after()


def config(channel: Channel) -> NotifyConfig:
    base = parse(
        {
            "merchant_name": "Shop",
            "smtp_url": "smtp://mail.invalid:25",
            "from": "refunds@shop.example",
            "timezone": "Europe/Berlin",
        }
    )
    return dataclasses.replace(base, smtp=channel)  # type: ignore[arg-type]


def queued(store: Store, *people: tuple[str, str]) -> dict[str, str]:
    """A completed refund's message queued for each (address, its `at`), due in that
    order; address -> notification_id."""
    ids = {}
    with store.db.tx() as tx:
        for i, (address, at) in enumerate(people):
            nid, txn = f"n-{i}", f"T{i}"
            facts = {
                "outcome": "completed",
                "at": at,
                "amount": "12.00",
                "currency": "EUR",
                "reason": "goods_returned",
                "card": "476173******0119",
                "reference": txn,
            }
            tx.execute(
                "INSERT INTO notifications (notification_id, txn_id, terminal, channel,"
                " contact, lang, facts, state, created_at, next_attempt_at) VALUES"
                " (?, ?, 'pos-a', 'email', ?, 'en', ?, 'queued', ?, ?)",
                (
                    nid,
                    txn,
                    address,
                    json.dumps(facts),
                    rfc3339(T0),
                    rfc3339(T0 - timedelta(seconds=10 - i)),
                ),
            )
            ids[address] = nid
    return ids


def states(store: Store) -> dict[str, tuple[str, str | None]]:
    return {
        r["notification_id"]: (r["state"], r["last_error"])
        for r in store.db.rows("SELECT * FROM notifications")
    }


GOOD_AT = "2026-11-29T13:55:00Z"


def test_a_slow_batch_is_never_sent_again_by_another_process(store_url: str) -> None:
    """GIVEN three refunds' messages and two host processes on one database
    WHEN the first claims all three and each message takes 50 s to hand over (150 s in all,
    more than the 120 s lease), and the second process looks for due rows after the third
    THEN each customer got one message: the lease was renewed while sending."""
    store_a, store_b = Store(store_url), Store(store_url)
    try:
        ids = queued(store_a, *((f"{who}@example.org", GOOD_AT) for who in ("ann", "bo", "cy")))
        clock, sent = Clock(), []  # type: ignore[var-annotated]
        other = Notifier(store_b, config(Channel(sent)), clock, owner="hq-2")

        def slow() -> None:
            clock.now += timedelta(seconds=50)
            if len(sent) == 3:
                assert other.run_due() == 0  # nothing due: all three still leased

        first = Notifier(store_a, config(Channel(sent, slow)), clock, owner="hq-1")
        assert first.run_due() == 3
        assert sorted(nid for _, nid in sent) == sorted(ids.values())  # once each
        assert {s for s, _ in states(store_a).values()} == {"sent"}
    finally:
        store_a.close()
        store_b.close()


def test_a_message_that_cannot_be_rendered_fails_alone(store_url: str) -> None:
    """GIVEN Alice's, a broken (its date unreadable) and Bob's messages due in that order
    WHEN the sender runs, and again a day later
    THEN Alice and Bob got one message each, the broken one is failed with the reason, and
    nothing is sent again."""
    store = Store(store_url)
    try:
        ids = queued(
            store,
            ("alice@example.org", GOOD_AT),
            ("bad@example.org", "29/11/2026"),
            ("bob@example.org", GOOD_AT),
        )
        clock, sent = Clock(), []  # type: ignore[var-annotated]
        notifier = Notifier(store, config(Channel(sent)), clock, owner="hq-1")
        assert notifier.run_due() == 3
        clock.now += timedelta(days=1)
        assert notifier.run_due() == 0
        assert sent == [
            ("alice@example.org", ids["alice@example.org"]),
            ("bob@example.org", ids["bob@example.org"]),
        ]
        rows = states(store)
        assert rows[ids["alice@example.org"]] == rows[ids["bob@example.org"]] == ("sent", None)
        state, why = rows[ids["bad@example.org"]]
        assert state == "failed" and why is not None and "cannot be rendered" in why, why
    finally:
        store.close()


@pytest.mark.slow
def test_two_claims_at_once_on_postgresql_never_take_the_same_row(pg_url: str) -> None:
    """GIVEN three due messages on PostgreSQL
    WHEN one process's claim (of two) is still in its transaction and a second process
    claims (up to three) at that moment
    THEN the second is not held up by the first and takes only the row the first did not;
    after both commit, every row belongs to exactly one claim."""
    stores = [Store(pg_url) for _ in range(3)]
    try:
        queued(stores[0], *((f"{who}@example.org", GOOD_AT) for who in ("ann", "bo", "cy")))
        now, lease = rfc3339(T0), rfc3339(T0 + timedelta(seconds=120))
        second: list[Any] = []
        done = threading.Event()

        def claim_second() -> None:
            with stores[1].db.tx() as tx:
                second.extend(
                    delivery_queue.claim(
                        tx, queue.TABLE, now, lease, 3, owner="hq-2", skip_locked=True
                    )
                )
            done.set()

        def waiting_on_a_lock() -> bool:
            rows = stores[2].db.rows(
                "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE"
                " wait_event_type = 'Lock' AND datname ="
                " current_database()"
            )
            return int(rows[0]["n"]) > 0

        with stores[0].db.tx() as tx:
            first = delivery_queue.claim(
                tx, queue.TABLE, now, lease, 2, owner="hq-1", skip_locked=True
            )
            thread = threading.Thread(target=claim_second)
            thread.start()
            held_up = wait_for(
                lambda: "done" if done.is_set() else "held up" if waiting_on_a_lock() else None,
                "the second claim to end or wait for the first",
            )
        thread.join(30)
        mine = {r["notification_id"] for r in first}
        theirs = {r["notification_id"] for r in second}
        assert not mine & theirs and len(mine) == 2 and len(theirs) == 1
        assert held_up == "done"
        owners = {
            r["notification_id"]: r["claim"].split(":")[0]
            for r in stores[2].db.rows("SELECT * FROM notifications")
        }
        assert sorted(owners.values()) == ["hq-1", "hq-1", "hq-2"]
    finally:
        for store in stores:
            store.close()

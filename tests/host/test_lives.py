"""A re-flashed terminal (a new journal: seq and MQTT session from 1 again, a new
`journal_id` in its status) starts a new life the host follows: shown online while it
sells, its gaps found in the new life, `terminal_reset` raised, and a late will of the old
life ignored."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from posterm.host.alerts.engine import Alerter, listing
from posterm.host.alerts.rules import Limits
from posterm.host.store import Store
from posterm.protocol.mqtt.events import envelope, rfc3339

TID = "pos-a"
T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = Store(store_url)
    yield s
    s.close()


def sales(store: Store, *seqs: int) -> None:
    store.ingest(
        [
            envelope(
                TID,
                seq,
                "sale.approved",
                {"txn_id": f"T{seq}", "amount": "1.00", "currency": "EUR"},
            )
            for seq in seqs
        ]
    )


def terminal(store: Store, now: datetime) -> dict[str, object]:
    (row,) = store.fleet(rfc3339(now))
    return row


def test_a_re_flashed_terminal_starts_a_new_life_the_host_follows(store: Store) -> None:
    """GIVEN a terminal in session 7 of journal J1 that sent seq 1-5, then went offline
    WHEN it comes back re-flashed (journal J2, session 1) and sends seq 1, 2 and 4, and a
    late will of its old life arrives
    THEN it is online in life 1, its contiguous seq is 2 with seq 3 missing, the old will
    is ignored, and `terminal_reset` is raised (and clears after `reset_s`)."""
    at = rfc3339(T0)
    assert store.saw_status(TID, {"online": True, "session": 7, "journal_id": "J1"}, at=at)
    sales(store, 1, 2, 3, 4, 5)
    assert store.saw_status(TID, {"online": False, "session": 7, "journal_id": "J1"}, at=at)
    assert terminal(store, T0)["contiguous_seq"] == 5

    assert store.saw_status(TID, {"online": True, "session": 1, "journal_id": "J2"}, at=at)
    assert not store.saw_status(TID, {"online": False, "session": 8, "journal_id": "J1"})
    sales(store, 1, 2, 4)
    row = terminal(store, T0)
    assert (row["state"], row["session"], row["life"], row["reset_at"]) == ("online", 1, 1, at)
    assert (row["contiguous_seq"], row["gap_at"]) == (2, 3)
    assert store.gap(TID) == 3
    sales(store, 3)
    assert (terminal(store, T0)["contiguous_seq"], store.gap(TID)) == (4, None)

    clock = [T0 + timedelta(seconds=1)]
    alerter = Alerter(store, Limits(reset_s=3600), clock=lambda: clock[0])
    assert alerter.tick(force=True)
    (raised,) = alerter.take()
    assert (raised["kind"], raised["terminal"]) == ("terminal_reset", TID)
    assert raised["detail"] == {"reset_at": at, "life": 1}
    assert [a["kind"] for a in listing(store, open_only=True)] == ["terminal_reset"]
    clock[0] = T0 + timedelta(seconds=3601)  # (silent an hour: stale is raised too)
    assert alerter.tick(force=True)
    (cleared,) = [m for m in alerter.take() if m["kind"] == "terminal_reset"]
    assert cleared["alert_id"] == raised["alert_id"] and cleared["cleared_at"]


def test_a_terminal_that_tells_its_journal_for_the_first_time_keeps_its_life(
    store: Store,
) -> None:
    """GIVEN a terminal whose older software told no journal_id, in session 4
    WHEN it tells J1 (upgraded), and later an old session's will without one
    THEN it stays in life 0 with its seq, and sessions are compared as before."""
    assert store.saw_status(TID, {"online": True, "session": 4})
    sales(store, 1, 2)
    assert store.saw_status(TID, {"online": True, "session": 5, "journal_id": "J1"})
    assert not store.saw_status(TID, {"online": False, "session": 3})
    assert not store.saw_status(TID, {"online": False, "session": 3, "journal_id": "J1"})
    row = terminal(store, T0)
    assert (row["life"], row["reset_at"], row["contiguous_seq"], row["online"]) == (
        0,
        None,
        2,
        True,
    )


def test_a_re_flash_told_in_the_same_batch_as_the_new_lifes_events_gives_them_that_life(
    store: Store,
) -> None:
    """GIVEN a terminal of journal J1 that sent seq 1-5 WHEN one batch (one transaction,
    its terminal read and, on PostgreSQL, locked at its start) holds its status of a new
    journal J2, then its new life's seq 1 and 2, then a second ingest of seq 3 THEN those
    events are stored in life 1, not 0 (the batch's read of the terminal is not trusted
    after the status), and its contiguous seq is 3 with no gap (nor after the first
    ingest, as it stands in the same transaction)."""
    at = rfc3339(T0)
    assert store.saw_status(TID, {"online": True, "session": 7, "journal_id": "J1"}, at=at)
    sales(store, 1, 2, 3, 4, 5)
    with store.batch([TID]):
        assert store.saw_status(TID, {"online": True, "session": 1, "journal_id": "J2"}, at=at)
        sales(store, 1, 2)
        sales(store, 3)
    lives = store.db.rows(
        "SELECT seq, life FROM events WHERE terminal = ? ORDER BY life, seq", (TID,)
    )
    assert [(r["life"], r["seq"]) for r in lives] == [
        *((0, n) for n in range(1, 6)),
        *((1, n) for n in range(1, 4)),
    ]
    row = terminal(store, T0)
    assert (row["life"], row["contiguous_seq"], row["gap_at"]) == (1, 3, None)
    assert store.gap(TID) is None

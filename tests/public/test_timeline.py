"""The refund's timeline from its stored events (host/public/timeline.py), each state the
customer can see: waiting for approval, in progress, completed, in the closing with the
arrival window in banking days, not approved, declined, a wrong card; and the page's
language."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from posterm.host.public import timeline, words
from posterm.host.public.timeline import Event
from tests.public.refunds import CLOSING, DONE, SALE, refund

T0 = datetime(2026, 3, 6, 10, 0, tzinfo=UTC)  # a Friday
CLOSE = Event("batch.closed", datetime(2026, 3, 6, 18, 0, tzinfo=UTC), CLOSING)


def ev(type_: str, data: dict[str, Any], minute: int = 0) -> Event:
    return Event(type_, T0.replace(minute=minute), data)


def states(s: timeline.Status) -> list[tuple[str, str]]:
    return [(step.name, step.state) for step in s.steps]


def test_a_refund_awaiting_approval_waits_for_it() -> None:
    """GIVEN only refund.requested awaiting approval WHEN built THEN awaiting, the approval
    is the step now, the rest next, no card and no reference but the refund's id."""
    s = timeline.build([ev("refund.requested", refund("awaiting_approval"))], SALE, None, (3, 10))
    assert s.state == timeline.AWAITING
    assert states(s) == [
        ("requested", "done"),
        ("approved", "now"),
        ("completed", "next"),
        ("closed", "next"),
        ("arrival", "next"),
    ]
    assert (s.card_last4, s.trace, s.amount, s.currency) == (None, None, "12.50", "EUR")


def test_under_the_limit_the_shop_approved_and_the_pt_is_still_working() -> None:
    """GIVEN refund.requested in_doubt (under the approval limit) WHEN built THEN in
    progress, approved by the shop at the request's time, completion now."""
    s = timeline.build([ev("refund.requested", refund("in_doubt"))], SALE, None, (3, 10))
    assert s.state == timeline.IN_PROGRESS
    assert s.steps[1] == timeline.Step("approved", "done", T0, "shop")
    assert states(s)[2:] == [("completed", "now"), ("closed", "next"), ("arrival", "next")]


def test_approved_by_the_back_office_names_no_one() -> None:
    """GIVEN refund.approved by "host (olga)" WHEN built THEN approved by the back office;
    the name is nowhere in the status."""
    events = [
        ev("refund.requested", refund("awaiting_approval")),
        ev("refund.approved", refund("in_doubt", by="host (olga)"), 5),
        ev("refund.completed", refund("approved", **DONE), 6),
    ]
    s = timeline.build(events, SALE, None, (3, 10))
    assert s.steps[1].by == "back_office" and "olga" not in repr(s)
    assert s.state == timeline.COMPLETED
    assert states(s)[2:] == [("completed", "done"), ("closed", "now"), ("arrival", "next")]
    assert (s.card_last4, s.scheme, s.trace, s.receipt_no) == ("1111", "Visa", 18, 41)
    panel = [events[0], ev("refund.approved", refund("in_doubt", by="supervisor"), 5)]
    assert timeline.build(panel, SALE, None, (3, 10)).steps[1].by == "shop"


def test_after_the_closing_the_arrival_window_counts_banking_days() -> None:
    """GIVEN a completed refund and the terminal's closing on Friday 2026-03-06 WHEN built
    with arrival_days [3, 10] THEN closed, batch 7, expected from Wed 03-11 to Fri 03-20
    (weekends skipped)."""
    events = [
        ev("refund.requested", refund("in_doubt")),
        ev("refund.completed", refund("approved", **DONE), 1),
    ]
    s = timeline.build(events, SALE, CLOSE, (3, 10))
    assert s.state == timeline.CLOSED and s.batch_no == 7
    assert s.arrival == (date(2026, 3, 11), date(2026, 3, 20))
    assert states(s)[-2:] == [("closed", "done"), ("arrival", "now")]
    assert timeline.add_banking_days(date(2026, 3, 7), 1) == date(2026, 3, 9)  # Sat -> Mon


def test_not_approved_and_declined_say_no_money_moved() -> None:
    """GIVEN a refund rejected from the host, and one the PT declined WHEN built THEN
    rejected (by the back office) and declined; no arrival, no wrong-card note."""
    rejected = timeline.build(
        [
            ev("refund.requested", refund("awaiting_approval")),
            ev("refund.rejected", refund("rejected", by="host"), 3),
        ],
        SALE,
        None,
        (3, 10),
    )
    assert (rejected.state, rejected.rejected_by) == (timeline.REJECTED, "back_office")
    assert states(rejected) == [("requested", "done"), ("approved", "now")]
    declined = timeline.build(
        [
            ev("refund.requested", refund("in_doubt")),
            ev("refund.failed", refund("declined", masked_pan="520000******0007"), 1),
        ],
        SALE,
        None,
        (3, 10),
    )
    assert declined.state == timeline.DECLINED and declined.arrival is None
    assert not declined.wrong_card and declined.trace is None


def test_a_refund_to_another_card_says_which_card_got_it() -> None:
    """GIVEN a refund completed on card ...0007 for a sale paid with ...1111, and an
    unreferenced refund WHEN built THEN both are wrong-card with last four 0007; the same
    card is not."""
    other = {**DONE, "masked_pan": "520000******0007", "card_name": "Mastercard"}
    events = [
        ev("refund.requested", refund("in_doubt")),
        ev("refund.completed", refund("approved", **other), 1),
    ]
    s = timeline.build(events, SALE, None, (3, 10))
    assert s.wrong_card and s.card_last4 == "0007"
    bare = [
        Event(e.type, e.at, {k: v for k, v in e.data.items() if k != "ref_txn"}) for e in events
    ]
    assert timeline.build(bare, None, None, (3, 10)).wrong_card
    same = [events[0], ev("refund.completed", refund("approved", **DONE), 1)]
    assert not timeline.build(same, SALE, None, (3, 10)).wrong_card


def test_no_refund_events_is_refused() -> None:
    """GIVEN no refund.* events WHEN built THEN TimelineError (the page says not found)."""
    with pytest.raises(timeline.TimelineError):
        timeline.build([ev("sale.approved", SALE)], None, None, (3, 10))


@pytest.mark.parametrize(
    ("stored", "header", "lang"),
    [
        ("de", "zh-CN,zh;q=0.9", "de"),
        (None, "zh-CN,zh;q=0.9,en;q=0.5", "zh"),
        (None, "fr-FR, de;q=0.7, en;q=0.3", "de"),
        (None, "en;q=0.1, de;q=0.9", "de"),
        (None, "fr", "en"),
        (None, None, "en"),
        ("xx", "de;q=bad", "en"),
        # not weights (RFC 9110: 0 to 1): the entry is ignored, never the winner
        (None, "zh;q=inf, de;q=0.5", "de"),
        (None, "zh;q=2, de;q=0.5", "de"),
        (None, "zh;q=1e3, de;q=0.5", "de"),
        (None, "zh;q=nan, de;q=0.5", "de"),
        (None, "zh;q=-1, de;q=0.001", "de"),
        (None, "zh\x00;q=1, \x7f\x01;;;,,,=, de", "de"),
        (None, "ÿÿ, zh-Hant-TW;q=0.8", "zh"),
        (None, "de;q=0, zh;q=0.000, en;q=0.9", "en"),
        (None, "de;q=0.5," * 400 + "zh", "de"),  # only the first 500 characters are read
    ],
)
def test_the_language_is_the_refunds_then_the_browsers(
    stored: str | None, header: str | None, lang: str
) -> None:
    """GIVEN the refund's notification language and an Accept-Language WHEN chosen THEN the
    refund's wins, then the browser's by q, then English."""
    assert words.choose(stored, header) == lang


def test_every_language_has_every_sentence() -> None:
    """GIVEN the en words WHEN de and zh are compared THEN they have the same keys."""
    assert set(words.WORDS["de"]) == set(words.WORDS["en"]) == set(words.WORDS["zh"])


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("VISA", "VISA"),
        ("girocard", "girocard"),
        ("V PAY", "V PAY"),
        ("Debit Mastercard", "Debit Mastercard"),
        ("American Express", "American Express"),
        ("Call +1 555 0100 for your refund", None),
        ("refunds.evil.example", None),
        ("VISA" + " " * 30, "VISA"),  # a PT's padding
        ("Visa" * 7, None),
        ("", None),
        (7, None),
    ],
)
def test_only_a_known_card_scheme_reaches_the_customer(name: Any, shown: str | None) -> None:
    """GIVEN a refund completed with the PT's card name WHEN built THEN a known scheme is
    shown as the PT spelt it; any other text a terminal sent is not shown at all."""
    events = [
        ev("refund.requested", refund("in_doubt")),
        ev("refund.completed", refund("approved", **{**DONE, "card_name": name}), 1),
    ]
    s = timeline.build(events, SALE, None, (3, 10))
    assert s.scheme == shown and s.card_last4 == "1111"

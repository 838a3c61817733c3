"""Device back-off: jittered, exponential, capped (protocol/backoff.py, posterm's one
back-off); logged once per error."""

from __future__ import annotations

import itertools
import logging

import pytest

from posterm.daemon.backoff import Backoff
from posterm.host.delivery.backoff import delay as delivery_delay
from posterm.protocol import backoff


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_delays_grow_and_are_capped() -> None:
    clock = Clock()
    b = Backoff("pt", initial=1.0, cap=8.0, jitter=0.5, clock=clock)
    assert b.due() and b.retry_in() is None
    delays = [b.failed("no answer") for _ in range(8)]
    assert 1.0 <= delays[0] <= 1.5
    assert all(later >= earlier - 0.5 for earlier, later in itertools.pairwise(delays))
    assert max(delays) <= 8.0 and delays[-1] == 8.0
    assert not b.due() and b.retry_in() == pytest.approx(8.0)
    clock.now += 8.0
    assert b.due()


def test_success_resets_and_the_operator_can_retry_at_once() -> None:
    clock = Clock()
    b = Backoff("printer", clock=clock)
    b.failed("paper out")
    b.failed("paper out")
    assert not b.due()
    b.retry_now()
    assert b.due()
    b.failed("paper out")
    b.succeeded()
    assert b.due() and b.failures == 0 and b.retry_in() is None
    assert 1.0 <= b.failed("cover open") <= 2.0  # starts over


def test_an_error_is_logged_once_per_change(caplog: pytest.LogCaptureFixture) -> None:
    b = Backoff("pt", clock=Clock())
    with caplog.at_level(logging.INFO, logger="posterm.backoff"):
        for _ in range(5):
            b.failed("no answer")
        b.failed("refused")
        b.succeeded()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3
    assert lines[0].startswith("pt: no answer") and lines[1].startswith("pt: refused")
    assert lines[2] == "pt: back after 6 failed tries"


def test_the_delays_are_the_one_formula_with_the_jitter_inside_the_cap() -> None:
    """GIVEN a device back-off whose random source always draws its highest value
    WHEN tries fail one after another
    THEN it waits first * 2 ** (n - 1) plus the whole jitter, the cap bounding the sum,
    exactly what protocol/backoff.delay says, and the jitter is never drawn beyond it."""
    draws: list[tuple[float, float]] = []

    def highest(low: float, high: float) -> float:
        draws.append((low, high))
        return high

    b = Backoff("pt", initial=1.0, cap=10.0, jitter=0.5, clock=Clock(), uniform=highest)
    assert [b.failed("no answer") for _ in range(6)] == [1.5, 2.5, 4.5, 8.5, 10.0, 10.0]
    assert set(draws) == {(0.0, 0.5)}
    assert [
        backoff.delay(n, first=1.0, cap=10.0, jitter=0.5, uniform=highest) for n in (1, 4, 9)
    ] == [1.5, 8.5, 10.0]
    assert backoff.delay(10_000, first=1.0, cap=10.0) == 10.0  # no overflow after many tries


def test_deliveries_wait_by_the_same_formula_without_jitter() -> None:
    """GIVEN the back office's delivery back-off WHEN asked for attempts 1..7 THEN it is
    protocol/backoff.delay without jitter, a cap below the first delay included."""
    assert [delivery_delay(n, 5, 60) for n in range(1, 8)] == [
        backoff.delay(n, first=5, cap=60) for n in range(1, 8)
    ]
    assert delivery_delay(3, 30, 10) == 10


@pytest.mark.parametrize("bad", [{"attempt": 0}, {"first": 0.0}, {"cap": 0.0}, {"jitter": -1.0}])
def test_a_bad_back_off_is_refused(bad: dict[str, float]) -> None:
    args: dict[str, float] = {"attempt": 1, "first": 1.0, "cap": 5.0, "jitter": 0.0} | bad
    with pytest.raises(ValueError, match="back-off"):
        backoff.delay(
            int(args["attempt"]), first=args["first"], cap=args["cap"], jitter=args["jitter"]
        )

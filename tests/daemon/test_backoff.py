"""Device back-off: jittered, exponential, capped (tenacity); logged once per error."""

from __future__ import annotations

import itertools
import logging

import pytest

from posterm.daemon.backoff import Backoff


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

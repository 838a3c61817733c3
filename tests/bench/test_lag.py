"""bench/lag.py: the capacity bench's lag and its verdict."""

from __future__ import annotations

from bench.lag import keeps_up, lag_s


def test_lag_is_the_age_of_the_oldest_unacked_event() -> None:
    """GIVEN events still unacked, published at 10.0, 12.5 and 11.0 WHEN the lag is taken
    at 13.0 THEN it is the oldest's age, 3.0 s; with none unacked it is 0."""
    assert lag_s([12.5, 10.0, 11.0], now=13.0) == 3.0
    assert lag_s(iter([12.5]), now=13.0) == 0.5
    assert lag_s([], now=13.0) == 0.0


def test_lag_never_negative() -> None:
    """GIVEN an event stamped after the sampling instant (clocks read in another thread)
    WHEN the lag is taken THEN it is 0, not negative."""
    assert lag_s([13.2], now=13.0) == 0.0


def test_keeps_up_judges_only_after_the_settling_time() -> None:
    """GIVEN lag samples (seconds into the load, lag s) WHEN judged with a 2 s limit and a
    5 s settling time THEN a high lag while settling is forgiven, one at or over 2 s later
    is not, and samples all inside the settling time prove nothing."""
    settling = [(0.0, 0.0), (2.0, 4.0), (5.0, 1.9), (30.0, 0.5)]
    assert keeps_up(settling, limit_s=2.0, settle_s=5.0)
    assert not keeps_up([(5.0, 0.1), (20.0, 2.0), (30.0, 0.2)], limit_s=2.0, settle_s=5.0)
    assert not keeps_up([(0.0, 0.0), (4.5, 0.1)], limit_s=2.0, settle_s=5.0)

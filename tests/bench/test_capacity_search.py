"""bench/bench_capacity.py's search over N: which fleet size it tries next."""

from __future__ import annotations

from bench.bench_capacity import EVENTS_PER_TERMINAL_S, Trial, next_n


def _trial(n: int, kept_up: bool, acked: float = 0.0) -> Trial:
    return Trial(n, kept_up, kept_up, 30.0, 0.0, acked, 0.0, {}, 0.0)


def test_a_fleet_kept_up_is_doubled() -> None:
    """GIVEN 5,000 terminals kept up and none failed WHEN the next N is chosen THEN 10,000."""
    assert next_n([_trial(5_000, True)]) == 10_000


def test_a_fleet_that_fell_behind_is_followed_by_what_its_ack_rate_carries() -> None:
    """GIVEN 5,000 terminals fell behind while the host acked 420 events/s WHEN the next N
    is chosen THEN 90 % of what 420/s carries (1,800), rounded to the 250 step: 1,750."""
    assert round(420 / EVENTS_PER_TERMINAL_S) == 2_000
    assert next_n([_trial(5_000, False, acked=420.0)]) == 1_750


def test_an_ack_rate_outside_the_bracket_bisects_geometrically() -> None:
    """GIVEN 250 kept up, then 5,000 fell behind with an ack rate that carries more than
    5,000 WHEN the next N is chosen THEN the geometric middle of 250 and 5,000 (1,118), to
    the step: 1,000; a bracket one step wide ends the search."""
    assert next_n([_trial(250, True), _trial(5_000, False, acked=2_000.0)]) == 1_000
    assert next_n([_trial(1_000, True), _trial(1_250, False, acked=100.0)]) is None

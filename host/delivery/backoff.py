"""The back-off between two attempts of a delivery, computed once for every channel:
tenacity's exponential wait (doubling from the first retry, capped)."""

from __future__ import annotations

import tenacity

_RETRYING = tenacity.Retrying()  # only to build the state tenacity's waits read


def delay(attempts: int, first_s: float, max_s: float) -> float:
    """Seconds before the next attempt after `attempts` failed ones: `first_s`, then
    doubling, never more than `max_s`."""
    state = tenacity.RetryCallState(_RETRYING, None, (), {})
    state.attempt_number = max(attempts, 1)
    return float(tenacity.wait_exponential(multiplier=first_s, max=max_s)(state))

"""The one back-off of posterm: how long to wait before try number n+1, as a formula.

`delay(n)` is `first * 2 ** (n - 1)` capped at `cap`, plus a random jitter of at most
`jitter` seconds (the cap bounds the sum, as tenacity's `wait_exponential_jitter` does).
The terminal's devices (daemon/backoff.py) and the back office's deliveries and store
retries (host/delivery/backoff.py, host/service.py) all wait by it. A formula and not
tenacity: the terminal's owner thread never sleeps in a retry loop, it asks "is it time?"
on its tick, and tenacity's waits can only be asked through a retry state of its loop.
"""

from __future__ import annotations

import random
from collections.abc import Callable

MAX_EXPONENT = 62  # 2 ** 62 seconds is beyond any cap: stop doubling there


def delay(
    attempt: int,
    *,
    first: float,
    cap: float,
    jitter: float = 0.0,
    uniform: Callable[[float, float], float] = random.uniform,
) -> float:
    """Seconds to wait after `attempt` failed tries (1 = the first failure)."""
    if attempt < 1 or first <= 0 or cap <= 0 or jitter < 0:
        raise ValueError(f"back-off: attempt >= 1, first > 0, cap > 0, jitter >= 0: {attempt=}")
    base = first * 2.0 ** min(attempt - 1, MAX_EXPONENT)
    extra = uniform(0.0, jitter) if jitter else 0.0
    return min(base + extra, cap)

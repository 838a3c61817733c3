"""The back-off between two attempts of a delivery, computed once for every channel:
posterm's one back-off (protocol/backoff.py), doubling from the first retry, capped,
without jitter (a delivery's next try is a row's due time, shown to the operator)."""

from __future__ import annotations

from posterm.protocol import backoff


def delay(attempts: int, first_s: float, max_s: float) -> float:
    """Seconds before the next attempt after `attempts` failed ones: `first_s`, then
    doubling, never more than `max_s`."""
    return backoff.delay(max(attempts, 1), first=first_s, cap=max_s)

"""The capacity bench's lag (bench/bench_capacity.py), pure: how far behind the host is.

Lag, at an instant, is the age of the oldest event the fleet has published and the host
has not yet acknowledged (0 when every event is acked): how long the slowest terminal's
outbox has waited. A host keeps up with a load when, once SETTLE_S seconds of it have
passed, every lag sampled stays under LIMIT_S."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

LIMIT_S = 2.0
SETTLE_S = 5.0  # the first seconds of a load: connections, births, the first batches

DEFINITION = (
    "lag = age of the oldest published, not yet acked event (0 when all are acked), "
    f"sampled every 0.5 s; the host keeps up when every sample after the first "
    f"{SETTLE_S:.0f} s is < {LIMIT_S:.0f} s"
)


def lag_s(published_at: Iterable[float], now: float) -> float:
    """Age in seconds of the oldest unacked event, given when each unacked one was
    published (same clock as `now`); 0.0 when none is waiting."""
    oldest = min(published_at, default=None)
    return 0.0 if oldest is None else max(0.0, now - oldest)


def keeps_up(
    samples: Sequence[tuple[float, float]], limit_s: float = LIMIT_S, settle_s: float = SETTLE_S
) -> bool:
    """Whether every (seconds into the load, lag) sample after `settle_s` is under
    `limit_s`. No sample after the settling time proves nothing: False."""
    after = [lag for at, lag in samples if at >= settle_s]
    return bool(after) and max(after) < limit_s

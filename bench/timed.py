"""One interleaved run of a rate benchmark (bench/runs.py's arms): call `fn` until
`seconds` of work are done and say how many calls in how long.

    interleave({"ours": timed(encode), "bare": timed(json_roundtrip)})
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bench.runs import MIN_SECONDS, Sample, Spread


def run_for(fn: Callable[[], object], seconds: float = MIN_SECONDS, batch: int = 1) -> Sample:
    """Call `fn` in batches of `batch` until `seconds` have passed."""
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(batch):
            fn()
        count += batch
    return Sample(count, elapsed)


def timed(
    fn: Callable[[], object], seconds: float = MIN_SECONDS, batch: int = 1
) -> Callable[[], Sample]:
    """An arm for `interleave`: one run of `run_for(fn, seconds, batch)`."""
    return lambda: run_for(fn, seconds, batch)


def per_second(rate: Spread, digits: int = 1) -> str:
    """A rate's median with its spread: `166.2/s (150.1-170.9/s, 5 runs)`."""
    fmt = f",.{digits}f"
    return f"{rate.median:{fmt}}/s ({rate.low:{fmt}}-{rate.high:{fmt}}/s, {rate.rounds} runs)"

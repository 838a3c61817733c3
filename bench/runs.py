"""Interleaved runs: a benchmark's arms (what it measures and its baseline) run in turn,
round after round, in an order that rotates, so a machine that slows down or speeds up
during the run weighs on every arm alike. Each figure is the median of its rounds, with
the spread; a ratio is the median of the rounds' own ratios (arm and baseline measured
side by side), not the ratio of two medians.

    result = interleave({"ours": run_ours, "bare": run_bare}, rounds=5)
    result.ratio("ours", "bare")  # Ratio(median=0.62, low=0.58, high=0.66, rounds=5)

An arm is a callable that does one run and returns a `Sample`: how much work it did and in
how many seconds. The issue asks for >= 5 s of work per run; a shorter run is counted in
`short` and printed, so a figure from too little work says so.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

ROUNDS = 5
MIN_SECONDS = 5.0


@dataclass(frozen=True)
class Sample:
    work: float  # events, sales, mails ... done in this run
    seconds: float

    @property
    def rate(self) -> float:
        return self.work / self.seconds


@dataclass(frozen=True)
class Spread:
    median: float
    low: float
    high: float
    rounds: int

    def __str__(self) -> str:
        return f"{self.median:,.3g} ({self.low:,.3g}-{self.high:,.3g}, {self.rounds} runs)"


@dataclass
class Interleaved:
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    short: int = 0  # runs under MIN_SECONDS

    def rate(self, arm: str) -> Spread:
        return _spread([s.rate for s in self.samples[arm]])

    def seconds(self, arm: str) -> Spread:
        return _spread([s.seconds for s in self.samples[arm]])

    def ratio(self, arm: str, baseline: str) -> Spread:
        pairs = zip(self.samples[arm], self.samples[baseline], strict=True)
        return _spread([a.rate / b.rate for a, b in pairs])


def _spread(values: list[float]) -> Spread:
    return Spread(statistics.median(values), min(values), max(values), len(values))


def interleave(
    arms: Mapping[str, Callable[[], Sample]],
    rounds: int = ROUNDS,
    min_seconds: float = MIN_SECONDS,
    say: Callable[[str], None] = print,
) -> Interleaved:
    """Run every arm once per round, the order rotated by one arm each round."""
    names = list(arms)
    result = Interleaved({name: [] for name in names})
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            sample = arms[name]()
            result.samples[name].append(sample)
            if sample.seconds < min_seconds:
                result.short += 1
            shown = f"{sample.rate:,.1f}/s over {sample.seconds:.1f} s"
            say(f"  round {r + 1}/{rounds} {name}: {shown}")
    if result.short:
        say(f"  {result.short} run(s) shorter than {min_seconds:.0f} s: figures less steady")
    return result

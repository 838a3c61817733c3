"""One line per figure a benchmark measured, for `bench/report.py`'s table:
`@figure {"name", "value", "unit", "baseline", "baseline_name", "target"}` on stdout. The
benchmark still prints its own sentences; this is the machine-readable copy."""

from __future__ import annotations

import json

from bench.runs import Spread

PREFIX = "@figure "


def figure(
    name: str,
    value: float,
    unit: str,
    *,
    baseline: float | None = None,
    baseline_name: str = "",
    target: str = "",
    spread: Spread | None = None,
) -> None:
    """`target` is the issue's goal in words ("ratio >= 0.5", "<= 50 MB"); `spread` the
    ratio's over interleaved runs (bench/runs.py), shown in the table beside it."""
    data: dict[str, object] = {
        "name": name,
        "value": value,
        "unit": unit,
        "baseline": baseline,
        "baseline_name": baseline_name,
        "target": target,
    }
    if spread is not None:
        data["ratio"] = spread.median  # the median of the rounds' ratios
        data["spread"] = [spread.low, spread.high, spread.rounds]
    print(PREFIX + json.dumps(data), flush=True)


def parse(line: str) -> dict[str, object] | None:
    if not line.startswith(PREFIX):
        return None
    data = json.loads(line[len(PREFIX) :])
    return data if isinstance(data, dict) else None

"""bench/runs.py: the interleaving every ratio in `make bench` is measured with."""

from __future__ import annotations

from bench.figures import figure, parse
from bench.runs import Sample, interleave


def test_arms_take_turns_and_short_runs_are_counted() -> None:
    """GIVEN two arms WHEN interleaved over 4 rounds THEN the order rotates each round, each
    arm's rate is the median of its rounds, and runs under the minimum are counted."""
    calls: list[str] = []
    speeds = iter([100.0, 50.0, 200.0, 80.0])

    def bare() -> Sample:
        calls.append("bare")
        return Sample(next(speeds), 1.0)

    def ours() -> Sample:
        calls.append("ours")
        return Sample(60.0, 1.0)

    result = interleave({"bare": bare, "ours": ours}, rounds=4, min_seconds=5.0, say=str)
    assert calls == ["bare", "ours", "ours", "bare", "bare", "ours", "ours", "bare"]
    assert result.short == 8
    assert result.rate("bare").median == 90.0
    ratio = result.ratio("ours", "bare")  # per round: 0.6, 1.2, 0.3, 0.75
    assert (ratio.median, ratio.low, ratio.high, ratio.rounds) == (0.675, 0.3, 1.2, 4)


def test_a_figure_carries_its_spread_to_the_table() -> None:
    result = interleave(
        {"a": lambda: Sample(30, 6.0), "b": lambda: Sample(60, 6.0)}, rounds=5, say=str
    )
    assert result.short == 0
    ratio = result.ratio("a", "b")
    assert (ratio.median, ratio.low, ratio.high, ratio.rounds) == (0.5, 0.5, 0.5, 5)


def test_figure_line_round_trips(capsys) -> None:  # type: ignore[no-untyped-def]
    result = interleave({"a": lambda: Sample(3, 6.0), "b": lambda: Sample(4, 6.0)}, say=str)
    figure("x", 0.5, "ev/s", baseline=0.66, spread=result.ratio("a", "b"))
    row = parse(capsys.readouterr().out)
    assert row is not None
    assert row["ratio"] == 0.75
    assert row["spread"] == [0.75, 0.75, 5]

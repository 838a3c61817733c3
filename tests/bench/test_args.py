"""bench/args.py: `--only` picks some of a bench's setups and refuses a name it does not
know, instead of running nothing or everything."""

from __future__ import annotations

import pytest

from bench.args import only

NAMES = ["sqlite", "postgresql"]


def test_without_only_every_setup_runs() -> None:
    assert only(["bench.py", "--quick"], NAMES) == {"sqlite", "postgresql"}


def test_only_picks_the_named_setups() -> None:
    assert only(["bench.py", "--only", "postgresql"], NAMES) == {"postgresql"}
    assert only(["bench.py", "--only", "postgresql,sqlite"], NAMES) == set(NAMES)


@pytest.mark.parametrize(
    "argv",
    [["b", "--only", "pg"], ["b", "--only"], ["b", "--only", ""], ["b", "--only", "sqlite,"]],
)
def test_an_unknown_or_missing_name_stops_with_the_names_it_knows(argv: list[str]) -> None:
    with pytest.raises(SystemExit, match="--only: a comma-separated list of sqlite, postgresql"):
        only(argv, NAMES)

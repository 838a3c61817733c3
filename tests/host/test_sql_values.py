"""The fixed shapes of SQLite statements over a batch's keys (`host/sql_values.py`): reads
padded with NULL rows to one of a few sizes, inserts cut into pieces of a few sizes; every
key once, in order, whatever the batch's size."""

from __future__ import annotations

import sqlite3

import pytest

from posterm.host.sql_values import SHAPES, padded, pieces


@pytest.mark.parametrize("count", [0, 1, 3, 4, 5, 63, 64, 65, 255, 256, 257, 700])
def test_padded_keys_come_in_a_few_shapes_with_every_key_once(count: int) -> None:
    """GIVEN `count` keys of two values WHEN padded THEN each statement's placeholders
    are one of SHAPES rows of two, its values the keys in order then NULLs; AND the join
    of those rows with a table finds each key's row once and the padding none."""
    keys = [(f"k{n}", n) for n in range(count)]
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (name TEXT PRIMARY KEY, n INT)")
    db.executemany("INSERT INTO t VALUES (?, ?)", keys)
    found: list[tuple[str, int]] = []
    taken: list[tuple[str, int]] = []
    for marks, args in padded(keys, 2):
        rows = marks.count("(?, ?)")
        assert rows in SHAPES and len(args) == 2 * rows
        real = [a for a in args if a is not None]
        assert args[len(real) :] == [None] * (len(args) - len(real))
        taken += list(zip(real[::2], real[1::2], strict=True))
        found += db.execute(
            f"WITH k (name, n) AS (VALUES {marks}) SELECT t.name, t.n FROM k"
            " CROSS JOIN t WHERE t.name = k.name AND t.n = k.n",
            args,
        ).fetchall()
    assert taken == keys and sorted(found) == sorted(keys)


@pytest.mark.parametrize("count", [0, 1, 2, 7, 79, 80, 81, 159, 160, 479, 500])
def test_pieces_cover_every_row_once_in_a_few_sizes(count: int) -> None:
    """GIVEN `count` rows WHEN cut into pieces of at most 80 THEN the pieces are
    contiguous, cover every row once, and each is 80 rows or a power of two."""
    cut = list(pieces(count, 80))
    assert [i for s in cut for i in range(s.start, s.stop)] == list(range(count))
    sizes = {s.stop - s.start for s in cut}
    assert sizes <= {80, 64, 32, 16, 8, 4, 2, 1}
    assert len(cut) <= count // 80 + 7

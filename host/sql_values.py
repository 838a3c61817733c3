"""A batch's keys in SQLite statements of a few fixed shapes, so that each is prepared
once and then taken from the connection's statement cache (issue 23).

SQLite parses a statement's text on every call whose text it has not cached, and a
`VALUES` list as long as the batch has a new text for nearly every batch: preparing one
of 480 rows costs about ten times running it. Reads pad their keys with rows of NULL to
the next of SHAPES (a NULL key equals nothing, so the padding matches no row); inserts,
which cannot be padded, go in pieces of a power of two rows.

PostgreSQL takes a batch's keys as arrays (`unnest`) in one fixed text and needs none of
this: `keyed` writes either."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from posterm.host.db import Row, Tx

SHAPES = (4, 16, 64, 256)  # rows of a padded VALUES list; more keys: several statements


def padded(rows: Sequence[Sequence[Any]], width: int) -> Iterator[tuple[str, list[Any]]]:
    """For each part of `rows` (at most SHAPES[-1] each): its `(?, …), …` placeholders,
    the part padded with rows of `width` NULLs to the next shape, and its values."""
    most = SHAPES[-1]
    for start in range(0, len(rows), most):
        part = rows[start : start + most]
        size = next(s for s in SHAPES if s >= len(part))
        args = [v for row in part for v in row]
        args.extend([None] * (width * (size - len(part))))
        yield ", ".join([f"({', '.join(['?'] * width)})"] * size), args


def keyed(
    tx: Tx,
    dialect: str,
    columns: Sequence[tuple[str, str]],
    keys: Sequence[Sequence[Any]],
    body: str,
) -> list[Row]:
    """`body` (a query that reads `k`) run over `keys` as the table `k(columns)`, one
    statement per SHAPES[-1] keys on SQLite (padded), one on PostgreSQL (`unnest`);
    `columns`: (name, PostgreSQL array type)."""
    names = ", ".join(name for name, _ in columns)
    if dialect == "postgresql":
        arrays = ", ".join(f"?::{kind}[]" for _, kind in columns)
        return tx.rows(
            f"WITH k ({names}) AS (SELECT * FROM unnest({arrays})) {body}",
            [list(column) for column in zip(*keys, strict=True)],
        )
    out: list[Row] = []
    for marks, args in padded(keys, len(columns)):  # a NULL key matches no row
        out.extend(tx.rows(f"WITH k ({names}) AS (VALUES {marks}) {body}", args))
    return out


def per_key(dialect: str, columns: str, table: str, where: str) -> str:
    """`SELECT columns FROM k CROSS JOIN table WHERE where` (a body for `keyed`), written
    so that each key reads its own index range of `table` however the database plans it.
    SQLite runs a CROSS JOIN with k as its outer loop. PostgreSQL may instead join the keys
    with the whole table (a hash join over a scan of every row: for the events, 43 ms a
    batch at 100,000 and growing with them; issue 23): there the rows come from a LATERAL
    subquery kept apart from the join (OFFSET 0), which it runs once per key. `table`
    ends with its alias (`events e`), by which `columns` and `where` name its columns."""
    if dialect == "sqlite":
        return f"SELECT {columns} FROM k CROSS JOIN {table} WHERE {where}"
    alias = table.rsplit(maxsplit=1)[-1]
    return (
        f"SELECT {columns} FROM k CROSS JOIN LATERAL"
        f" (SELECT * FROM {table} WHERE {where} OFFSET 0) {alias}"
    )


def pieces(count: int, most: int) -> Iterator[slice]:
    """`count` rows cut into slices of `most` rows, then one slice per power of two in
    what is left (at most log2(most) + 1 sizes of statement, each cached)."""
    whole = count - count % most
    for start in range(0, whole, most):
        yield slice(start, start + most)
    start = whole
    for bit in reversed(range((count - whole).bit_length())):
        if (count - whole) >> bit & 1:
            yield slice(start, start + (1 << bit))
            start += 1 << bit

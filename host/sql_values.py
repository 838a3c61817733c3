"""A batch's keys in SQLite statements of a few fixed shapes, so that each is prepared
once and then taken from the connection's statement cache (issue 23).

SQLite parses a statement's text on every call whose text it has not cached, and a
`VALUES` list as long as the batch has a new text for nearly every batch: preparing one
of 480 rows costs about ten times running it. Reads pad their keys with rows of NULL to
the next of SHAPES (a NULL key equals nothing, so the padding matches no row); inserts,
which cannot be padded, go in pieces of a power of two rows.

PostgreSQL takes a batch's keys as arrays (`unnest`) in one fixed text and needs none of
this."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

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


def pieces(count: int, most: int) -> Iterator[slice]:
    """`count` rows cut into slices of `most` rows, then of powers of two (at most
    log2(most) + 1 sizes of statement, each cached)."""
    start = 0
    while count - start >= most:
        yield slice(start, start + most)
        start += most
    size = 1 << max(0, (most - 1).bit_length())
    while start < count:
        while size > count - start:
            size >>= 1
        yield slice(start, start + size)
        start += size

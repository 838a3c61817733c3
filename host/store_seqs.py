"""Each terminal's contiguous seq at ingest (host/store.py's `Store.ingest`): the batch's
terminals read once (their life and contiguous seq, their rows created and, on PostgreSQL,
locked in terminal order), then moved over the events now stored; the first missing seq
of those with a later one stored (a gap the host asks the terminal to resend)."""

from __future__ import annotations

from posterm.host import sql_values
from posterm.host.db import Row, Tx

WINDOW = 64  # seqs read past a terminal's new events at ingest (`advance`)
WINDOW_KEYS = (("terminal", "text"), ("after", "bigint"), ("upto", "bigint"), ("life", "int"))


Held = dict[str, tuple[int, int]]  # a terminal's (contiguous seq, life)

_LOCK = (  # PostgreSQL: the rows locked in terminal order, read with their lock
    "SELECT terminal, contiguous_seq, life FROM terminals WHERE terminal IN"
    " (SELECT unnest(?::text[])) ORDER BY terminal FOR UPDATE"
)


def lock(db: Tx, tids: list[str], *, skip_locked: bool = False) -> Held:
    """PostgreSQL: the terminals' rows (`tids` sorted), created if new and locked in
    terminal order (another host process advancing one of them waits, then sees this
    commit); their contiguous seq and life, read with the lock. In one round trip when
    every terminal is known, as at a fleet's ingest (issue 23).

    With `skip_locked`, only the terminals no other transaction holds now (`SKIP
    LOCKED`): it never waits; the caller leaves the others for a later batch."""
    if skip_locked:  # a plain read first: a row another holds is skipped, not missing
        known = {
            r["terminal"]
            for r in db.rows(
                "SELECT terminal FROM terminals WHERE terminal IN (SELECT unnest(?::text[]))",
                [tids],
            )
        }
        _create(db, [t for t in tids if t not in known])
        return _held(db.rows(_LOCK + " SKIP LOCKED", [tids]))
    found = _held(db.rows(_LOCK, [tids]))
    missing = [t for t in tids if t not in found]
    if missing:  # new terminals: created, then locked too
        _create(db, missing)
        found.update(_held(db.rows(_LOCK, [missing])))
    return found


def _create(db: Tx, tids: list[str]) -> None:
    if tids:
        db.execute(
            "INSERT INTO terminals (terminal) SELECT unnest(?::text[])"
            " ON CONFLICT (terminal) DO NOTHING",
            [tids],
        )


def _held(rows: list[Row]) -> Held:
    return {str(r["terminal"]): (int(r["contiguous_seq"]), int(r["life"])) for r in rows}


def held(db: Tx, dialect: str, tids: list[str]) -> Held:
    """The batch's terminals' (contiguous seq, life), their rows created if new and, on
    PostgreSQL, locked in terminal order (`lock`; inside `Store.batch` its own read serves
    instead). One read for both the events' life and `advance`."""
    if not tids:
        return {}
    if dialect == "postgresql":
        return lock(db, tids)
    if dialect == "sqlite":
        db.execute_many(
            "INSERT INTO terminals (terminal) VALUES (?) ON CONFLICT (terminal) DO NOTHING",
            [(tid,) for tid in tids],
        )
    return _held(
        sql_values.keyed(
            db,
            dialect,
            [("terminal", "text")],
            [(tid,) for tid in tids],
            sql_values.per_key(  # an index lookup per terminal, not a join with them all
                dialect,
                "t.terminal AS terminal, t.contiguous_seq AS contiguous_seq, t.life AS life",
                "terminals t",
                "t.terminal = k.terminal",
            ),
        )
    )


def advance(
    db: Tx, dialect: str, news: dict[str, list[int]], known: Held
) -> tuple[dict[str, int], dict[str, int]]:
    """Move the terminals' contiguous seq over what is stored (`news`: the seqs of the
    batch's new events per terminal; `known`: their contiguous seq and life as `held` read
    them): the first missing seq of those with a later one stored, and the contiguous seq
    of those it moved (for the caller to write: `Store.ingest`, one statement with their
    last sale).

    What is read is bounded, whatever lies beyond a gap: per terminal the seqs of a window
    after the run the batch itself continues (its other new events and WINDOW more: one
    index range, (terminal, seq) > (tid, its seq)) and the first seq after the window. A
    terminal whose gap never fills costs each batch that window, not every event it sent
    since; one whose gap just filled moves on by windows twice as wide each statement."""
    contiguous = {tid: known[tid][0] for tid in news}
    life = {tid: known[tid][1] for tid in news}
    wide: dict[str, int] = {}
    for tid, seqs in news.items():
        mine = set(seqs)  # stored by this batch: no need to read them back
        while contiguous[tid] + 1 in mine:
            contiguous[tid] += 1
        wide[tid] = sum(1 for seq in mine if seq > contiguous[tid]) + WINDOW
    gaps: dict[str, int] = {}
    pending = sorted(news)
    while pending:
        seen, beyond = _window(db, dialect, [(t, contiguous[t], wide[t], life[t]) for t in pending])
        again = []
        for tid in pending:
            upto = contiguous[tid] + wide[tid]
            run = contiguous[tid]
            while run + 1 in seen[tid]:
                run += 1
            contiguous[tid] = run
            after = beyond.get(tid)
            if run == upto and after == upto + 1:  # the whole window and more: read on
                wide[tid] *= 2
                again.append(tid)
            elif after is not None or any(seq > run for seq in seen[tid]):
                gaps[tid] = run + 1
        pending = again
    moved = {tid: seq for tid, seq in contiguous.items() if seq != known[tid][0]}
    return gaps, moved


def _window(
    db: Tx, dialect: str, keys: list[tuple[str, int, int, int]]
) -> tuple[dict[str, set[int]], dict[str, int]]:
    """For each (terminal, after, wide, life): its seqs stored in (after, after + wide],
    and the first one after that (if any); one statement."""
    seen: dict[str, set[int]] = {tid: set() for tid, _, _, _ in keys}
    first = (
        "(SELECT min(e.seq) FROM events e WHERE e.terminal = k.terminal AND e.seq > k.upto"
        " AND e.life = k.life)"
    )
    in_window = sql_values.per_key(
        dialect,
        "k.terminal AS terminal, e.seq AS seq, 0 AS beyond",
        "events e",
        "e.terminal = k.terminal AND e.seq > k.after AND e.seq <= k.upto AND e.life = k.life",
    )
    after = f" UNION ALL SELECT k.terminal, {first}, 1 FROM k"
    found = sql_values.keyed(
        db,
        dialect,
        WINDOW_KEYS,
        [(tid, seq, seq + wide, lf) for tid, seq, wide, lf in keys],
        in_window + after,
    )
    beyond: dict[str, int] = {}
    for row in found:
        if row["seq"] is None:
            continue
        if row["beyond"]:
            beyond[str(row["terminal"])] = int(row["seq"])
        else:
            seen[str(row["terminal"])].add(int(row["seq"]))
    return seen, beyond

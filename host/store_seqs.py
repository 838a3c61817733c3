"""Each terminal's contiguous seq at ingest (host/store.py's `Store.ingest`): the batch's
terminals read once (their life and contiguous seq, their rows created and, on PostgreSQL,
locked in terminal order), then moved over the events now stored; the first missing seq
of those with a later one stored (a gap the host asks the terminal to resend)."""

from __future__ import annotations

from posterm.host.db import Tx


def held(db: Tx, dialect: str, tids: list[str]) -> dict[str, tuple[int, int]]:
    """The batch's terminals' (contiguous seq, life), their rows created if new and, on
    PostgreSQL, locked in terminal order (another host process advancing one of them
    waits, then sees this commit; inside `batch()` this transaction holds them
    already). One read for both the events' life and `advance`."""
    if not tids:
        return {}
    if dialect == "postgresql":
        db.execute(
            "INSERT INTO terminals (terminal) SELECT unnest(?::text[])"
            " ON CONFLICT (terminal) DO NOTHING",
            [tids],
        )
        found = db.rows(
            "SELECT terminal, contiguous_seq, life FROM terminals WHERE"
            " terminal = ANY(?) ORDER BY terminal FOR UPDATE",
            [tids],
        )
    else:
        db.execute(
            f"INSERT INTO terminals (terminal) VALUES {', '.join(['(?)'] * len(tids))}"
            " ON CONFLICT (terminal) DO NOTHING",
            tids,
        )
        found = db.rows(
            "SELECT terminal, contiguous_seq, life FROM terminals WHERE terminal IN"
            f" ({', '.join('?' for _ in tids)})",
            tids,
        )
    return {str(r["terminal"]): (int(r["contiguous_seq"]), int(r["life"])) for r in found}


def advance(
    db: Tx, dialect: str, tids: list[str], known: dict[str, tuple[int, int]]
) -> dict[str, int]:
    """Move the terminals' contiguous seq over what is stored (`known`: their contiguous
    seq and life as `held` read them); the first missing seq of those with a
    later one stored.

    The events after each terminal's contiguous seq are read as one index range per
    terminal ((terminal, seq) > (tid, its seq)): a join on the terminals table lets
    PostgreSQL scan the whole events table instead."""
    if not tids:
        return {}
    seqs = {tid: known[tid][0] for tid in tids}
    life = {tid: known[tid][1] for tid in tids}
    if dialect == "postgresql":
        beyond = db.rows(
            "SELECT t.terminal, e.seq FROM unnest(?::text[], ?::bigint[], ?::int[]) AS"
            " t(terminal, after, life) CROSS JOIN LATERAL (SELECT DISTINCT seq FROM events"
            " WHERE events.terminal = t.terminal AND events.seq > t.after AND events.life"
            " = t.life) e ORDER BY t.terminal, e.seq",
            [tids, [seqs[t] for t in tids], [life[t] for t in tids]],
        )
    else:
        keys = ", ".join(["(?, ?, ?)"] * len(tids))  # one (terminal, seq) range each
        beyond = db.rows(
            f"WITH k (terminal, after, life) AS (VALUES {keys}) SELECT DISTINCT"
            " k.terminal AS terminal, e.seq AS seq FROM k CROSS JOIN events e WHERE"
            " e.terminal = k.terminal AND e.seq > k.after AND e.life = k.life"
            " ORDER BY k.terminal, e.seq",
            [v for tid in tids for v in (tid, seqs[tid], life[tid])],
        )
    contiguous, gaps = dict(seqs), {}
    for row in beyond:
        tid, seq = row["terminal"], int(row["seq"])
        if tid in gaps:
            continue
        if seq == contiguous[tid] + 1:
            contiguous[tid] = seq
        else:
            gaps[tid] = contiguous[tid] + 1
    moved = [(seq, tid) for tid, seq in sorted(contiguous.items()) if seq != seqs[tid]]
    if moved and dialect == "postgresql":
        db.execute(
            "UPDATE terminals SET contiguous_seq = m.seq FROM unnest(?::bigint[],"
            " ?::text[]) AS m(seq, terminal) WHERE terminals.terminal = m.terminal",
            [list(c) for c in zip(*moved, strict=True)],
        )
    elif moved:
        db.execute_many("UPDATE terminals SET contiguous_seq = ? WHERE terminal = ?", moved)
    return gaps

"""The durable queue's rows, whatever they carry: a claim takes due rows for one sender
with a lease (atomic between processes: SQLite's write lock, PostgreSQL's SKIP LOCKED), a
renewal keeps them while they are sent, and each row ends sent, due again later, or
failed with its reason. A `Table` names where a kind of delivery keeps its rows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from posterm.host.db import Row, Tx


@dataclass(frozen=True)
class Table:
    name: str  # the table
    key: str  # its id column
    waiting: str  # the state of a row not yet sent nor given up
    forget_on_sent: tuple[str, ...] = ()  # columns cleared once delivered (a contact)


def claim(
    tx: Tx,
    table: Table,
    now: str,
    lease_until: str,
    limit: int,
    *,
    owner: str = "",
    skip_locked: bool = False,
    where: str = "",
    args: Sequence[Any] = (),
) -> list[Row]:
    """Take up to `limit` due rows (`where`: more conditions, with `args`) for the sender
    of process `owner` until `lease_until` (another process sees them due again only
    then): one statement, then their rows, due first.

    Atomic between processes: on SQLite the transaction holds the file's write lock from
    its start (BEGIN IMMEDIATE); on PostgreSQL (`skip_locked`) the rows another claim is
    taking are skipped (and one it took is no longer due once it commits), so two claims
    running at once never take the same row."""
    token = f"{owner}:{uuid.uuid4()}"
    lock = " FOR UPDATE SKIP LOCKED" if skip_locked else ""
    more = f" AND ({where})" if where else ""
    # the CTE is run once (a subquery under IN may be run again for each row it updates,
    # then seeing its own claim's rows no longer due and taking more than `limit`)
    tx.execute(
        f"WITH due AS (SELECT {table.key} FROM {table.name} WHERE state = ? AND"
        f" next_attempt_at <= ?{more} ORDER BY next_attempt_at LIMIT ?{lock})"
        f" UPDATE {table.name} SET claim = ?, next_attempt_at = ? WHERE {table.key}"
        f" IN (SELECT {table.key} FROM due)",
        (table.waiting, now, *args, limit, token, lease_until),
    )
    return tx.rows(
        f"SELECT * FROM {table.name} WHERE claim = ? ORDER BY next_attempt_at, {table.key}",
        (token,),
    )


def renew(tx: Tx, table: Table, claim_token: str, lease_until: str) -> set[str]:
    """Extend the lease of a claim's rows still waiting and still its own (sent or not,
    until recorded); the ids of those rows. A row missing from the answer was taken by
    another process after the lease ran out: it is that process's to send."""
    tx.execute(
        f"UPDATE {table.name} SET next_attempt_at = ? WHERE claim = ? AND state = ?",
        (lease_until, claim_token, table.waiting),
    )
    rows = tx.rows(
        f"SELECT {table.key} FROM {table.name} WHERE claim = ? AND state = ?",
        (claim_token, table.waiting),
    )
    return {str(r[table.key]) for r in rows}


def release(tx: Tx, table: Table, owner: str, now: str) -> int:
    """The rows still claimed by an earlier life of process `owner` (killed between the
    claim and the record) are due again now, not when their lease runs out; how many."""
    if not owner:  # a nameless sender cannot tell its claims from another's
        return 0
    mark = f"{owner}:"
    return tx.execute(
        f"UPDATE {table.name} SET claim = NULL, next_attempt_at = ? WHERE"
        " state = ? AND substr(claim, 1, ?) = ?",
        (now, table.waiting, len(mark), mark),
    )


def sent(tx: Tx, table: Table, claim_token: str, ids: list[str], now: str) -> None:
    """These rows of a claim were delivered: sent (and what is forgotten then, gone)."""
    forget = "".join(f", {column} = NULL" for column in table.forget_on_sent)
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        marks = ", ".join("?" for _ in part)
        tx.execute(
            f"UPDATE {table.name} SET state = 'sent', sent_at = ?{forget},"
            " attempts = attempts + 1, last_error = NULL WHERE claim = ? AND"
            f" {table.key} IN ({marks})",
            (now, claim_token, *part),
        )


def retry(tx: Tx, table: Table, row_id: str, claim_token: str, *, why: str, at: str) -> None:
    """Try again at `at` (if the claim still holds the row)."""
    tx.execute(
        f"UPDATE {table.name} SET attempts = attempts + 1, last_error = ?,"
        f" next_attempt_at = ? WHERE {table.key} = ? AND claim = ?",
        (why, at, row_id, claim_token),
    )


def failed(tx: Tx, table: Table, row_id: str, claim_token: str, why: str) -> None:
    """Given up (if the claim still holds the row)."""
    tx.execute(
        f"UPDATE {table.name} SET state = 'failed', attempts = attempts + 1,"
        f" last_error = ? WHERE {table.key} = ? AND claim = ?",
        (why, row_id, claim_token),
    )

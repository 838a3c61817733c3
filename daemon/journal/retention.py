"""Retention: prune acknowledged events and finished transactions past an age, in batches."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from posterm.daemon.journal.errors import JournalError
from posterm.daemon.journal.store import Journal, Tx
from posterm.daemon.states import MONEY_KINDS, Kind, TxnState
from posterm.protocol.mqtt.events import rfc3339

log = logging.getLogger(__name__)

# Final states (a voided sale goes back to approved only when its void's recovery finds the
# PT did not keep it: a void still in doubt keeps its whole tree, see `_may_go`).
FINAL = (
    TxnState.APPROVED,
    TxnState.DECLINED,
    TxnState.FAILED,
    TxnState.NOT_CHARGED,
    TxnState.VOIDED,
    TxnState.REJECTED,
)
EXTRA_DAYS = 30  # the default age: the refund window plus this
DEFAULT_BATCH = 200
MAX_BATCH = 5000  # the ids of a batch go into one IN (...) list
DEFAULT_RECLAIM_PAGES = 256

_FINAL_SQL = ", ".join(f"'{state}'" for state in FINAL)
_OWE_A_RECEIPT = (TxnState.APPROVED, TxnState.VOIDED)  # without a customer receipt: recovery's

# A page of candidate roots of the ref_txn forest (a refund or void points at its sale),
# oldest first after a keyset position. Plain columns only: no correlated lookups, so that
# it stays cheap without an index on receipts or transitions.
_ROOTS = (
    "SELECT txn_id, updated_at, rowid AS rid FROM txns WHERE ref_txn IS NULL"
    f" AND state IN ({_FINAL_SQL}) AND updated_at < :before"
    " AND NOT (kind = 'sale' AND created_at >= :sales_from)"
    " AND (updated_at, rowid) > (:after_at, :after_rowid)"
    " ORDER BY updated_at, rowid LIMIT :limit"
)


def _marks(values: list[str]) -> str:
    return ", ".join("?" for _ in values)


def _trees_sql(roots: list[str]) -> str:
    """(root, member) for every transaction of the trees under `roots`."""
    return (
        "WITH RECURSIVE tree(root, id) AS ("
        f"SELECT txn_id, txn_id FROM txns WHERE txn_id IN ({_marks(roots)}) UNION"
        " SELECT tree.root, t.txn_id FROM txns t JOIN tree ON t.ref_txn = tree.id)"
        " SELECT tree.root, m.txn_id, m.kind, m.state, m.created_at, m.updated_at"
        " FROM tree JOIN txns m ON m.txn_id = tree.id"
    )


@dataclass(frozen=True)
class PruneResult:
    """Rows deleted per table; `more`: a bound was reached, another step may find more."""

    outbox: int = 0
    txns: int = 0
    receipts: int = 0
    transitions: int = 0
    more: bool = False

    @property
    def total(self) -> int:
        return self.outbox + self.txns + self.receipts + self.transitions

    def __add__(self, later: PruneResult) -> PruneResult:
        return PruneResult(
            outbox=self.outbox + later.outbox,
            txns=self.txns + later.txns,
            receipts=self.receipts + later.receipts,
            transitions=self.transitions + later.transitions,
            more=later.more,
        )


@dataclass(frozen=True)
class _Cut:
    """The bounds of one step as journal timestamps (RFC 3339 UTC, milliseconds: they
    compare as text)."""

    before: str  # rows last touched before this may go
    sales_from: str  # sales created at or after this can still be refunded


def default_age(refund_window_days: int) -> timedelta:
    """How old a row must be before it goes, unless configured: the refund window + 30 days."""
    return timedelta(days=refund_window_days + EXTRA_DAYS)


def _cut(
    older_than: datetime | timedelta | None, refund_window_days: int, now: datetime | None
) -> _Cut:
    if (
        isinstance(refund_window_days, bool)
        or not isinstance(refund_window_days, int)
        or (refund_window_days < 0)
    ):
        raise JournalError(f"refund_window_days is a whole number >= 0, not {refund_window_days!r}")
    moment = datetime.now(UTC) if now is None else now
    if moment.tzinfo is None:
        raise JournalError("prune: `now` needs a time zone")
    age = default_age(refund_window_days) if older_than is None else older_than
    if isinstance(age, timedelta):
        if age < timedelta(0):
            raise JournalError(f"prune: a negative age ({age}) is not an age")
        before = moment - age
    elif isinstance(age, datetime):
        if age.tzinfo is None:
            raise JournalError("prune: the cut-off needs a time zone")
        before = age
    else:
        raise JournalError(f"prune: older_than is a datetime or a timedelta, not {age!r}")
    return _Cut(rfc3339(before), rfc3339(moment - timedelta(days=refund_window_days)))


def _check_batch(batch: int) -> None:
    if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= MAX_BATCH:
        raise JournalError(f"prune: a batch is 1-{MAX_BATCH} rows, not {batch!r}")


def prune_step(
    journal: Journal,
    *,
    older_than: datetime | timedelta | None = None,
    refund_window_days: int,
    batch: int = DEFAULT_BATCH,
    now: datetime | None = None,
) -> PruneResult:
    """One short write transaction deleting at most `batch` rows of each table: acknowledged
    events, then finished transactions (a sale together with its refunds and voids, each
    with its receipts and audit trail), then mode transitions — all older than the cut-off
    (`older_than`: an age before `now`, or a moment; default `default_age`). A transaction
    tree goes whole or not at all; a single tree larger than `batch` goes alone.

    Never deleted: an unacknowledged event, a transaction not in a final state, a sale a
    refund can still reference, a transaction with a receipt to print, anything in `kv`."""
    cut = _cut(older_than, refund_window_days, now)
    _check_batch(batch)
    with journal.transaction() as tx:
        outbox = _prune_outbox(tx, cut, batch)
        txns, receipts, trail, full = _prune_txns(tx, cut, batch)
        room = batch - trail  # mode transitions share the table's bound with the trails
        modes = _prune_modes(tx, cut, room) if room > 0 else 0
    return PruneResult(
        outbox=outbox,
        txns=txns,
        receipts=receipts,
        transitions=trail + modes,
        more=outbox == batch or full or room <= 0 or modes == room,
    )


def prune(
    journal: Journal,
    *,
    older_than: datetime | timedelta | None = None,
    refund_window_days: int,
    batch: int = DEFAULT_BATCH,
    now: datetime | None = None,
    max_steps: int | None = None,
) -> PruneResult:
    """`prune_step` until nothing more is found (or `max_steps` steps ran: then `more` says
    whether to come back). Each step is its own transaction: other writers get the journal
    between steps."""
    if max_steps is not None and (isinstance(max_steps, bool) or max_steps < 1):
        raise JournalError(f"prune: max_steps is a whole number >= 1, not {max_steps!r}")
    moment = datetime.now(UTC) if now is None else now  # one cut-off for the whole run
    result = PruneResult(more=True)
    steps = 0
    while result.more and (max_steps is None or steps < max_steps):
        result += prune_step(
            journal,
            older_than=older_than,
            refund_window_days=refund_window_days,
            batch=batch,
            now=moment,
        )
        steps += 1
    if result.total:
        log.info(
            "journal: pruned %d events, %d transactions, %d receipts, %d transitions in %d steps",
            result.outbox,
            result.txns,
            result.receipts,
            result.transitions,
            steps,
        )
    return result


def _prune_outbox(tx: Tx, cut: _Cut, batch: int) -> int:
    cur = tx.execute(
        "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE acked_at IS NOT NULL"
        " AND occurred_at < :before ORDER BY seq LIMIT :batch)",
        {"before": cut.before, "batch": batch},
    )
    return int(cur.rowcount)


def _prune_modes(tx: Tx, cut: _Cut, batch: int) -> int:
    cur = tx.execute(
        "DELETE FROM transitions WHERE id IN (SELECT id FROM transitions WHERE txn_id IS NULL"
        " AND at < :before ORDER BY id LIMIT :batch)",
        {"before": cut.before, "batch": batch},
    )
    return int(cur.rowcount)


def _prune_txns(tx: Tx, cut: _Cut, batch: int) -> tuple[int, int, int, bool]:
    """Deletes whole trees up to `batch` rows per table; returns the txns, receipts and
    transitions deleted and whether a bound stopped it."""
    chosen: list[str] = []
    receipts = trail = 0
    full = False
    after: tuple[str, int] = ("", 0)
    while not full:
        page = tx.execute(
            _ROOTS,
            {
                "before": cut.before,
                "sales_from": cut.sales_from,
                "after_at": after[0],
                "after_rowid": after[1],
                "limit": batch,
            },
        ).fetchall()
        if not page:
            break
        after = (str(page[-1]["updated_at"]), int(page[-1]["rid"]))
        for tree in _trees(tx, [str(row["txn_id"]) for row in page]):
            if not all(_may_go(member, cut) for member in tree.members):
                continue  # one of it must stay: the whole tree stays (no dangling ref_txn)
            if (
                chosen
                and max(
                    len(chosen) + len(tree.members), receipts + tree.receipts, trail + tree.trail
                )
                > batch
            ):
                full = True
                break
            chosen += [member.txn_id for member in tree.members]
            receipts += tree.receipts
            trail += tree.trail
            if max(len(chosen), receipts, trail) >= batch:
                full = True
                break
        if len(page) < batch:
            break
    if chosen:
        tx.execute(f"DELETE FROM receipts WHERE txn_id IN ({_marks(chosen)})", chosen)
        tx.execute(f"DELETE FROM transitions WHERE txn_id IN ({_marks(chosen)})", chosen)
        # one statement: SQLite checks the ref_txn foreign key at its end, when the
        # refunds and voids of a sale are gone with it
        tx.execute(f"DELETE FROM txns WHERE txn_id IN ({_marks(chosen)})", chosen)
    return len(chosen), receipts, trail, full


@dataclass
class _Member:
    txn_id: str
    kind: str
    state: str
    created_at: str
    updated_at: str
    receipts: list[tuple[str, str]] = field(default_factory=list)  # (state, copy)


@dataclass
class _Tree:
    members: list[_Member] = field(default_factory=list)
    receipts: int = 0
    trail: int = 0


def _trees(tx: Tx, roots: list[str]) -> list[_Tree]:
    """The trees under `roots` (in their order) with their receipts and trail counts: three
    reads for the whole page, each at most one pass over its table."""
    trees: dict[str, _Tree] = {root: _Tree() for root in roots}
    members: dict[str, tuple[_Tree, _Member]] = {}
    for row in tx.execute(_trees_sql(roots), roots).fetchall():
        member = _Member(
            str(row["txn_id"]),
            str(row["kind"]),
            str(row["state"]),
            str(row["created_at"]),
            str(row["updated_at"]),
        )
        trees[str(row["root"])].members.append(member)
        members[member.txn_id] = (trees[str(row["root"])], member)
    ids = list(members)
    for row in tx.execute(
        f"SELECT txn_id, state, copy FROM receipts WHERE txn_id IN ({_marks(ids)})", ids
    ).fetchall():
        tree, member = members[str(row["txn_id"])]
        member.receipts.append((str(row["state"]), str(row["copy"])))
        tree.receipts += 1
    for row in tx.execute(
        f"SELECT txn_id, COUNT(*) AS n FROM transitions WHERE txn_id IN "
        f"({_marks(ids)}) GROUP BY txn_id",
        ids,
    ).fetchall():
        members[str(row["txn_id"])][0].trail += int(row["n"])
    return [trees[root] for root in roots]


def _may_go(member: _Member, cut: _Cut) -> bool:
    """Whether this transaction may go, as far as it alone is concerned. Kept: not final,
    touched since the cut-off, a sale a refund can still reference, a receipt still to
    print, an approved operation whose customer receipt recovery has not journaled yet."""
    if member.state not in FINAL or member.updated_at >= cut.before:
        return False
    if member.kind == Kind.SALE and member.created_at >= cut.sales_from:
        return False
    if any(state == "pending" for state, _ in member.receipts):
        return False
    return not (
        member.kind in MONEY_KINDS
        and member.state in _OWE_A_RECEIPT
        and not any(copy == "customer" for _, copy in member.receipts)
    )


def journal_size(path: str | Path) -> int:
    """Bytes the journal takes on the card: the file, its -wal and its -shm."""
    main = Path(path)
    total = 0
    for file in (main, main.with_name(main.name + "-wal"), main.with_name(main.name + "-shm")):
        try:
            total += file.stat().st_size
        except FileNotFoundError:
            continue
    return total


def disk_free(path: str | Path) -> int:
    """Bytes free for an unprivileged writer on the file system of the journal's folder."""
    return int(shutil.disk_usage(Path(path).parent).free)


def reclaim(journal: Journal, pages: int = DEFAULT_RECLAIM_PAGES) -> int:
    """Give up to `pages` free pages back to the file system, when the file's auto_vacuum is
    INCREMENTAL (else SQLite keeps them for reuse and this does nothing); returns the
    pages freed. With WAL the file shrinks at the next checkpoint. Never a full VACUUM."""
    if isinstance(pages, bool) or not isinstance(pages, int) or pages < 1:
        raise JournalError(f"reclaim: pages is a whole number >= 1, not {pages!r}")
    with journal.transaction() as tx:
        if _pragma(tx, "auto_vacuum") != 2:  # 2: INCREMENTAL
            return 0
        before = _pragma(tx, "freelist_count")
        # Python's sqlite3 steps this pragma once (one page) and leaves the statement
        # running, which would make COMMIT fail: one page per call, each closed.
        for _ in range(min(pages, before)):
            tx.execute("PRAGMA incremental_vacuum(1)").close()
        return before - _pragma(tx, "freelist_count")


def _pragma(tx: Tx, name: str) -> int:
    return int(tx.execute(f"PRAGMA {name}").fetchall()[0][0])

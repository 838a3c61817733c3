"""A transaction named without its id: `last` (the latest one the operation makes sense
for) or the PT's receipt number (digits; a txn id is never all digits). An unknown or
ambiguous reference is refused (`unknown_txn`, `ambiguous_txn`) before anything runs."""

from __future__ import annotations

from posterm.daemon.errors import TerminalError
from posterm.daemon.journal.reads import JournalReads
from posterm.daemon.states import Kind, TxnState
from posterm.protocol.errorcodes import ErrorCode

LAST = "last"
# what `last` means per command: (kinds, states, what it is called when there is none)
LATEST: dict[str, tuple[tuple[Kind, ...], tuple[TxnState, ...], str]] = {
    "refund": ((Kind.SALE,), (TxnState.APPROVED,), "no approved sale yet to refund"),
    "void": ((Kind.SALE,), (TxnState.APPROVED,), "no approved sale yet to void"),
    "reprint": (
        (Kind.SALE, Kind.REFUND, Kind.VOID),
        (TxnState.APPROVED, TxnState.VOIDED),
        "no transaction with a receipt yet to reprint",
    ),
}


def is_reference(cmd: str, ref: str) -> bool:
    """Whether `ref` names a transaction without its id (and so needs the journal)."""
    return (ref == LAST and cmd in LATEST) or (ref.isdigit() and ref.isascii())


def resolve(journal: JournalReads, cmd: str, ref: str) -> str:
    """The txn id `ref` names for `cmd` (an id is returned as it is)."""
    if ref == LAST and cmd in LATEST:
        kinds, states, none = LATEST[cmd]
        found = journal.latest_of(kinds, states)
        if found is None:
            raise TerminalError(ErrorCode.UNKNOWN_TXN, f"{cmd} last: {none}")
        return found.txn_id
    if ref.isdigit() and ref.isascii():
        matches = journal.with_receipt_no(int(ref))
        if not matches:
            raise TerminalError(
                ErrorCode.UNKNOWN_TXN, f"no transaction has PT receipt number {int(ref)}"
            )
        if len(matches) > 1:
            ids = ", ".join(t.txn_id for t in matches)
            raise TerminalError(
                ErrorCode.AMBIGUOUS_TXN,
                f"PT receipt number {int(ref)} names {len(matches)} transactions ({ids}):"
                " give the transaction id",
            )
        return matches[0].txn_id
    return ref

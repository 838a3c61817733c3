"""Reprint: a later copy of a customer receipt, marked DUPLICATE; moves no money."""

from __future__ import annotations

from typing import Any

from posterm.daemon.errors import TerminalError
from posterm.daemon.flows import receipts, records
from posterm.daemon.flows.context import FlowContext
from posterm.protocol.errorcodes import ErrorCode


def reprint(ctx: FlowContext, txn_id: str) -> dict[str, Any]:
    if ctx.journal.get_txn(txn_id) is None:
        raise TerminalError(ErrorCode.UNKNOWN_TXN, f"no transaction {txn_id}")
    receipts.reprint(ctx, txn_id)
    return records.view(ctx.journal, txn_id)

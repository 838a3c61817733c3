"""The terminal layer's exception: what an operator sees when a request cannot be done."""

from __future__ import annotations


class TerminalError(Exception):
    """A request refused or failed, with a stable machine code and a human message.

    Codes: bad_amount, bad_request, unknown_txn, not_ready, declined, in_doubt, pt_down,
    pt_refused, over_refund, key_conflict, batch_closed, not_awaiting, not_allowed,
    journal, printer, updating (an updater holds the update lock), shutting_down.
    """

    def __init__(self, code: str, message: str, **details: object) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def to_json(self) -> dict[str, object]:
        return {"ok": False, "code": self.code, "error": self.message, **self.details}

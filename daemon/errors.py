"""The terminal layer's exception: what an operator sees when a request cannot be done."""

from __future__ import annotations

from posterm.protocol.errorcodes import ErrorCode


class TerminalError(Exception):
    """A request refused or failed, with a stable machine code (an `ErrorCode`, listed
    with their meanings in protocol/errorcodes.py) and a human message."""

    def __init__(self, code: ErrorCode, message: str, **details: object) -> None:
        super().__init__(message)
        self.code = ErrorCode(code)  # a stray string that is no code fails here, not on the wire
        self.message = message
        self.details = details

    def to_json(self) -> dict[str, object]:
        return {"ok": False, "code": self.code, "error": self.message, **self.details}

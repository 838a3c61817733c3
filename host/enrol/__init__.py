"""Enrolment: the fleet CA (`ca.py`), one-time enrolment codes (`codes.py`), the
`POST /api/enroll` endpoint (`http.py`) and the `posterm-host ca|enroll|terminals` commands
(`cli.py`)."""

from __future__ import annotations

from posterm.protocol.errorcodes import ErrorCode


class EnrolError(Exception):
    """Enrolment or the fleet CA refused something; the message says what and why."""

    def __init__(
        self, message: str, *, status: int = 400, code: ErrorCode = ErrorCode.BAD_REQUEST
    ) -> None:
        super().__init__(message)
        self.message, self.status, self.code = message, status, code

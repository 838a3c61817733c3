"""Every error code posterm puts in a refusal's `code`: control API, MQTT replies, CLIs.

A refusal is `{"ok": false, "code": ..., "error": ...}` on the control socket, in a
command reply on MQTT (`{"cmd_id", "ok": false, "code", "error"}`), in `--json` output of
`posterm` and `posterm-host`, and in the back office's HTTP API. `code` is stable and
machine-readable; `error` is for people. A code is always an `ErrorCode` member, never a
free string (tests/test_error_codes.py scans the code for literals). The host still
stores a reply whose code it does not know (a newer terminal may send one): the reply
schema checks only its shape (protocol/mqtt/wire.py `Reply.code`).
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """A refusal's machine code; `meaning` says when it is given (docs list it)."""

    # the terminal's requests (control API, and the MQTT commands that run them)
    BAD_AMOUNT = "bad_amount"
    BAD_REQUEST = "bad_request"
    UNKNOWN_TXN = "unknown_txn"
    NOT_READY = "not_ready"
    DECLINED = "declined"
    IN_DOUBT = "in_doubt"
    NOT_IN_DOUBT = "not_in_doubt"
    NOT_CHARGED = "not_charged"
    PT_DOWN = "pt_down"
    PT_REFUSED = "pt_refused"
    OVER_REFUND = "over_refund"
    KEY_CONFLICT = "key_conflict"
    BATCH_CLOSED = "batch_closed"
    NOT_AWAITING = "not_awaiting"
    REJECTED = "rejected"
    NOT_ALLOWED = "not_allowed"
    JOURNAL = "journal"
    UPDATING = "updating"
    SHUTTING_DOWN = "shutting_down"
    BUSY = "busy"
    INTERNAL = "internal"
    # commands host -> terminal refused before they run (protocol/mqtt/commands.py)
    BAD_PAYLOAD = "bad_payload"
    BAD_COMMAND = "bad_command"
    UNKNOWN_COMMAND = "unknown_command"
    WRONG_TERMINAL = "wrong_terminal"
    EXPIRED = "expired"
    UNSIGNED = "unsigned"
    BAD_SIGNATURE = "bad_signature"
    INTERRUPTED = "interrupted"
    # the command-line tools
    NO_DAEMON = "no_daemon"
    NO_REPLY = "no_reply"
    NO_KEY = "no_key"
    # the back office (posterm-host's CLI and HTTP API)
    UNKNOWN_TERMINAL = "unknown_terminal"
    AMBIGUOUS_TXN = "ambiguous_txn"
    BAD_EVENT = "bad_event"
    LOGIN = "login"
    CSRF = "csrf"
    FORBIDDEN = "forbidden"
    THROTTLED = "throttled"
    UNKNOWN_ALERT = "unknown_alert"
    ALERT_CLEARED = "alert_cleared"
    # enrolment (posterm-host enroll, POST /api/enroll, posterm enroll)
    ENROL_CODE = "enrol_code"
    NO_CA = "no_ca"

    @property
    def meaning(self) -> str:
        """One line: when this code is given."""
        return MEANINGS[self]


MEANINGS: dict[ErrorCode, str] = {
    # the terminal's requests (control API, and the MQTT commands that run them)
    ErrorCode.BAD_AMOUNT: "the amount is not a positive decimal in the currency's units",
    ErrorCode.BAD_REQUEST: "the request is malformed or misses an argument",
    ErrorCode.UNKNOWN_TXN: "no transaction with this id",
    ErrorCode.NOT_READY: "the terminal cannot take a payment now (the reason says why)",
    ErrorCode.DECLINED: "the payment terminal declined the card",
    ErrorCode.IN_DOUBT: "the outcome is unknown; the terminal resolves it with the PT",
    ErrorCode.NOT_IN_DOUBT: "a manual resolve asked for a transaction not in doubt",
    ErrorCode.NOT_CHARGED: "resolved: the card was not charged",
    ErrorCode.PT_DOWN: "the payment terminal is unreachable",
    ErrorCode.PT_REFUSED: "the payment terminal refused the operation",
    ErrorCode.OVER_REFUND: "the refunds would add up to more than the sale",
    ErrorCode.KEY_CONFLICT: "the idempotency key was used for a different request",
    ErrorCode.BATCH_CLOSED: "the sale's day is closed: refund it instead of voiding",
    ErrorCode.NOT_AWAITING: "the refund is not waiting for an approval",
    ErrorCode.REJECTED: "the refund was rejected by a supervisor or the back office",
    ErrorCode.NOT_ALLOWED: "the transaction's state does not allow this operation",
    ErrorCode.JOURNAL: "the journal could not record the operation",
    ErrorCode.UPDATING: "an updater holds the update lock",
    ErrorCode.SHUTTING_DOWN: "postermd is stopping",
    ErrorCode.BUSY: "too many connections, or another command is still running",
    ErrorCode.INTERNAL: "an unexpected error (a bug); the message names it",
    # commands host -> terminal refused before they run (protocol/mqtt/commands.py)
    ErrorCode.BAD_PAYLOAD: "the command is not a JSON object or is too large",
    ErrorCode.BAD_COMMAND: "the command does not fit its schema or its arguments",
    ErrorCode.UNKNOWN_COMMAND: "no command of this name",
    ErrorCode.WRONG_TERMINAL: "the command is addressed to another terminal",
    ErrorCode.EXPIRED: "the command expired before it arrived",
    ErrorCode.UNSIGNED: "a command that moves money came without the host's signature",
    ErrorCode.BAD_SIGNATURE: "the signature does not match the host key",
    ErrorCode.INTERRUPTED: "postermd restarted while the command ran",
    # the command-line tools
    ErrorCode.NO_DAEMON: "posterm could not reach postermd's control socket",
    ErrorCode.NO_REPLY: "the terminal did not reply before the command expired",
    ErrorCode.NO_KEY: "a signed command needs the host's private key",
    # the back office (posterm-host's CLI and HTTP API)
    ErrorCode.UNKNOWN_TERMINAL: "no terminal with this id",
    ErrorCode.AMBIGUOUS_TXN: "several terminals have this transaction id",
    ErrorCode.BAD_EVENT: "a stored event cannot be read back",
    ErrorCode.LOGIN: "the web API needs a logged-in user",
    ErrorCode.CSRF: "the CSRF token is missing or wrong",
    ErrorCode.FORBIDDEN: "the user's role does not allow this",
    ErrorCode.THROTTLED: "too many refused logins from this client",
    ErrorCode.UNKNOWN_ALERT: "no alert with this id",
    ErrorCode.ALERT_CLEARED: "the alert is cleared already: nothing to acknowledge or mute",
    # enrolment (posterm-host enroll, POST /api/enroll, posterm enroll)
    ErrorCode.ENROL_CODE: "the enrolment code is unknown, already used, expired or revoked",
    ErrorCode.NO_CA: "the host has no fleet CA yet (posterm-host ca init)",
}

"""The control API: one JSON request in, one JSON reply out, for the socket and the CLI.

Requests: {"cmd": "sale", "amount": "12.50", "key"?}, {"cmd": "refund", "txn", "amount",
"reason", "text"?, "key"?, "notify_email"? | "notify_phone"?, "notify_lang"?} (instead of
"txn", "unreferenced": true: a refund without a sale, where the config allows it),
{"cmd": "void", "txn", "key"?}, {"cmd": "reprint", "txn"},
{"cmd": "approve"|"reject", "txn", "by"?},
{"cmd": "resolve", "txn", "outcome": "charged"|"not-charged", "by"}, {"cmd": "status"},
{"cmd": "journal", "limit"?}, {"cmd": "eod"}, {"cmd": "abort"}.
A "txn" of refund, void and reprint may be "last" or the PT's receipt number
(daemon/flows/refs.py).
Replies: {"ok": true, "result": ...} or {"ok": false, "code": ..., "error": ...}.
"""

from __future__ import annotations

import logging
from typing import Any

from posterm.daemon.errors import TerminalError
from posterm.daemon.flows import refs
from posterm.daemon.states import Mode
from posterm.protocol import contact
from posterm.protocol.errorcodes import ErrorCode

log = logging.getLogger("posterm.api")

KEY_MAX = 64


def _text(request: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = request.get(name)
    if value is None:
        if required:
            raise TerminalError(ErrorCode.BAD_REQUEST, f"{request.get('cmd')} needs {name!r}")
        return None
    if not isinstance(value, str):
        raise TerminalError(ErrorCode.BAD_REQUEST, f"{name!r} must be a string")
    if name == "key" and not 0 < len(value) <= KEY_MAX:
        raise TerminalError(ErrorCode.BAD_REQUEST, f"key must be 1..{KEY_MAX} characters")
    return value


def _txn(terminal: Any, request: dict[str, Any]) -> str:
    """The txn id the request names: an id, `last` or a PT receipt number."""
    ref = _text(request, "txn") or ""  # required: never None
    cmd = str(request.get("cmd"))
    if not refs.is_reference(cmd, ref):
        return ref
    found: str = terminal.find_ref(cmd, ref)  # on the owner thread, which reads the journal
    return found


def _refund_target(terminal: Any, request: dict[str, Any]) -> str | None:
    """The sale a refund is for, or None for an explicitly unreferenced refund."""
    unreferenced = request.get("unreferenced", False)
    if not isinstance(unreferenced, bool):
        raise TerminalError(ErrorCode.BAD_REQUEST, "'unreferenced' must be true or false")
    if not unreferenced:
        return _txn(terminal, request)
    if request.get("txn") is not None:
        raise TerminalError(
            ErrorCode.BAD_REQUEST, "a refund has either 'txn' or 'unreferenced', not both"
        )
    return None


def _contact(request: dict[str, Any]) -> dict[str, str] | None:
    """The customer's contact for the refund's notification (never echoed in an error)."""
    try:
        return contact.check(
            request.get("notify_email"), request.get("notify_phone"), request.get("notify_lang")
        )
    except contact.ContactError as exc:
        raise TerminalError(ErrorCode.BAD_REQUEST, str(exc)) from None


def handle(terminal: Any, request: dict[str, Any]) -> dict[str, Any]:
    try:
        return {"ok": True, "result": _dispatch(terminal, request)}
    except TerminalError as exc:
        log.info("api: %s refused: %s", request.get("cmd"), exc.message)
        return exc.to_json()


def _dispatch(terminal: Any, request: dict[str, Any]) -> Any:
    cmd = request.get("cmd")
    t = _text
    if cmd == "sale":
        return terminal.sale(t(request, "amount"), t(request, "key", required=False))
    if cmd == "refund":
        return terminal.refund(
            _refund_target(terminal, request),
            t(request, "amount"),
            t(request, "reason"),
            t(request, "text", required=False),
            t(request, "key", required=False),
            notify=_contact(request),
        )
    if cmd == "void":
        return terminal.void(_txn(terminal, request), t(request, "key", required=False))
    if cmd == "reprint":
        return terminal.reprint(_txn(terminal, request))
    if cmd in ("approve", "reject"):
        by = t(request, "by", required=False) or "operator"
        return getattr(terminal, cmd)(t(request, "txn"), by)
    if cmd == "resolve":
        return terminal.resolve(t(request, "txn"), t(request, "outcome"), t(request, "by"))
    if cmd == "status":
        return terminal.status()
    if cmd == "journal":
        limit = request.get("limit", 50)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 1000:
            raise TerminalError(ErrorCode.BAD_REQUEST, "limit must be 1..1000")
        return terminal.journal_view(limit)
    if cmd == "eod":
        return terminal.end_of_day()
    if cmd == "abort":
        if terminal.mode.mode == Mode.BUSY:
            raise TerminalError(
                ErrorCode.NOT_ALLOWED,
                "the payment terminal is master during a payment: abort it on the PT's "
                "keypad; posterm never cuts a payment off midway",
            )
        raise TerminalError(ErrorCode.NOT_ALLOWED, "nothing to abort")
    raise TerminalError(ErrorCode.BAD_REQUEST, f"unknown command {cmd!r}")

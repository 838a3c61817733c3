"""Commands host -> terminal, their replies, and the host's acks (docs/mqtt.md).

A command is `{"v": 1, "cmd_id", "terminal", "name", "args", "issued_at", "expires_at",
"sig"}`. `terminal` binds it to one terminal (a signed command replayed onto another
terminal's topic is refused). Commands that move money (`refund.approve`,
`refund.reject`, `batch.close`, `txn.resolve`) carry an Ed25519 signature by the host key over the
canonical JSON of the envelope without `sig` (keys sorted, no spaces, UTF-8), base64 in
`sig`; a signature present on any other command is checked too.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from posterm.protocol.errorcodes import ErrorCode
from posterm.protocol.mqtt import wire
from posterm.protocol.mqtt.events import now_rfc3339, rfc3339, uuid7

VERSION = 1
COMMANDS = frozenset(
    {
        "refund.approve",
        "refund.reject",
        "receipt.reprint",
        "batch.close",
        "txn.resolve",
        "resend",
        "rebirth",
        "ping",
        "keys.update",
    }
)
# keys.update: the host keys the terminal accepts from now on (protocol/mqtt/keyring.py)
SIGNED = frozenset({"refund.approve", "refund.reject", "batch.close", "txn.resolve", "keys.update"})
MAX_PAYLOAD = 16 * 1024  # bytes of one command or ack message
MAX_ACK_IDS = 1000
CLOCK_SKEW = timedelta(minutes=5)  # how far in the future `issued_at` may be
MAX_LIFETIME = timedelta(days=1)  # expires_at - issued_at
CMD_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
FIELDS = frozenset({"v", "cmd_id", "terminal", "name", "args", "issued_at", "expires_at", "sig"})


class CommandError(ValueError):
    """A command refused before it runs; `code` goes into the reply: bad_payload,
    bad_command, unknown_command, wrong_terminal, expired, unsigned, bad_signature."""

    def __init__(self, code: ErrorCode, message: str, cmd_id: str | None = None) -> None:
        super().__init__(message)
        self.code = ErrorCode(code)
        self.message = message
        self.cmd_id = cmd_id


class AckError(ValueError):
    """An ack message that is not `{"event_ids": [UUIDv7, ...]}`."""


@dataclass(frozen=True)
class Command:
    cmd_id: str
    terminal: str
    name: str
    args: dict[str, Any]
    issued_at: datetime
    expires_at: datetime
    signed: bool


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads(payload: bytes) -> Any:
    """JSON from the network; every way it can be unusable is a ValueError: not UTF-8, not
    JSON, NaN or Infinity, nesting deeper than the parser's recursion limit, an integer
    longer than int()'s digit limit (those two raised RecursionError and a bare ValueError
    past the callers' `except JSONDecodeError`)."""
    try:
        return json.loads(payload, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def canonical(envelope: dict[str, Any]) -> bytes:
    """What is signed: the envelope without `sig`, keys sorted, no spaces, UTF-8."""
    body = {k: v for k, v in envelope.items() if k != "sig"}
    text = json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def build(
    terminal: str,
    name: str,
    args: dict[str, Any] | None = None,
    *,
    key: Ed25519PrivateKey | None = None,
    cmd_id: str | None = None,
    issued_at: datetime | None = None,
    ttl: timedelta = timedelta(minutes=5),
) -> dict[str, Any]:
    """A command envelope (the host's side), signed when `key` is given."""
    issued = issued_at or datetime.now(UTC)
    envelope: dict[str, Any] = {
        "v": VERSION,
        "cmd_id": cmd_id or uuid7(),
        "terminal": terminal,
        "name": name,
        "args": dict(args or {}),
        "issued_at": rfc3339(issued),
        "expires_at": rfc3339(issued + ttl),
    }
    if key is not None:
        envelope["sig"] = base64.b64encode(key.sign(canonical(envelope))).decode("ascii")
    return envelope


def parse(
    payload: bytes,
    *,
    terminal: str,
    host_key: Ed25519PublicKey | Sequence[Ed25519PublicKey] | None,
    now: datetime | None = None,
) -> Command:
    """Check a command for this terminal; raise CommandError (with the cmd_id when it
    could be read, so the refusal can be replied to)."""
    if len(payload) > MAX_PAYLOAD:
        raise CommandError(ErrorCode.BAD_PAYLOAD, f"a command is at most {MAX_PAYLOAD} bytes")
    try:
        envelope = loads(payload)
    except ValueError as exc:
        raise CommandError(ErrorCode.BAD_PAYLOAD, f"a command is a JSON object: {exc}") from None
    if not isinstance(envelope, dict):
        raise CommandError(ErrorCode.BAD_PAYLOAD, "a command is a JSON object")
    raw_id = envelope.get("cmd_id")
    cmd_id = raw_id if isinstance(raw_id, str) and CMD_ID.fullmatch(raw_id) else None

    def refuse(code: ErrorCode, message: str) -> CommandError:
        return CommandError(code, message, cmd_id)

    if cmd_id is None:
        raise refuse(ErrorCode.BAD_COMMAND, "cmd_id: 1-64 of A-Z a-z 0-9 _ . : -")
    unknown = set(envelope) - FIELDS
    if unknown:
        raise refuse(ErrorCode.BAD_COMMAND, f"unknown fields {sorted(unknown)}")
    if envelope.get("v") != VERSION:
        raise refuse(ErrorCode.BAD_COMMAND, f"v must be {VERSION}")
    name = envelope.get("name")
    if not isinstance(name, str) or name not in COMMANDS:
        raise refuse(ErrorCode.UNKNOWN_COMMAND, f"unknown command {name!r}")
    if envelope.get("terminal") != terminal:
        raise refuse(ErrorCode.WRONG_TERMINAL, f"this command is for {envelope.get('terminal')!r}")
    args = envelope.get("args")
    if not isinstance(args, dict):
        raise refuse(ErrorCode.BAD_COMMAND, "args is a JSON object")
    issued = _moment(envelope.get("issued_at"), "issued_at", refuse)
    expires = _moment(envelope.get("expires_at"), "expires_at", refuse)
    if not issued < expires <= issued + MAX_LIFETIME:
        raise refuse(ErrorCode.BAD_COMMAND, "expires_at must follow issued_at, by at most a day")
    try:  # the signature is _verify's (a bad one is bad_signature)
        wire.check_command({k: v for k, v in envelope.items() if k != "sig"})
    except wire.WireError as exc:
        raise refuse(ErrorCode.BAD_COMMAND, exc.reason) from None
    moment = now or datetime.now(UTC)
    if moment >= expires:
        raise refuse(ErrorCode.EXPIRED, f"expired at {envelope['expires_at']}")
    if issued > moment + CLOCK_SKEW:
        raise refuse(ErrorCode.BAD_COMMAND, f"issued in the future ({envelope['issued_at']})")
    sig = envelope.get("sig")
    if sig is None:
        if name in SIGNED:
            raise refuse(ErrorCode.UNSIGNED, f"{name} must be signed by the host")
    elif not host_key:
        raise refuse(ErrorCode.UNSIGNED, "no host key is configured to check signatures")
    else:
        _verify(envelope, sig, host_key, refuse)
    return Command(cmd_id, terminal, name, args, issued, expires, signed=sig is not None)


def _moment(value: Any, name: str, refuse: Any) -> datetime:
    if not isinstance(value, str):
        raise refuse(ErrorCode.BAD_COMMAND, f"{name} is an RFC 3339 time")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise refuse(ErrorCode.BAD_COMMAND, f"{name} is an RFC 3339 time, not {value!r}") from None
    if moment.tzinfo is None:
        raise refuse(ErrorCode.BAD_COMMAND, f"{name} needs a time zone")
    return moment


def _verify(
    envelope: dict[str, Any],
    sig: Any,
    keys: Ed25519PublicKey | Sequence[Ed25519PublicKey],
    refuse: Any,
) -> None:
    """Good when one of `keys` (during a key rotation: the new and the old) verifies."""
    if not isinstance(sig, str):
        raise refuse(ErrorCode.BAD_SIGNATURE, "sig is base64 text")
    try:
        raw = base64.b64decode(sig, validate=True)
    except (binascii.Error, ValueError):
        raise refuse(ErrorCode.BAD_SIGNATURE, "sig is base64 text") from None
    for key in [keys] if isinstance(keys, Ed25519PublicKey) else keys:
        try:
            key.verify(raw, canonical(envelope))
        except (InvalidSignature, ValueError):
            continue
        return
    raise refuse(ErrorCode.BAD_SIGNATURE, "the signature does not match the host key")


def reply(
    cmd_id: str | None,
    *,
    result: Any = None,
    error: CommandError | None = None,
    code: ErrorCode | None = None,
    message: str | None = None,
) -> dict[str, Any]:
    """`{"cmd_id", "ok", "result"}` or `{"cmd_id", "ok": false, "code", "error"}`."""
    if error is not None:
        return {
            "cmd_id": cmd_id,
            "ok": False,
            "code": error.code,
            "error": error.message,
            "at": now_rfc3339(),
        }
    if code is not None:
        code = ErrorCode(code)
        return {
            "cmd_id": cmd_id,
            "ok": False,
            "code": code,
            "error": message or code.meaning,
            "at": now_rfc3339(),
        }
    return {"cmd_id": cmd_id, "ok": True, "result": result, "at": now_rfc3339()}


def ack(event_ids: list[str]) -> dict[str, Any]:
    return {"event_ids": list(event_ids)}


def parse_ack(payload: bytes) -> list[str]:
    if len(payload) > MAX_PAYLOAD * 8:
        raise AckError("an ack is at most 128 KiB")
    try:
        return wire.decode_ack(payload)
    except wire.WireError as exc:
        raise AckError(
            f'an ack is {{"event_ids": [...]}} with 1-{MAX_ACK_IDS} UUIDv7 ids: {exc.reason}'
        ) from None


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    """The host's public key from PEM (SubjectPublicKeyInfo)."""
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise ValueError(f"not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("the host key must be an Ed25519 key")
    return key


def load_private_key(pem: bytes) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the host key must be an Ed25519 key")
    return key


def public_pem(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )

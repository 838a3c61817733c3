"""The customer's refund status link: a token naming one refund of one terminal until an
expiry, signed so that neither the customer nor another terminal can forge or alter it.

Two keys:
- the host's *master* key (32 random bytes, kept by posterm-host only);
- a *terminal link key*, `terminal_key(master, terminal_id)`, given to that terminal
  (at enrolment or by hand). A terminal mints links for its own refunds only: a link
  naming another terminal does not verify under the key it holds.

A token is `base64url(payload) "." base64url(mac)`, payload `terminal \\n txn \\n expiry`
(expiry in Unix seconds), mac the first 16 bytes of HMAC-SHA256(terminal key, payload).
`verify` compares in constant time and says nothing about *why* a token is refused."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass

KEY_BYTES = 32
MAC_BYTES = 16
MAX_TOKEN = 200  # a tid of 32 and a txn id of 64 make a token of ~150 characters
_TID = re.compile(r"[A-Za-z0-9_-]{1,32}")
_TXN = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_EXPIRY = re.compile(r"[0-9]{1,12}")
_B64 = re.compile(r"[A-Za-z0-9_-]+")
_CONTEXT = b"posterm refund link v1\x00"


class LinkRefused(ValueError):
    """A token that is malformed, tampered with, for another key, or expired."""


@dataclass(frozen=True)
class Claim:
    terminal_id: str
    txn_id: str
    expires: int  # Unix seconds


def terminal_key(master: bytes, terminal_id: str) -> bytes:
    """The link key of one terminal, derived from the host's master key."""
    if len(master) != KEY_BYTES:
        raise ValueError(f"refund link master key is {KEY_BYTES} bytes, not {len(master)}")
    if not _TID.fullmatch(terminal_id):
        raise ValueError(f"not a terminal id: {terminal_id!r}")
    return hmac.new(master, _CONTEXT + terminal_id.encode(), hashlib.sha256).digest()


def _payload(terminal_id: str, txn_id: str, expires: int) -> bytes:
    return f"{terminal_id}\n{txn_id}\n{expires}".encode()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    if not _B64.fullmatch(text):
        raise LinkRefused("not base64url")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise LinkRefused("not base64url") from exc
    if _b64(raw) != text:  # unused low bits set: one token has one spelling
        raise LinkRefused("not base64url")
    return raw


def mint(key: bytes, terminal_id: str, txn_id: str, expires: int) -> str:
    """A token for `txn_id` of `terminal_id`, signed with that terminal's link key."""
    if len(key) != KEY_BYTES:
        raise ValueError(f"refund link key is {KEY_BYTES} bytes, not {len(key)}")
    if not _TID.fullmatch(terminal_id) or not _TXN.fullmatch(txn_id):
        raise ValueError("refund link: not a terminal id or transaction id")
    if not 0 < expires < 10**12:
        raise ValueError("refund link: expiry out of range")
    payload = _payload(terminal_id, txn_id, expires)
    mac = hmac.new(key, payload, hashlib.sha256).digest()[:MAC_BYTES]
    return f"{_b64(payload)}.{_b64(mac)}"


def verify(master: bytes, token: str, now: float) -> Claim:
    """The claim a token makes, if the host's master key signed it (through the named
    terminal's key) and it has not expired; else LinkRefused (one reason for all)."""
    if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN or token.count(".") != 1:
        raise LinkRefused("not found or expired")
    head, tail = token.split(".")
    try:
        payload, mac = _unb64(head), _unb64(tail)
        parts = payload.decode("ascii").split("\n")
    except (LinkRefused, UnicodeDecodeError) as exc:
        raise LinkRefused("not found or expired") from exc
    if (
        len(parts) != 3
        or not _TID.fullmatch(parts[0])
        or not _TXN.fullmatch(parts[1])
        or not _EXPIRY.fullmatch(parts[2])
    ):
        raise LinkRefused("not found or expired")
    key = terminal_key(master, parts[0])
    want = hmac.new(key, payload, hashlib.sha256).digest()[:MAC_BYTES]
    if not hmac.compare_digest(want, mac) or payload != _payload(parts[0], parts[1], int(parts[2])):
        raise LinkRefused("not found or expired")
    claim = Claim(parts[0], parts[1], int(parts[2]))
    if claim.expires <= now:
        raise LinkRefused("not found or expired")
    return claim

"""The host keys a terminal accepts signed commands from: one or more Ed25519 public keys
in PEM, each optionally preceded by a line `# until RFC3339` after which it is no longer
accepted. One key without a line is the file `posterm-host keygen` writes; a rotation
(`posterm-host keys rotate`) sends the terminal the new key and the old one with its end
(the `keys.update` command, signed by a key the terminal accepts) and the terminal writes
them here."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from posterm.protocol.mqtt.commands import load_public_key
from posterm.protocol.mqtt.events import rfc3339

MAX_KEYS = 4
BLOCK = re.compile(
    rb"(?:# until (?P<until>\S+)\r?\n)?"
    rb"(?P<pem>-----BEGIN PUBLIC KEY-----\r?\n[A-Za-z0-9+/=\r\n]+?-----END PUBLIC KEY-----)"
)


@dataclass(frozen=True)
class HostKey:
    key: Ed25519PublicKey
    pem: str
    until: datetime | None = None

    def accepted(self, now: datetime) -> bool:
        return self.until is None or now < self.until


def _until(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"until: not an RFC 3339 time: {text!r}") from None
    if moment.tzinfo is None:
        raise ValueError(f"until: {text!r} needs a time zone")
    return moment


def parse(data: bytes) -> list[HostKey]:
    """The keys of a key file; ValueError when there is none, more than MAX_KEYS, or one
    is not an Ed25519 public key."""
    keys = []
    for match in BLOCK.finditer(data):
        pem = match["pem"].decode("ascii")
        until = match["until"]
        keys.append(
            HostKey(
                load_public_key(pem.encode()),
                pem,
                None if until is None else _until(until.decode()),
            )
        )
    if not keys:
        raise ValueError("not a PEM public key (no -----BEGIN PUBLIC KEY----- block)")
    if len(keys) > MAX_KEYS:
        raise ValueError(f"at most {MAX_KEYS} host keys")
    return keys


def dump(keys: Sequence[HostKey]) -> bytes:
    """The file text of `keys` (parse() reads it back)."""
    out = []
    for k in keys:
        out.append((f"# until {rfc3339(k.until)}\n" if k.until else "") + k.pem.strip() + "\n")
    return "".join(out).encode("ascii")


def accepted(keys: Sequence[HostKey], now: datetime) -> list[Ed25519PublicKey]:
    return [k.key for k in keys if k.accepted(now)]


def to_args(keys: Sequence[HostKey]) -> dict[str, Any]:
    """The args of a `keys.update` command naming `keys`."""
    return {
        "keys": [
            {"key": base64.b64encode(k.key.public_bytes_raw()).decode("ascii")}
            | ({"until": rfc3339(k.until)} if k.until else {})
            for k in keys
        ]
    }


def from_args(args: dict[str, Any]) -> list[HostKey]:
    """The keys of a `keys.update` command's args {"keys": [{"key", "until"?}, …]} (the
    wire schema checked their form): at least one without an end; ValueError otherwise."""
    raw = args.get("keys")
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_KEYS:
        raise ValueError(f"args.keys: a list of 1-{MAX_KEYS} keys")
    keys = []
    for i, item in enumerate(raw):
        try:
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(item["key"], validate=True))
        except (KeyError, TypeError, ValueError, binascii.Error):
            raise ValueError(f"args.keys[{i}].key: an Ed25519 public key in base64") from None
        until = item.get("until")
        keys.append(HostKey(key, pem_of(key), None if until is None else _until(str(until))))
    if all(k.until is not None for k in keys):
        raise ValueError("args.keys: one key must have no end")
    return keys


def pem_of(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")

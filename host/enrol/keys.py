"""`posterm-host keys rotate [--window 7d]`: a new host signing key, announced to every
terminal before it is used. Each terminal gets a `keys.update` command signed by the key it
trusts now (the old one) naming the new key and the old one with the end of the window;
it writes both to its host_public_key file and accepts commands signed by either until
then, by the new one only after. Then the new key replaces [keys] private_key (the old one
kept as `.old`, 0600) and signs every command from now on. A terminal that was not
reached (offline) is named: `posterm-host keys push TID…` sends it the update again,
signed by the old key, until the window ends; after that it must be enrolled again."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from posterm.host import expiry
from posterm.host.config import HostConfig
from posterm.host.enrol import EnrolError
from posterm.host.enrol.ca import write_file
from posterm.host.store import Store
from posterm.protocol.errorcodes import ErrorCode
from posterm.protocol.mqtt import commands, keyring
from posterm.protocol.mqtt.events import rfc3339

ROTATION = ".rotation.json"  # next to the key: the old key's end, for `keys push`


@dataclass(frozen=True)
class Sent:
    terminal: str
    ok: bool
    detail: str


def _paths(config: HostConfig) -> tuple[Path, Path, Path]:
    if config.private_key is None or not config.private_key.exists():
        raise EnrolError(
            "keys need [keys] private_key (posterm-host keygen)", status=503, code=ErrorCode.NO_KEY
        )
    key = config.private_key
    return key, key.with_name(key.name + ".old"), key.with_name(key.name + ROTATION)


def _load(path: Path) -> Ed25519PrivateKey:
    try:
        return commands.load_private_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise EnrolError(f"{path}: {exc}", status=503, code=ErrorCode.NO_KEY) from None


def _announce(
    config: HostConfig,
    terminals: list[str],
    signer: Ed25519PrivateKey,
    keys: list[keyring.HostKey],
) -> list[Sent]:
    from posterm.host.cli_commands import send_and_wait  # noqa: PLC0415 (paho: heavy)

    sent = []
    for tid in terminals:
        envelope = expiry.build(
            tid, "keys.update", keyring.to_args(keys), key=signer, wait_s=config.reply_timeout_s
        )
        reply = send_and_wait(config, tid, envelope)
        if reply is None:
            sent.append(Sent(tid, False, "no reply (offline?)"))
        elif reply.get("ok"):
            sent.append(Sent(tid, True, "accepts the new key"))
        else:
            sent.append(Sent(tid, False, f"refused: {reply.get('code')} {reply.get('error')}"))
    return sent


def rotate(config: HostConfig, store: Store, window_s: int) -> tuple[list[Sent], datetime]:
    """Make the new key, announce it to every known terminal, then sign with it."""
    key_path, old_path, rotation = _paths(config)
    old = _load(key_path)
    new = Ed25519PrivateKey.generate()
    until = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=window_s)
    keys = [
        keyring.HostKey(new.public_key(), keyring.pem_of(new.public_key())),
        keyring.HostKey(old.public_key(), keyring.pem_of(old.public_key()), until),
    ]
    terminals = sorted(row["terminal"] for row in store.fleet())
    sent = _announce(config, terminals, old, keys)
    write_file(old_path, commands.private_pem(old), 0o600)
    write_file(rotation, json.dumps({"until": rfc3339(until)}).encode(), 0o600)
    write_file(key_path, commands.private_pem(new), 0o600)
    write_file(key_path.with_suffix(".pub"), commands.public_pem(new), 0o644)
    return sent, until


def push(config: HostConfig, terminals: list[str]) -> tuple[list[Sent], datetime]:
    """Send the rotation's keys again to `terminals`, signed by the old key."""
    key_path, old_path, rotation = _paths(config)
    try:
        until = datetime.fromisoformat(json.loads(rotation.read_text())["until"])
    except (OSError, ValueError, KeyError) as exc:
        raise EnrolError(f"{rotation}: no key rotation to push ({exc})", status=404) from None
    if datetime.now(UTC) >= until:
        raise EnrolError(
            f"the rotation's window ended at {rfc3339(until)}: those terminals no longer"
            " trust the old key; enrol them again",
            status=409,
        )
    new, old = _load(key_path), _load(old_path)
    keys = [
        keyring.HostKey(new.public_key(), keyring.pem_of(new.public_key())),
        keyring.HostKey(old.public_key(), keyring.pem_of(old.public_key()), until),
    ]
    return _announce(config, terminals, old, keys), until


def report(sent: list[Sent], until: datetime) -> dict[str, Any]:
    return {
        "ok": all(s.ok for s in sent),
        "old_key_until": rfc3339(until),
        "terminals": [s.__dict__ for s in sent],
    }

"""The terminal's host keys during a rotation (protocol/mqtt/keyring.py): the key file
with an old key's end, the `keys.update` args, and a command signed by the old key refused
once its window has ended. End to end with real processes: test_key_rotation.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from posterm.protocol.mqtt import commands, keyring, wire
from posterm.protocol.mqtt.commands import CommandError

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
OLD, NEW = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
UNTIL = NOW + timedelta(days=7)


def ring() -> list[keyring.HostKey]:
    return [
        keyring.HostKey(NEW.public_key(), keyring.pem_of(NEW.public_key())),
        keyring.HostKey(OLD.public_key(), keyring.pem_of(OLD.public_key()), UNTIL),
    ]


def signed_by(key: Ed25519PrivateKey, at: datetime) -> bytes:
    envelope = commands.build("pos-1", "batch.close", key=key, issued_at=at)
    return json.dumps(envelope).encode()


def test_the_key_file_keeps_each_key_and_the_old_ones_end() -> None:
    """GIVEN the new key and the old one until UNTIL WHEN dumped and parsed again THEN the
    same keys, the old one with its end; a file of one plain key (what keygen writes)
    parses as one key without an end."""
    again = keyring.parse(keyring.dump(ring()))
    assert [(k.key.public_bytes_raw(), k.until) for k in again] == [
        (NEW.public_key().public_bytes_raw(), None),
        (OLD.public_key().public_bytes_raw(), UNTIL),
    ]
    (plain,) = keyring.parse(commands.public_pem(OLD))
    assert plain.until is None
    with pytest.raises(ValueError, match="no -----BEGIN"):
        keyring.parse(b"not a key")


@pytest.mark.parametrize(
    ("signer", "at", "accepted"),
    [
        (NEW, NOW, True),
        (OLD, NOW, True),  # within the window
        (NEW, UNTIL + timedelta(seconds=1), True),
        (OLD, UNTIL + timedelta(seconds=1), False),  # the window is over
        (Ed25519PrivateKey.generate(), NOW, False),
    ],
)
def test_a_command_is_taken_from_the_keys_accepted_at_that_moment(
    signer: Ed25519PrivateKey, at: datetime, accepted: bool
) -> None:
    """GIVEN the key ring of a rotation WHEN a signed batch.close arrives at `at` THEN it
    is checked against the keys accepted then: the old key only before UNTIL."""
    payload = signed_by(signer, at)
    keys = keyring.accepted(ring(), at)
    if accepted:
        assert commands.parse(payload, terminal="pos-1", host_key=keys, now=at).signed
    else:
        with pytest.raises(CommandError) as refused:
            commands.parse(payload, terminal="pos-1", host_key=keys, now=at)
        assert refused.value.code == "bad_signature"


def test_keys_update_args_go_through_the_wire_schema_and_back() -> None:
    """GIVEN the ring WHEN it is made into keys.update args, signed, and read by the
    terminal THEN the same keys come back; args whose every key ends, or whose key is not
    32 bytes of base64, are refused."""
    args = keyring.to_args(ring())
    envelope = commands.build("pos-1", "keys.update", args, key=OLD, issued_at=NOW)
    cmd = commands.parse(
        json.dumps(envelope).encode(), terminal="pos-1", host_key=[OLD.public_key()], now=NOW
    )
    back = keyring.from_args(cmd.args)
    assert [(k.pem, k.until) for k in back] == [(k.pem, k.until) for k in ring()]
    with pytest.raises(ValueError, match="one key must have no end"):
        keyring.from_args({"keys": [args["keys"][1]]})
    bad = commands.build("pos-1", "keys.update", {"keys": [{"key": "AAAA"}]}, issued_at=NOW)
    with pytest.raises(wire.WireError):
        wire.check_command(bad)
    unsigned = commands.build("pos-1", "keys.update", args, issued_at=NOW)
    with pytest.raises(CommandError) as refused:
        commands.parse(json.dumps(unsigned).encode(), terminal="pos-1", host_key=[], now=NOW)
    assert refused.value.code == "unsigned"

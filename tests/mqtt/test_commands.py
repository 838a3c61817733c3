"""The command envelope: canonical JSON, Ed25519 signatures by the host key, expiry, the
terminal it is for; acks; topics. Every refusal has a code the reply carries."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from posterm.protocol.mqtt import commands, topics
from posterm.protocol.mqtt.commands import AckError, CommandError
from posterm.protocol.mqtt.events import uuid7

HOST = Ed25519PrivateKey.generate()
OTHER = Ed25519PrivateKey.generate()
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _parse(envelope: dict, **kw: object) -> commands.Command:  # type: ignore[type-arg]
    args = {"terminal": "pos-1", "host_key": HOST.public_key(), "now": NOW} | kw
    return commands.parse(json.dumps(envelope).encode(), **args)  # type: ignore[arg-type]


def _refused(envelope: object, code: str, **kw: object) -> CommandError:
    payload = envelope if isinstance(envelope, bytes) else json.dumps(envelope).encode()
    args = {"terminal": "pos-1", "host_key": HOST.public_key(), "now": NOW} | kw
    with pytest.raises(CommandError) as info:
        commands.parse(payload, **args)  # type: ignore[arg-type]
    assert info.value.code == code, info.value.message
    return info.value


def test_canonical_json_is_sorted_compact_utf8_without_sig() -> None:
    env = {"sig": "x", "name": "ping", "args": {"b": 1, "a": "é"}, "v": 1}
    assert commands.canonical(env) == '{"args":{"a":"é","b":1},"name":"ping","v":1}'.encode()


def test_a_signed_money_command_for_this_terminal_is_taken() -> None:
    env = commands.build("pos-1", "refund.approve", {"txn": "T1"}, key=HOST, issued_at=NOW)
    cmd = _parse(env)
    assert (cmd.name, cmd.args, cmd.signed, cmd.cmd_id) == (
        "refund.approve",
        {"txn": "T1"},
        True,
        env["cmd_id"],
    )
    # the signature is plain Ed25519 over the canonical bytes, checkable by anyone
    HOST.public_key().verify(base64.b64decode(env["sig"]), commands.canonical(env))


def test_an_unsigned_ping_is_taken() -> None:
    assert _parse(commands.build("pos-1", "ping", issued_at=NOW)).signed is False


@pytest.mark.parametrize("name", sorted(commands.SIGNED))
def test_money_commands_must_be_signed(name: str) -> None:
    env = commands.build("pos-1", name, {"txn": "T1"}, issued_at=NOW)
    assert _refused(env, "unsigned").cmd_id == env["cmd_id"]


def test_a_wrong_key_or_a_changed_field_breaks_the_signature() -> None:
    env = commands.build("pos-1", "refund.approve", {"txn": "T1"}, key=OTHER, issued_at=NOW)
    _refused(env, "bad_signature")
    env = commands.build("pos-1", "refund.approve", {"txn": "T1"}, key=HOST, issued_at=NOW)
    _refused(env | {"args": {"txn": "T2"}}, "bad_signature")
    _refused(env | {"sig": "not base64!"}, "bad_signature")
    _refused(env | {"sig": 7}, "bad_signature")
    _refused(env, "unsigned", host_key=None)  # nobody configured to check it


def test_expiry_and_clock() -> None:
    env = commands.build("pos-1", "ping", issued_at=NOW - timedelta(minutes=10))
    _refused(env, "expired")
    env = commands.build("pos-1", "ping", issued_at=NOW + timedelta(hours=1))
    _refused(env, "bad_command")
    env = commands.build("pos-1", "ping", issued_at=NOW, ttl=timedelta(days=2))
    _refused(env, "bad_command")
    _refused(commands.build("pos-1", "ping", issued_at=NOW) | {"expires_at": "soon"}, "bad_command")


def test_a_command_for_another_terminal_is_refused_even_when_signed() -> None:
    env = commands.build("pos-2", "refund.approve", {"txn": "T1"}, key=HOST, issued_at=NOW)
    _refused(env, "wrong_terminal")


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"{not json", "bad_payload"),
        (b"\xff\xfe", "bad_payload"),
        (b"[1, 2]", "bad_payload"),
        (b'{"v": 1}', "bad_command"),
        (b"x" * (commands.MAX_PAYLOAD + 1), "bad_payload"),
    ],
)
def test_malformed_payloads(payload: bytes, code: str) -> None:
    _refused(payload, code)


def test_unknown_names_fields_and_versions() -> None:
    base = commands.build("pos-1", "ping", issued_at=NOW)
    _refused(base | {"name": "format_disk"}, "unknown_command")
    _refused(base | {"extra": 1}, "bad_command")
    _refused(base | {"v": 2}, "bad_command")
    _refused(base | {"args": []}, "bad_command")
    _refused(base | {"cmd_id": "a/b"}, "bad_command")


def test_arguments_fit_their_schema() -> None:
    """GIVEN a command whose args hold an unknown key, a txn that is no transaction id, a
    `by` with control characters, or a resend from seq 0 THEN it is refused (bad_command)
    before its signature or anything else is looked at; its own args pass."""
    base = commands.build("pos-1", "ping", issued_at=NOW)
    for args in (
        {"rm": "-rf"},
        {"txn": "../pos-2/eod"},
        {"txn": "T" * 65},
        {"txn": 7},
        {"by": "olga\r\nX-Evil: 1"},
        {"from_seq": 0},
        {"from_seq": 2**63},
    ):
        _refused(base | {"args": args}, "bad_command")
    _refused(base | {"issued_at": "2026-02-30T10:00:00Z"}, "bad_command")
    for args in ({"txn": "T1", "by": "olga"}, {"txn": "T1", "by": None}, {"from_seq": 5}):
        assert _parse(base | {"args": args}).args == args


def test_acks() -> None:
    ids = [uuid7(), uuid7()]
    assert commands.parse_ack(json.dumps(commands.ack(ids)).encode()) == ids
    for bad in (
        b"{",
        b"[]",
        b'{"event_ids": []}',
        b'{"event_ids": ["x"]}',
        json.dumps({"event_ids": [uuid7()] * 1001}).encode(),
        json.dumps({"event_ids": ids, "more": 1}).encode(),
        b"\xef\xbb\xbf" + json.dumps(commands.ack(ids)).encode(),
    ):
        with pytest.raises(AckError):
            commands.parse_ack(bad)


def test_keys_round_trip_as_pem() -> None:
    pub = commands.load_public_key(commands.public_pem(HOST))
    assert pub.public_bytes_raw() == HOST.public_key().public_bytes_raw()
    again = commands.load_private_key(commands.private_pem(HOST))
    assert again.public_key().public_bytes_raw() == pub.public_bytes_raw()
    with pytest.raises(ValueError):
        commands.load_public_key(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")


def test_topics() -> None:
    assert topics.terminal("pos-1", "events") == "posterm/v1/pos-1/events"
    assert topics.split("posterm/v1/pos-1/ack") == ("pos-1", "ack")
    assert topics.all_terminals("status") == "posterm/v1/+/status"
    assert topics.host("h1", "status") == "posterm/v1/host/h1/status"
    for bad in ("pos/1", "+", "#", "", "x" * 33, "host"):
        with pytest.raises(topics.TopicError):
            topics.terminal(bad, "events")
    with pytest.raises(topics.TopicError):
        topics.split("posterm/v1/pos-1/nope")

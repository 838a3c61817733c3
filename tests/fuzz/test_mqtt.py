"""Fuzzing what arrives over MQTT: commands and acks on the terminal (the schema in
protocol/mqtt and the command handler that journals and runs them), events on the host (the
wire schemas of protocol/mqtt/wire.py, then the store), topics and the event envelope. A
bad message is refused with the protocol's own error or a reply; a mutated signed command
never runs."""

from __future__ import annotations

import base64
import contextlib
import json
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import assume, example, given
from hypothesis import strategies as st

from posterm.daemon.journal.store import Journal
from posterm.daemon.states import Mode
from posterm.daemon.sync.commands import CommandHandler
from posterm.host import config as host_config
from posterm.host.quarantine import Bad
from posterm.host.service import HostService
from posterm.host.store import Store
from posterm.protocol.mqtt import commands, events, topics, wire
from posterm.protocol.mqtt.commands import AckError, CommandError
from tests.fuzz.profiles import fuzz
from tests.support.fleet import txn_data

TID = "pos-fuzz"
KEY = Ed25519PrivateKey.generate()
OTHER_KEY = Ed25519PrivateKey.generate()
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
TXN = "t-0001"

# -- strategies ------------------------------------------------------------------------------
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["", "1", "pos-fuzz", "refund.approve", "2026-11-29T12:00:00Z"])
)
JSON = st.recursive(
    SCALARS,
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=10), kids, max_size=4)
    ),
    max_leaves=10,
)
# JSON texts a parser can choke on: deep nesting, numbers past int()'s digit limit, NaN
NASTY_JSON = st.one_of(
    st.integers(1, 30_000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 30_000).map(lambda n: '{"a":' * n + "1" + "}" * n),
    st.integers(4000, 6000).map(lambda n: '{"cmd_id": ' + "1" * n + "}"),
    st.sampled_from(["NaN", '{"v": NaN}', '{"v": Infinity}', '{"event_ids": [-Infinity]}']),
)


def json_bytes(value: Any) -> bytes:
    return json.dumps(value).encode()


PAYLOADS = (
    st.binary(max_size=200)
    | JSON.map(json_bytes)
    | NASTY_JSON.map(str.encode)
    | st.text(max_size=100).map(lambda t: t.encode("utf-16"))
)


def signed(
    name: str = "refund.approve", args: dict[str, Any] | None = None, cmd_id: str = "c-0001"
) -> dict[str, Any]:
    return commands.build(
        TID,
        name,
        {"txn": TXN} if args is None else args,
        key=KEY,
        cmd_id=cmd_id,
        issued_at=NOW - timedelta(minutes=1),
    )


CMD_IDS = st.uuids().map(str)


@st.composite
def envelope_fields(draw: st.DrawFn) -> dict[str, Any]:
    """A command envelope whose fields are drawn from valid values and arbitrary JSON."""
    good = signed(draw(st.sampled_from(sorted(commands.COMMANDS))), cmd_id=draw(CMD_IDS))
    out: dict[str, Any] = {}
    for name in sorted(commands.FIELDS):
        choice = draw(st.sampled_from(["good", "good", "missing", "any"]))
        if choice == "good" and name in good:
            out[name] = good[name]
        elif choice == "any":
            out[name] = draw(JSON)
    if draw(st.booleans()):
        out[draw(st.text(max_size=8))] = draw(JSON)
    return out


@st.composite
def mutated_signed(draw: st.DrawFn) -> dict[str, Any]:
    """A signed envelope with one change that alters what the signature covers."""
    env = signed(
        draw(st.sampled_from(sorted(commands.SIGNED))),
        draw(st.dictionaries(st.text(max_size=6), JSON, max_size=3)),
        draw(CMD_IDS),
    )
    target = draw(st.sampled_from([*sorted(env), "args.*", "+field", "-field", "sig"]))
    if target == "sig":
        env["sig"] = draw(
            st.text(max_size=100)
            | st.binary(min_size=64, max_size=64).map(lambda b: base64.b64encode(b).decode())
            | st.just(base64.b64encode(OTHER_KEY.sign(commands.canonical(env))).decode())
        )
        assume_sig_changed(env)
    elif target == "args.*":
        env["args"] = {**env["args"], draw(st.text(max_size=6)): draw(JSON)}
    elif target == "+field":
        env[draw(st.text(max_size=8).filter(lambda k: k not in env))] = draw(JSON)
    elif target == "-field":
        del env[draw(st.sampled_from(sorted(k for k in env if k != "sig")))]
    else:
        env[target] = draw(
            JSON.filter(lambda v, old=env[target]: v != old or type(v) is not type(old))
        )
    return env


def assume_sig_changed(env: dict[str, Any]) -> None:
    """Base64 has spare bits: a changed text may still decode to the same signature."""
    try:
        raw = base64.b64decode(env["sig"], validate=True)
    except (ValueError, TypeError):
        return
    good = KEY.sign(commands.canonical(env))
    assume(raw != good)


# -- protocol/mqtt/commands.py ---------------------------------------------------------------
def parse(payload: bytes) -> commands.Command:
    return commands.parse(payload, terminal=TID, host_key=KEY.public_key(), now=NOW)


@fuzz()
@given(PAYLOADS | envelope_fields().map(json_bytes))
@example(b"[" * 5000 + b"]" * 5000)  # found: RecursionError out of json.loads
@example(b'{"cmd_id": ' + b"1" * 4301 + b"}")  # found: int()'s digit limit, a bare ValueError
@example(b'{"v": NaN}')
def test_parse_accepts_or_raises_command_error(payload: bytes) -> None:
    """GIVEN any payload THEN a checked Command or a CommandError with a reply code."""
    try:
        cmd = parse(payload)
    except CommandError as exc:
        assert exc.code in {
            "bad_payload",
            "bad_command",
            "unknown_command",
            "wrong_terminal",
            "expired",
            "unsigned",
            "bad_signature",
        }
        assert exc.cmd_id is None or commands.CMD_ID.fullmatch(exc.cmd_id)
        json.dumps(commands.reply(exc.cmd_id, error=exc), allow_nan=False)
        return
    assert cmd.terminal == TID and cmd.name in commands.COMMANDS
    assert cmd.name not in commands.SIGNED or cmd.signed


@fuzz()
@given(mutated_signed())
def test_a_mutated_signed_command_is_refused(envelope: dict[str, Any]) -> None:
    """GIVEN a command signed by the host WHEN anything the signature covers is changed
    (or the signature is replaced) THEN it is refused, never run."""
    try:
        cmd = parse(json_bytes(envelope))
    except CommandError:
        return
    raise AssertionError(f"accepted a mutated command: {cmd}")


def test_the_unmutated_signed_command_is_accepted() -> None:
    """The control for the test above: the same envelope, unchanged, is accepted."""
    cmd = parse(json_bytes(signed()))
    assert cmd.signed and cmd.args == {"txn": TXN}


@fuzz()
@given(PAYLOADS | st.lists(JSON, max_size=3).map(lambda ids: json_bytes({"event_ids": ids})))
@example(b'{"event_ids": [' * 3000)  # found: RecursionError out of json.loads
@example(b'{"event_ids": [' + b"9" * 5000 + b"]}")  # found: the digit limit's ValueError
def test_parse_ack_accepts_or_raises_ack_error(payload: bytes) -> None:
    try:
        ids = commands.parse_ack(payload)
    except AckError:
        return
    assert ids and all(events.UUID7.fullmatch(i) for i in ids)


@fuzz()
@given(st.lists(st.builds(events.uuid7), min_size=1, max_size=20))
def test_ack_roundtrip(ids: list[str]) -> None:
    assert commands.parse_ack(json_bytes(commands.ack(ids))) == ids


# -- protocol/mqtt/events.py and topics.py ---------------------------------------------------
@fuzz()
@given(
    st.sampled_from(sorted(events.EVENT_TYPES)) | JSON,
    JSON,
    JSON,
    st.dictionaries(st.text(max_size=10), JSON, max_size=4) | JSON,
)
@example(type_=[], terminal=None, seq=1, data={})  # found: TypeError (unhashable) for a list
def test_event_envelope_is_built_or_refused(type_: Any, terminal: Any, seq: Any, data: Any) -> None:
    """GIVEN any values THEN an envelope, or EventError; the host's schema takes the
    envelope or refuses it with WireError (its data is arbitrary), and takes it with a
    payment's data in place of the arbitrary one."""
    tid = terminal if isinstance(terminal, str) and topics.TID.fullmatch(terminal) else TID
    try:
        env = events.envelope(tid, seq, type_, data)
    except events.EventError:
        return
    with contextlib.suppress(wire.WireError):
        wire.decode_event(json_bytes(env), tid)
    if env["type"] in wire.DATA and wire.DATA[env["type"]] is wire.TxnData and seq < 2**63:
        assert wire.decode_event(json_bytes({**env, "data": txn_data(TXN)}), tid)["seq"] == seq
    assert events.uuid7_millis(env["event_id"]) > 0


@fuzz()
@given(JSON)
def test_uuid7_millis_takes_only_uuid7(value: Any) -> None:
    with contextlib.suppress(events.EventError):
        events.uuid7_millis(value)


@fuzz()
@given(
    st.from_regex(topics.TID, fullmatch=True).filter(lambda t: t not in topics.RESERVED),
    st.sampled_from(topics.TERMINAL_LEAVES),
)
def test_topic_roundtrip(tid: str, leaf: str) -> None:
    assert topics.split(topics.terminal(tid, leaf)) == (tid, leaf)


TOPIC_PARTS = st.sampled_from(["posterm", "v1", "host", "+", "#", "", TID, *topics.TERMINAL_LEAVES])


@fuzz()
@given(
    st.text(max_size=60) | st.lists(TOPIC_PARTS | st.text(max_size=5), max_size=6).map("/".join),
    JSON,
)
def test_topics_accept_or_raise_topic_error(topic: str, value: Any) -> None:
    try:
        tid, leaf = topics.split(topic)
    except topics.TopicError:
        pass
    else:
        assert topics.terminal(tid, leaf) == topic
    for check in (topics.check_tid, topics.check_terminal):
        with contextlib.suppress(topics.TopicError):
            check(value)
    for make in (topics.terminal, topics.host):
        with contextlib.suppress(topics.TopicError):
            make(value, value)


# -- the host: valid_event, then the store and the service's message handler -----------------
@pytest.fixture(scope="module")
def host_store() -> Iterator[Store]:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite://{tmp}/host.db")
        yield store
        store.close()


@st.composite
def event_like(draw: st.DrawFn) -> dict[str, Any]:
    """An event envelope with some fields, of it or of its data, replaced by arbitrary
    JSON: what a broken or hostile terminal sends, near the schema."""
    env = events.envelope(TID, draw(st.integers(1, 100)), "sale.approved", txn_data(TXN))
    for name in sorted(env):
        if draw(st.integers(0, 4)) == 0:
            env[name] = draw(JSON)
    if isinstance(env["data"], dict):
        for name in sorted(env["data"]):
            if draw(st.integers(0, 5)) == 0:
                env["data"][name] = draw(JSON)
        if draw(st.integers(0, 5)) == 0:
            env["data"][draw(st.text(max_size=8))] = draw(JSON)
    if draw(st.integers(0, 3)) == 0:
        env["seq"] = draw(st.integers(2**62, 2**70))
    return env


@fuzz()
@given(JSON | event_like())
@example(event_like={**events.envelope(TID, 1, "sale.approved", {}), "seq": 2**63})  # found
@example(event_like={**events.envelope(TID, 1, "sale.approved", {}), "type": []})  # found
def test_what_the_schema_passes_is_stored(host_store: Store, event_like: Any) -> None:
    """GIVEN any JSON value on a terminal's events topic THEN the schema takes it or
    raises WireError, and whatever it lets through the store can ingest (an oversized seq
    once killed the ingest loop with sqlite3's OverflowError)."""
    try:
        env = wire.decode_event(json_bytes(event_like), TID)
    except wire.WireError:
        return
    host_store.ingest([env])


@fuzz()
@given(PAYLOADS, st.sampled_from(["events", "status", "telemetry", "reply", "ack", "cmd"]))
@example(payload=b"[" * 5000, leaf="events")  # found: RecursionError killed the ingest loop
@example(payload=b'{"seq": ' + b"1" * 4301 + b"}", leaf="events")  # found: the digit limit
@example(
    payload=json_bytes({**events.envelope(TID, 1, "sale.approved", {}), "type": []}), leaf="events"
)  # found: TypeError (unhashable) in valid_event
@example(
    payload=b"\xef\xbb\xbf" + json_bytes(events.envelope(TID, 1, "sale.approved", txn_data(TXN))),
    leaf="events",
)
def test_host_message_handler_never_raises(host_store: Store, payload: bytes, leaf: str) -> None:
    """GIVEN any payload on any topic the host subscribes to THEN it is used or refused
    (quarantined), never both, and what is used fits its schema."""
    service = _service(host_store)
    found: list[dict[str, Any]] = []
    refused: list[Bad] = []
    service._message(f"posterm/v1/{TID}/{leaf}", payload, found, {}, refused)
    assert len(refused) <= 1 and not (refused and found)
    for env in found:
        assert wire.decode_event(json_bytes(env), TID) == env


_SERVICES: dict[int, HostService] = {}


def _service(store: Store) -> HostService:
    """One HostService per store (its paho client is made, never connected)."""
    if id(store) not in _SERVICES:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "host.toml"
            path.write_text('[host]\nid = "h1"\n[mqtt]\nurl = "mqtt://127.0.0.1:1"\n')
            config = host_config.load(path)
        _SERVICES[id(store)] = HostService(config, store)
    return _SERVICES[id(store)]


# -- the terminal's command handler -------------------------------------------------------------
@dataclass
class FakeMode:
    mode: Mode = Mode.READY
    reason: str = ""


class FakeOwner:
    def __init__(self) -> None:
        self.submitted: list[Any] = []

    def submit(self, fn: Any) -> Future[Any]:
        self.submitted.append(fn)
        future: Future[Any] = Future()
        future.set_result(fn())
        return future


@dataclass
class FakeTerminal:
    """Records what the handler asks of the terminal."""

    mode: FakeMode = field(default_factory=FakeMode)
    owner: FakeOwner = field(default_factory=FakeOwner)
    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    def _record(self, name: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self.calls.append((name, (*args, *kwargs.values())))
        return {"done": name}

    def approve(self, txn: str, by: str) -> dict[str, Any]:
        return self._record("approve", txn, by)

    def reject(self, txn: str, by: str) -> dict[str, Any]:
        return self._record("reject", txn, by)

    def reprint(self, txn: str) -> dict[str, Any]:
        return self._record("reprint", txn)

    def end_of_day(self) -> dict[str, Any]:
        return self._record("end_of_day")


@pytest.fixture(scope="module")
def journal() -> Iterator[Journal]:
    with tempfile.TemporaryDirectory() as tmp:
        j = Journal(Path(tmp) / "journal.db", TID)
        yield j
        j.close()


def _handler(journal: Journal) -> tuple[CommandHandler, FakeTerminal]:
    terminal = FakeTerminal()
    return CommandHandler(TID, journal, terminal, KEY.public_key()), terminal  # type: ignore[arg-type]


@fuzz()
@given(PAYLOADS | envelope_fields().map(json_bytes) | mutated_signed().map(json_bytes))
def test_command_desk_answers_everything(journal: Journal, payload: bytes) -> None:
    """GIVEN any command payload THEN the handler replies, runs it, or hands it to the link;
    the reply is plain JSON; the terminal only ever sees a checked txn."""
    handler, terminal = _handler(journal)
    got = handler.receive(payload)
    assert [got.reply, got.pending, got.link].count(None) == 2
    if got.reply is not None:
        json.dumps(got.reply, allow_nan=False)
        assert got.reply["ok"] is False or "result" in got.reply
    if got.pending is not None:
        handler.finish(got.pending)
    for name, args in terminal.calls:
        assert name == "end_of_day" or (isinstance(args[0], str) and 1 <= len(args[0]) <= 64)


@fuzz()
@given(mutated_signed())
def test_command_desk_never_runs_a_mutated_signed_command(
    journal: Journal, env: dict[str, Any]
) -> None:
    handler, terminal = _handler(journal)
    got = handler.receive(json_bytes(env))
    assert got.pending is None and got.link is None and not terminal.calls
    assert got.reply is not None and got.reply["ok"] is False
    if isinstance(env.get("cmd_id"), str):
        assert journal.command_seen(env["cmd_id"]) is None  # never journaled as begun

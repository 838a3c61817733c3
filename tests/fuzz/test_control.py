"""Fuzzing the control socket: the API's `handle()` (any JSON object gets an ok/error reply
and only checked values reach the terminal) and the server's JSON-lines framing (one reply
per line, whatever the bytes and however they are cut)."""

from __future__ import annotations

import itertools
import json
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from posterm.daemon.control import api, server
from posterm.daemon.control.server import ControlServer
from posterm.daemon.states import Mode
from posterm.protocol import contact
from tests.fuzz.profiles import fuzz

COMMANDS = [
    "sale",
    "refund",
    "void",
    "reprint",
    "approve",
    "reject",
    "resolve",
    "status",
    "journal",
    "eod",
    "abort",
]
FIELDS = [
    "cmd",
    "amount",
    "key",
    "txn",
    "reason",
    "text",
    "by",
    "outcome",
    "limit",
    "unreferenced",
    "notify_email",
    "notify_phone",
    "notify_lang",
]
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.text("x", min_size=60, max_size=70)
    | st.sampled_from(
        ["12.50", "t-1", "en", "a@example.com", "+4915112345678", "charged", "last", "0042", ""]
    )
)
JSON = st.recursive(
    SCALARS,
    lambda kids: (
        st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=5), kids, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    """A request object: a known or any command, known fields with any values, extra keys."""
    out: dict[str, Any] = {"cmd": draw(st.sampled_from(COMMANDS) | JSON)}
    for name in draw(st.lists(st.sampled_from(FIELDS[1:]), unique=True, max_size=6)):
        out[name] = draw(JSON)
    if draw(st.booleans()):
        out[draw(st.text(max_size=8))] = draw(JSON)
    return out


@dataclass
class FakeMode:
    mode: Mode = Mode.READY
    reason: str = ""


@dataclass
class FakeTerminal:
    """Records every call the API makes; answers with plain JSON."""

    mode: FakeMode = field(default_factory=FakeMode)
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        if name not in (
            "sale",
            "refund",
            "void",
            "reprint",
            "approve",
            "reject",
            "resolve",
            "status",
            "journal_view",
            "end_of_day",
            "find_ref",
        ):
            raise AttributeError(name)
        if name == "find_ref":  # `last` or a PT receipt number: the owner finds the id
            return lambda cmd, ref: f"T-{cmd}-{ref}"

        def call(*args: Any, **kwargs: Any) -> dict[str, Any]:
            self.calls.append((name, args, kwargs))
            return {"called": name}

        return call


def _text_or_none(value: Any, *, key: bool = False) -> bool:
    if value is None:
        return True
    return isinstance(value, str) and (not key or 0 < len(value) <= api.KEY_MAX)


def _checked(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """What the API promises the terminal: strings where strings are due, a key of
    1..64 characters, a limit 1..1000, a contact that passed its check."""
    if name == "sale":
        return isinstance(args[0], str) and _text_or_none(args[1], key=True)
    if name == "refund":
        txn, amount, reason, text, key = args
        notify = kwargs["notify"]
        contact_ok = (
            notify is None
            or contact.check(notify.get("email"), notify.get("phone"), notify.get("lang")) == notify
        )
        strings = isinstance(amount, str) and isinstance(reason, str)
        optional = _text_or_none(txn) and _text_or_none(text) and _text_or_none(key, key=True)
        return strings and optional and contact_ok
    if name == "void":
        return isinstance(args[0], str) and _text_or_none(args[1], key=True)
    if name in ("reprint",):
        return isinstance(args[0], str)
    if name in ("approve", "reject"):
        return isinstance(args[0], str) and isinstance(args[1], str) and bool(args[1])
    if name == "resolve":
        return all(isinstance(a, str) for a in args)
    if name == "journal_view":
        (limit,) = args
        return type(limit) is int and 1 <= limit <= 1000
    return name in ("status", "end_of_day") and not args


@fuzz()
@given(requests() | st.dictionaries(st.text(max_size=8), JSON, max_size=5), st.booleans())
def test_handle_answers_every_object_and_checks_before_the_terminal(
    request: dict[str, Any], busy: bool
) -> None:
    """GIVEN any JSON object THEN handle() returns {"ok": true/false, ...} that is plain
    JSON, and the terminal is called at most once, only with checked values."""
    terminal = FakeTerminal(FakeMode(Mode.BUSY if busy else Mode.READY))
    reply = api.handle(terminal, request)
    assert isinstance(reply, dict) and reply["ok"] in (True, False)
    json.dumps(reply, allow_nan=False)
    if reply["ok"] is False:
        assert isinstance(reply["code"], str) and isinstance(reply["error"], str)
        assert not terminal.calls
    else:
        (call,) = terminal.calls
        assert _checked(*call), call


# -- the server's line framing --------------------------------------------------------------
def recorder_handle(request: dict[str, Any]) -> dict[str, Any]:
    return api.handle(FakeTerminal(), request)


LINES = st.one_of(
    requests().map(lambda r: json.dumps(r).encode()),
    JSON.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=60).map(lambda b: b.replace(b"\n", b"")),
    st.sampled_from([b"", b"   ", b"\xff\xfe", b"NaN", b'{"cmd": NaN}']),
    st.integers(1, 20_000).map(lambda n: b"[" * n),  # nesting past the recursion limit
    st.integers(4000, 5000).map(lambda n: b'{"limit": ' + b"7" * n + b"}"),  # int() limit
)


@fuzz()
@given(LINES)
@example(b"[" * 5000)  # found: RecursionError escaped _answer and killed the connection
@example(b'{"limit": ' + b"7" * 4301 + b"}")  # found: int()'s digit limit, a bare ValueError
def test_every_line_gets_a_json_object_reply(line: bytes) -> None:
    reply = ControlServer("/nonexistent/fuzz.sock", recorder_handle)._answer(line)
    assert isinstance(reply, dict) and reply["ok"] in (True, False)
    server._encode(reply)


@pytest.fixture(scope="module")
def control() -> Iterator[Path]:
    """A real control server on a Unix socket, in this process, with a short line limit."""
    saved = server.MAX_LINE
    server.MAX_LINE = 512
    with tempfile.TemporaryDirectory(prefix="pf-", dir="/tmp") as tmp:
        path = Path(tmp) / "c.sock"
        srv = ControlServer(path, recorder_handle)
        srv.start()
        try:
            yield path
        finally:
            srv.stop()
            server.MAX_LINE = saved


@fuzz(scale=0.3)
@given(
    st.lists(
        LINES | st.binary(min_size=500, max_size=1500).map(lambda b: b.replace(b"\n", b"")),
        min_size=1,
        max_size=6,
    ),
    st.lists(st.integers(0, 10_000), max_size=6),
)
def test_one_reply_per_line_however_the_stream_is_cut(
    control: Path, lines: list[bytes], cuts: list[int]
) -> None:
    """GIVEN lines sent over a real connection in arbitrary pieces THEN exactly one JSON
    object comes back per line, in order; a line over the limit gets an error."""
    stream = b"".join(line + b"\n" for line in lines)
    points = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(30)
        sock.connect(str(control))
        for a, b in itertools.pairwise(points):
            sock.sendall(stream[a:b])
        sock.shutdown(socket.SHUT_WR)
        with sock.makefile("rb") as reader:
            replies = [json.loads(r) for r in reader]
    assert len(replies) == len(lines)
    for line, reply in zip(lines, replies, strict=True):
        assert reply["ok"] in (True, False)
        if len(line) + 1 > server.MAX_LINE:
            assert reply["ok"] is False and "longer than" in reply["error"]

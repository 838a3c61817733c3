"""Error codes are one StrEnum (protocol/errorcodes.py): every code the daemon, the host
and the protocol put in a refusal is a member, and none is a free string."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from posterm.daemon.errors import TerminalError
from posterm.protocol.errorcodes import MEANINGS, ErrorCode
from posterm.protocol.mqtt import commands, wire

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("daemon", "host", "protocol")
# what takes a code as its first argument (besides `code=`, error_reply and the CLIs' _fail)
TAKES_CODE = {"TerminalError", "CommandError", "refuse", "LookupFailed", "ReconcileError"}


def _name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


def free_codes(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, literal) of every string literal in a code's place: a `code=` argument, a
    `"code":` value of a dict, the code argument of what TAKES_CODE."""
    found: list[tuple[int, str]] = []

    def literal(node: ast.AST | None) -> None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append((node.lineno, node.value))

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg == "code":
                    literal(kw.value)
            name = _name(node)
            if name == "_fail" and len(node.args) > 1:
                literal(node.args[1])  # host CLI: _fail(as_json, code, message)
            elif name in TAKES_CODE and node.args:
                literal(node.args[0])
            elif name == "error_reply" and len(node.args) > 1:
                literal(node.args[1])  # error_reply(message, code)
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "code":
                    literal(value)
    return found


def test_no_code_is_a_free_string() -> None:
    """GIVEN the daemon, host and protocol sources WHEN every place a refusal's code is
    given is read THEN none is a string literal: each is an ErrorCode member."""
    free = [
        f"{path.relative_to(ROOT)}:{line}: {text!r}"
        for layer in LAYERS
        for path in sorted((ROOT / layer).rglob("*.py"))
        for line, text in free_codes(ast.parse(path.read_text(), str(path)))
    ]
    assert free == []


def test_the_scan_finds_a_free_string() -> None:
    """GIVEN code that passes literals as codes WHEN scanned THEN each is found (the scan
    above cannot pass by seeing nothing)."""
    source = (
        'raise TerminalError("nope", "x")\n'
        'x = {"ok": False, "code": "nope"}\n'
        'schema.reply(cid, code="nope")\n'
        'error_reply("msg", "nope")\n'
        '_fail(args.json, "nope", "msg")\n'
        'raise TerminalError(ErrorCode.BAD_REQUEST, "fine")\n'
    )
    assert [line for line, _ in free_codes(ast.parse(source))] == [1, 2, 3, 4, 5]


def test_every_code_has_a_one_line_meaning() -> None:
    """GIVEN the enum WHEN its meanings are read THEN each member has one, on one line."""
    assert set(MEANINGS) == set(ErrorCode)
    for code in ErrorCode:
        assert code.meaning and "\n" not in code.meaning, code
        assert code.value == code.value.lower() and code.value.isidentifier(), code


def test_a_code_that_is_not_a_member_is_refused_where_it_is_made() -> None:
    """GIVEN a code string that is no member WHEN a TerminalError or a CommandError is made
    THEN ValueError; a member's text is taken and becomes the member."""
    with pytest.raises(ValueError, match="no_such_code"):
        TerminalError("no_such_code", "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no_such_code"):
        commands.CommandError("no_such_code", "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no_such_code"):
        commands.reply("c1", code="no_such_code")  # type: ignore[arg-type]
    assert TerminalError("in_doubt", "x").code is ErrorCode.IN_DOUBT  # type: ignore[arg-type]
    assert TerminalError(ErrorCode.BUSY, "x").to_json()["code"] == "busy"


def test_the_host_still_reads_a_reply_with_a_code_it_does_not_know() -> None:
    """GIVEN a reply from a newer terminal with a code this host does not know WHEN it is
    decoded against the reply schema THEN it is read (the operator sees it), not
    quarantined; a code that is not a word still is refused."""
    out = wire.decode(b'{"cmd_id": "c1", "ok": false, "code": "paper_jam", "error": "x"}', "reply")
    assert out["code"] == "paper_jam"
    with pytest.raises(wire.WireError):
        wire.decode(b'{"cmd_id": "c1", "ok": false, "code": "Paper Jam!"}', "reply")

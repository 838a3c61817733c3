"""What the ZVT codec costs, counted rather than timed (issue 23): Python function calls per
message, deterministic on any machine; and the shortcut bmpset takes to build a message."""

from __future__ import annotations

import dataclasses
import gc
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any, ClassVar

import pytest

from posterm.protocol.zvt import apdu, bmpset, framing, messages
from posterm.protocol.zvt.bmpset import bmp_field
from posterm.protocol.zvt.errors import ZvtDecodeError
from tests.zvt.strategies import TYPICAL_040F as TYPICAL

BMPS = 17


class Calls(int):
    """A count of Python calls that names them when it shows in an assertion."""

    names: list[str]

    def __repr__(self) -> str:
        return f"{int(self)}: {', '.join(self.names)}"


def python_calls(fn: Callable[[], object]) -> Calls:
    """How many Python functions `fn` runs (C functions are not counted). The garbage
    collector is off meanwhile: a collection would run other objects' finalizers (left by
    earlier tests in the same process) inside the count."""
    fn()  # first use builds the layouts: not what a message costs
    names: list[str] = []

    def count(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            code = frame.f_code
            names.append(f"{code.co_filename.rsplit('/', 1)[-1]}:{code.co_name}")

    before = sys.getprofile()  # put back whatever profiler was there
    was_enabled = gc.isenabled()
    gc.disable()
    sys.setprofile(count)
    try:
        fn()
    finally:
        sys.setprofile(before)
        if was_enabled:
            gc.enable()
    calls = Calls(len(names) - 1)  # fn itself
    calls.names = names[1:]
    return calls


def python_lines(fn: Callable[[], object]) -> int:
    """How many lines of Python `fn` runs: a loop over bytes counts once a byte."""
    fn()
    lines = 0

    def trace(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal lines
        lines += event == "line"
        return trace

    before = sys.gettrace()  # a coverage tracer, a debugger: put it back
    was_enabled = gc.isenabled()
    gc.disable()  # no finalizers of other objects inside the count
    sys.settrace(trace)
    try:
        fn()
    finally:
        sys.settrace(before)
        if was_enabled:
            gc.enable()
    return lines


def test_framing_a_status_information_runs_no_line_per_byte() -> None:
    """GIVEN the typical 04 0F's 92 bytes WHEN framed (CRC, DLE stuffing) THEN fewer Python
    lines run than a tenth of its bytes (the table CRC ran 2 a byte: 190)."""
    raw = messages.encode(TYPICAL).encode()
    assert python_lines(lambda: framing.encode_frame(raw)) < len(raw) // 10


def test_parsing_a_status_information_frame_runs_no_line_per_byte() -> None:
    """GIVEN the typical 04 0F's frame WHEN parsed in one read THEN fewer than 2 Python
    lines run a byte (the parser stepped byte by byte: 11 lines a byte, 1,128): a frame's
    data goes in slices between DLEs, only its head, tail and DLEs go byte by byte."""
    frame = framing.encode_frame(messages.encode(TYPICAL).encode())
    events: list[framing.Event] = []
    lines = python_lines(lambda: events.extend(framing.FrameParser().feed(frame, 0.0)))
    assert lines < 2 * len(frame), lines
    assert events[-1] == framing.Frame(messages.encode(TYPICAL).encode())


def test_encoding_a_status_information_costs_under_two_calls_per_bmp() -> None:
    """GIVEN the typical 04 0F WHEN encoded to bytes THEN fewer than 2 Python calls per
    BMP (the per-kind dispatch made 118: 7 per BMP)."""
    calls = python_calls(lambda: messages.encode(TYPICAL).encode())
    assert calls < 2 * BMPS, calls


def test_decoding_a_status_information_costs_under_two_calls_per_bmp() -> None:
    """GIVEN the typical 04 0F's bytes WHEN decoded into the message THEN fewer than 2
    Python calls per BMP (there were 109)."""
    raw = messages.encode(TYPICAL).encode()
    assert len(raw) == 92
    calls = python_calls(lambda: messages.decode(apdu.decode(raw)))
    assert calls < 2 * BMPS, calls


def test_a_decoded_message_is_the_one_its_constructor_makes() -> None:
    """GIVEN the typical 04 0F decoded (its dict filled without __init__) THEN equal to and
    hashed like the constructor's, every field set, and still frozen."""
    decoded = messages.decode(apdu.decode(messages.encode(TYPICAL).encode()))
    assert decoded == TYPICAL and hash(decoded) == hash(TYPICAL)
    assert vars(decoded) == vars(TYPICAL)
    with pytest.raises(dataclasses.FrozenInstanceError):
        decoded.amount = 1  # type: ignore[misc]


@dataclasses.dataclass(frozen=True)
class _Checked:
    CODE: ClassVar[int] = 0x0601
    amount: int | None = bmp_field(0x04)

    def __post_init__(self) -> None:
        if self.amount == 0:
            raise ZvtDecodeError("an amount of 0")


def test_a_class_with_post_init_is_still_built_by_its_constructor() -> None:
    """GIVEN a message class with a __post_init__ check WHEN bmpset decodes it THEN the
    check runs: the shortcut is only for plain dataclasses."""
    assert bmpset.decode(_Checked, bytes.fromhex("04000000000100")) == _Checked(100)
    with pytest.raises(ZvtDecodeError, match="an amount of 0"):
        bmpset.decode(_Checked, bytes.fromhex("04000000000000"))

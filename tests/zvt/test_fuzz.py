"""Untrusted bytes never raise anything but ZvtError and never hang."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from posterm.protocol.zvt import apdu, framing, messages
from posterm.protocol.zvt.errors import ZvtError
from tests.fuzz.profiles import fuzz
from tests.zvt import strategies as s

ANY_MESSAGE = st.one_of(*s.COMMANDS, *s.PT_MESSAGES)


def _decode_everything(raw: bytes) -> None:
    """Run every decoder over `raw`; only ZvtError may come out."""
    try:
        reader = apdu.ApduReader()
        for unit in reader.feed(raw):
            for answering in (None, 0x0501):
                with contextlib.suppress(ZvtError):
                    messages.decode(unit, answering=answering)
    except ZvtError:
        pass
    if len(raw) >= 3:
        for cls, instr in ((0x04, 0x0F), (0x06, 0xD3), (0x06, 0x0F), (0x04, 0xFF), (0x06, 0x00)):
            with contextlib.suppress(ZvtError):
                messages.decode(apdu.Apdu(cls, instr, raw), answering=0x0501 * (instr == 0x0F))
    parser = framing.FrameParser()
    parser.feed(raw, 0.0)
    parser.check_timeout(10.0)


@fuzz(10)
@given(st.binary(max_size=600))
def test_random_bytes(raw: bytes) -> None:
    _decode_everything(raw)


@fuzz(10)
@given(ANY_MESSAGE, st.data())
def test_mutated_valid_messages(message: Any, data: st.DataObject) -> None:
    """GIVEN a valid APDU WHEN bytes are flipped, cut or inserted THEN only ZvtError."""
    raw = bytearray(messages.encode(message).encode())
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        pos = data.draw(st.integers(0, max(0, len(raw) - 1)))
        if op == "flip" and raw:
            raw[pos] ^= data.draw(st.integers(1, 255))
        elif op == "cut":
            del raw[pos:]
        else:
            raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=3))
    _decode_everything(bytes(raw))
    frame = bytearray(framing.encode_frame(bytes(raw)))
    if frame:
        frame[data.draw(st.integers(0, len(frame) - 1))] ^= 0x5A
    framing.FrameParser().feed(bytes(frame), 0.0)


def test_huge_extended_length_does_not_allocate_or_hang() -> None:
    reader = apdu.ApduReader()
    assert reader.feed(b"\x04\x0f\xff\xff\xff" + b"\x00" * 10) == []
    assert reader.pending == 15
